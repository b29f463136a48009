package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/internal/awstest"
	"github.com/tandem-io/tandem/pkg/traffic/providers/haproxy"
)

// Given the lab is up, both clusters report their stamped versions and 3 Ready nodes.
func TestLabClustersVersionsAndNodes(t *testing.T) {
	want := map[string]string{"blue": "v1.30.14", "green": "v1.37.2"}
	for ctxName, v := range want {
		out := mustKubectl(t, "--context", ctxName, "version", "-o", "json")
		var ver struct {
			ServerVersion struct{ GitVersion string } `json:"serverVersion"`
		}
		if err := json.Unmarshal([]byte(out), &ver); err != nil {
			t.Fatalf("kubectl version: %v\n%s", err, out)
		}
		if ver.ServerVersion.GitVersion != v {
			t.Errorf("%s: server version %q, want %q", ctxName, ver.ServerVersion.GitVersion, v)
		}
		nodes := mustKubectl(t, "--context", ctxName, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		ready := strings.Count(nodes, "=True")
		if ready < 3 {
			t.Errorf("%s: %d Ready nodes, want ≥ 3:\n%s", ctxName, ready, nodes)
		}
	}
	var infos []struct {
		Side, Context, Version string
		Nodes, Namespaces      int
		Reachable              bool
	}
	out := mustTandem(t, "clusters", "--source", "blue", "--target", "green", "-o", "json")
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("clusters -o json: %v\n%s", err, out)
	}
	if len(infos) != 2 || infos[0].Version != want["blue"] || infos[1].Version != want["green"] || !infos[0].Reachable || infos[1].Nodes < 3 {
		t.Errorf("clusters: %+v", infos)
	}
}

// A Deployment scales to Running pods and a PVC on the lab StorageClass becomes Bound.
func TestLabWorkloadsRunAndVolumesBind(t *testing.T) {
	ns := "e2e-lab"
	mustKubectl(t, "--context", "green", "create", "namespace", ns)
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "namespace", ns, "--wait=false") })
	mustKubectl(t, "--context", "green", "-n", ns, "create", "deployment", "hello", "--image=registry.k8s.io/pause:3.10", "--replicas=2")
	mustKubectl(t, "--context", "green", "-n", ns, "scale", "deployment", "hello", "--replicas=4")
	eventually(t, 60*time.Second, func() error {
		out := kubectl(t, "--context", "green", "-n", ns, "get", "pods", "-o", "jsonpath={.items[*].status.phase}").stdout
		if n := strings.Count(out, "Running"); n != 4 {
			return fmt.Errorf("%d Running pods: %s", n, out)
		}
		return nil
	})
	pvc := `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"` + ns + `"},
"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"standard","resources":{"requests":{"storage":"1Gi"}}}}`
	applyJSON(t, "green", pvc)
	eventually(t, 60*time.Second, func() error {
		phase := kubectl(t, "--context", "green", "-n", ns, "get", "pvc", "data", "-o", "jsonpath={.status.phase}").stdout
		if phase != "Bound" {
			return fmt.Errorf("PVC phase %q", phase)
		}
		return nil
	})
}

func applyJSON(t *testing.T, ctxName, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "obj.json")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "--context", ctxName, "apply", "-f", f)
}

// HAProxy answers from blue or green as its runtime weights say.
func TestLabHAProxyFollowsWeights(t *testing.T) {
	labAtRest(t) // blue active: it answers app.example
	rt := haproxy.Runtime{Socket: lab.socket}
	ctx := context.Background()
	t.Cleanup(func() {
		_ = rt.SetWeight(ctx, "clusters", "blue", 100)
		_ = rt.SetWeight(ctx, "clusters", "green", 0)
	})
	// Green needs the app too: give it the same Ingress and a ready backend.
	mustKubectl(t, "--context", "green", "create", "namespace", "e2e-lb")
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "namespace", "e2e-lb", "--wait=false") })
	mustKubectl(t, "--context", "green", "-n", "e2e-lb", "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10")
	mustKubectl(t, "--context", "green", "-n", "e2e-lb", "expose", "deployment", "web", "--port=80")
	mustKubectl(t, "--context", "green", "-n", "e2e-lb", "create", "ingress", "web", "--rule=app.example/*=web:80")

	cases := []struct {
		blue, green int
		want        map[string]bool
	}{
		{0, 100, map[string]bool{"green": true}},
		{100, 0, map[string]bool{"blue": true}},
		{50, 50, map[string]bool{"blue": true, "green": true}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("blue=%d,green=%d", c.blue, c.green), func(t *testing.T) {
			if err := rt.SetWeight(ctx, "clusters", "blue", c.blue); err != nil {
				t.Fatal(err)
			}
			if err := rt.SetWeight(ctx, "clusters", "green", c.green); err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, func() error {
				seen := map[string]int{}
				for i := 0; i < 20; i++ {
					code, cluster, err := get(lab.haproxy, "app.example")
					if err != nil {
						return err
					}
					if code != 200 {
						return fmt.Errorf("status %d from %s", code, cluster)
					}
					seen[cluster]++
				}
				for cl := range seen {
					if !c.want[cl] {
						return fmt.Errorf("answered by %s: %v", cl, seen)
					}
				}
				if len(seen) != len(c.want) {
					return fmt.Errorf("answers %v, want from %v", seen, c.want)
				}
				return nil
			})
		})
	}
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// get sends one request through HAProxy with a Host header and returns the status and answering cluster.
func get(addr, host string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Host = host
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Tandem-Cluster"), nil
}

// Bad input: one line on stderr and exit 2.
func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	unreachable := filepath.Join(dir, "unreachable")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: x, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: x, user: {token: t}}]
contexts: [{name: ctxa, context: {cluster: x, user: x}}, {name: ctxb, context: {cluster: x, user: x}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing kubeconfig", []string{"clusters", "--kubeconfig", filepath.Join(dir, "nope"), "--source", "blue", "--target", "green"}, "not found"},
		{"unknown context", []string{"clusters", "--source", "purple", "--target", "green"}, "known contexts: blue, green"},
		{"unreachable", []string{"clusters", "--kubeconfig", unreachable, "--source", "ctxa", "--target", "ctxb"}, "https://127.0.0.1:1 unreachable"},
		{"same cluster", []string{"clusters", "--source", "blue", "--target", "blue"}, "same cluster"},
		{"bad output", []string{"clusters", "-o", "xml"}, "want table, json or yaml"},
		{"unknown flag", []string{"clusters", "--frobnicate"}, "unknown flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			r := tandem(t, c.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q: want one line containing %q", r.stderr, c.want)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("took %s, want an answer within the 10 s connect bound", took)
			}
		})
	}
}

// lab status -o json reports each process alive, and a second lab up builds nothing.
func TestLabStatusAndIdempotentUp(t *testing.T) {
	var st struct {
		Processes []struct {
			Cluster, Name string
			PID           int
			Alive         bool
		} `json:"processes"`
	}
	out := mustTandem(t, "lab", "status", "--dir", lab.dir, "-o", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// 7 per cluster (etcd, apiserver, kcm, scheduler, kwok, lab ingress, ExternalDNS), plus HAProxy and the AWS endpoint.
	if len(st.Processes) != 16 {
		t.Errorf("%d processes, want 16: %+v", len(st.Processes), st.Processes)
	}
	for _, p := range st.Processes {
		if !p.Alive || p.PID <= 0 {
			t.Errorf("process %s/%s not alive: %+v", p.Cluster, p.Name, p)
		}
	}
	r := tandem(t, "lab", "up", "--dir", lab.dir)
	if r.code != 0 {
		t.Fatalf("second lab up: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "building") {
		t.Errorf("second lab up rebuilt something:\n%s", r.stderr)
	}
}

// The lab's AWS endpoint (TANDEM_LAB_AWS) is a standalone service that AWS's
// own client can be pointed at: Route53, ELBv2 and EC2 on one address.
func TestLabAWSEndpointServesTheAWSCLI(t *testing.T) {
	if !strings.HasPrefix(lab.aws, "http://127.0.0.1:") {
		t.Fatalf("lab env exports TANDEM_LAB_AWS=%q, want the loopback endpoint", lab.aws)
	}
	var zone struct{ HostedZone struct{ Id string } }
	out, stderr, code := awstest.CLI(t, lab.aws, "route53", "create-hosted-zone", "--name", "lab-cli.example", "--caller-reference", fmt.Sprint(time.Now().UnixNano()))
	if code != 0 || json.Unmarshal([]byte(out), &zone) != nil || zone.HostedZone.Id == "" {
		t.Fatalf("route53 create-hosted-zone: exit %d %s %s", code, out, stderr)
	}
	if _, stderr, code := awstest.CLI(t, lab.aws, "route53", "list-resource-record-sets", "--hosted-zone-id", zone.HostedZone.Id); code != 0 {
		t.Fatalf("route53 list-resource-record-sets: exit %d %s", code, stderr)
	}
	if _, stderr, code := awstest.CLI(t, lab.aws, "elbv2", "describe-load-balancers"); code != 0 {
		t.Fatalf("elbv2 describe-load-balancers: exit %d %s", code, stderr)
	}
	var vol struct{ VolumeId string }
	out, stderr, code = awstest.CLI(t, lab.aws, "ec2", "create-volume", "--availability-zone", "eu-west-1a", "--size", "1")
	if code != 0 || json.Unmarshal([]byte(out), &vol) != nil || !strings.HasPrefix(vol.VolumeId, "vol-") {
		t.Fatalf("ec2 create-volume: exit %d %s %s", code, out, stderr)
	}
	var snap struct{ State string }
	out, stderr, code = awstest.CLI(t, lab.aws, "ec2", "create-snapshot", "--volume-id", vol.VolumeId)
	if code != 0 || json.Unmarshal([]byte(out), &snap) != nil || snap.State != "pending" {
		t.Fatalf("ec2 create-snapshot: exit %d %s %s, want a pending snapshot", code, out, stderr)
	}
}
