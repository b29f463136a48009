package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tandem-io/tandem/internal/awstest"
)

// resolve asks the lab's DNS server for name's A record: the address of
// the one record it answers with.
func resolve(t *testing.T, name string) string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, _, err := new(dns.Client).Exchange(m, lab.dns)
	if err != nil {
		t.Fatalf("dns %s: %v", name, err)
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return ""
}

// recordSet is one record set as the AWS CLI lists it.
type recordSet struct {
	Name, Type, SetIdentifier string
	Weight                    *int
	ResourceRecords           []struct{ Value string }
}

// recordSets lists the lab zone's A record sets of name through the AWS CLI.
func recordSets(t *testing.T, name string) []recordSet {
	t.Helper()
	out, stderr, code := awstest.CLI(t, lab.aws, "route53", "list-resource-record-sets", "--hosted-zone-id", lab.zone)
	if code != 0 {
		t.Fatalf("aws route53 list-resource-record-sets: exit %d %s", code, stderr)
	}
	var l struct{ ResourceRecordSets []recordSet }
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	var sets []recordSet
	for _, rs := range l.ResourceRecordSets {
		if rs.Name == dns.Fqdn(name) && rs.Type == "A" {
			sets = append(sets, rs)
		}
	}
	return sets
}

// publishedWeights are name's weighted records: set identifier → weight.
func publishedWeights(t *testing.T, name string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, rs := range recordSets(t, name) {
		if rs.SetIdentifier != "" && rs.Weight != nil {
			got[rs.SetIdentifier] = *rs.Weight
		}
	}
	return got
}

// The lab's DNS plane: a real ExternalDNS per cluster publishes the seeded
// app's weighted record to the lab's Route53, and the lab's DNS answers it.
func TestLabDNSPlane(t *testing.T) {
	var st struct {
		Processes []struct {
			Cluster, Name string
			Alive         bool
		} `json:"processes"`
	}
	if err := json.Unmarshal([]byte(mustTandem(t, "lab", "status", "--dir", lab.dir, "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	for _, p := range st.Processes {
		if p.Name == "external-dns" && p.Alive {
			running[p.Cluster] = true
		}
	}
	if !running["blue"] || !running["green"] {
		t.Fatalf("ExternalDNS running: %v, want blue and green", running)
	}
	eventually(t, 90*time.Second, func() error {
		if w := publishedWeights(t, "app.example"); w["blue"] != 255 {
			return fmt.Errorf("app.example's published weighted records: %v, want blue's at 255", w)
		}
		return nil
	})
	if ip := resolve(t, "app.example"); ip != "127.0.10.1" {
		t.Fatalf("app.example resolves to %q, want blue's address 127.0.10.1", ip)
	}
}

// Seed 002 for real: `tandem shift` through ExternalDNS moves what the lab's
// DNS answers, step by step, verified on the records ExternalDNS published.
func TestShiftFollowsDNS(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	if lab.dnsRouter == "" {
		t.Fatal("lab env has no TANDEM_LAB_DNS_ROUTER")
	}
	mustTandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", "shop", "--journal-dir", t.TempDir())
	// The copy joins the weighted set at 0: green's ExternalDNS publishes its record.
	eventually(t, 60*time.Second, func() error {
		if w := publishedWeights(t, "app.example"); w["blue"] != 255 || w["green"] != 0 || len(w) != 2 {
			return fmt.Errorf("app.example's published weighted records after the sync: %v, want blue 255 and green 0", w)
		}
		return nil
	})
	jdir := t.TempDir()
	t.Cleanup(func() {
		tandem(t, "shift", "--router", lab.dnsRouter, "--from", "green", "--to", "blue", "--steps", "100", "--pause", "0s", "--journal-dir", jdir)
	})
	share := func(n int) float64 {
		green := 0
		for range n {
			switch ip := resolve(t, "app.example"); ip {
			case "127.0.10.2":
				green++
			case "127.0.10.1":
			default:
				t.Fatalf("app.example resolved to %q, neither cluster's address", ip)
			}
		}
		return 100 * float64(green) / float64(n)
	}
	r := tandem(t, "shift", "--router", lab.dnsRouter, "--from", "blue", "--to", "green", "--steps", "50", "--pause", "0s", "--journal-dir", jdir)
	if r.code != 0 {
		t.Fatalf("shift to 50: exit %d\n%s", r.code, r.stderr)
	}
	if w := publishedWeights(t, "app.example"); w["blue"] != 128 || w["green"] != 128 {
		t.Fatalf("published weights at 50%%: %v", w)
	}
	if g := share(500); g < 40 || g > 60 {
		t.Fatalf("at 50%% green answered %.1f%% of 500 resolutions, want 40–60%%", g)
	}
	greenKeepsItsRecord(t)
	if r := tandem(t, "shift", "--router", lab.dnsRouter, "--from", "blue", "--to", "green", "--steps", "100", "--pause", "0s", "--journal-dir", jdir); r.code != 0 {
		t.Fatalf("shift to 100: exit %d\n%s", r.code, r.stderr)
	}
	if g := share(100); g != 100 {
		t.Fatalf("at 100%% green answered %.1f%%, want every answer", g)
	}
	// A client that resolves through the lab's DNS reaches green only.
	out := mustTandem(t, "probe", "--url", "http://app.example:"+lab.appPort+"/", "--resolve", "app.example", "--dns", lab.dns,
		"--header", "X-Tandem-Cluster", "--rate", "20", "--duration", "2s", "-o", "json")
	var probe struct {
		OK        int64            `json:"ok"`
		ByCluster map[string]int64 `json:"byCluster"`
	}
	if err := json.Unmarshal([]byte(out), &probe); err != nil || probe.OK == 0 || probe.ByCluster["green"] != probe.OK {
		t.Fatalf("probe through the lab's DNS at 100%%: %s (%v), want every answer from green", out, err)
	}
	if !strings.Contains(r.stderr, "ExternalDNS published the weights") {
		t.Errorf("the shift does not say it verified the published records:\n%s", r.stderr)
	}

	// Green's ExternalDNS stopped: a step that needs green's record changed
	// is never published; it fails naming ExternalDNS and rolls back.
	pid := labProcessPID(t, "green", "external-dns")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tandem(t, "lab", "up", "--dir", lab.dir) }) // starts it again
	eventually(t, 30*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("green's ExternalDNS (pid %d) still runs", pid)
		}
		return nil
	})
	r = tandem(t, "shift", "--router", lab.dnsRouter, "--from", "green", "--to", "blue", "--steps", "50", "--pause", "0s", "--verify-timeout", "20s", "--journal-dir", jdir)
	if r.code != 1 || !strings.Contains(r.stderr, "ExternalDNS has not published") {
		t.Fatalf("shift with green's ExternalDNS stopped: exit %d, want 1 naming ExternalDNS\n%s", r.code, r.stderr)
	}
	if w := publishedWeights(t, "app.example"); w["green"] != 255 || w["blue"] != 0 {
		t.Errorf("published weights after the rollback: %v, want green 255 and blue 0 as before", w)
	}
	mustTandem(t, "lab", "up", "--dir", lab.dir)
}

// greenKeepsItsRecord: after a shift to 50, a sync and a running mirror of
// shop leave green's own set-identifier and weight alone (they are
// `tandem shift`'s), while the mirror still carries blue's other changes.
func greenKeepsItsRecord(t *testing.T) {
	t.Helper()
	own := func(when string) {
		t.Helper()
		a := getIn(t, "green", "shop", "ingress/web")
		if id, w := annotation(a, "external-dns.kubernetes.io/set-identifier"), annotation(a, "external-dns.kubernetes.io/aws-weight"); id != "green" || w != "128" {
			t.Fatalf("green's shop/web %s: set-identifier %q, aws-weight %q; want green, 128", when, id, w)
		}
	}
	mustTandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", "shop", "--journal-dir", t.TempDir())
	own("after a sync")
	waitNoLiveMirror(t, "green")
	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--namespace", "shop", "--duration", "5m", "-v")
	run.waitFor(t, "initial pass done", 2*time.Minute)
	mark := fmt.Sprint(time.Now().UnixNano())
	mustKubectl(t, "--context", "blue", "-n", "shop", "label", "ingress", "web", "e2e-mirrored="+mark, "--overwrite")
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "-n", "shop", "label", "ingress", "web", "e2e-mirrored-")
		}
	})
	eventually(t, 30*time.Second, func() error {
		if l := field(getIn(t, "green", "shop", "ingress/web"), "metadata", "labels", "e2e-mirrored"); l != mark {
			return fmt.Errorf("the mirror has not carried blue's label to green yet (%v)", l)
		}
		return nil
	})
	own("with a mirror running")
	_ = run.cmd.Process.Signal(syscall.SIGTERM)
	<-run.done
	_ = run.cmd.Wait()
	if w := publishedWeights(t, "app.example"); w["blue"] != 128 || w["green"] != 128 {
		t.Fatalf("published weights after a sync and a mirror at 50%%: %v, want 128 each", w)
	}
}

// The trap of a name that was never weighted: ExternalDNS published a
// simple record for blue's Ingress before any shift. The first step says it
// converts it, and does: both clusters end up with weighted records and the
// simple one is gone.
func TestShiftConvertsASimpleRecord(t *testing.T) {
	labAtRest(t)
	ns := fmt.Sprintf("e2e-dnsconv-%d", time.Now().Unix()%100000)
	host := ns + ".example"
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "conv.yaml", fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: %s
  annotations: {external-dns.kubernetes.io/ttl: "5"}
spec:
  rules:
  - host: %s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, ns, host)))
	simple := func() (string, bool) {
		for _, rs := range recordSets(t, host) {
			if rs.SetIdentifier == "" && len(rs.ResourceRecords) > 0 {
				return rs.ResourceRecords[0].Value, true
			}
		}
		return "", false
	}
	eventually(t, 60*time.Second, func() error {
		if v, ok := simple(); !ok || v != "127.0.10.1" {
			return fmt.Errorf("blue's ExternalDNS has not published a simple record of %s to 127.0.10.1 yet (%q)", host, v)
		}
		return nil
	})
	mustTandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", ns, "--journal-dir", t.TempDir())

	router := strings.Replace(lab.dnsRouter, "externaldns://ingress/shop/web", "externaldns://ingress/"+ns+"/web", 1)
	if router == lab.dnsRouter {
		t.Fatalf("lab router %q does not name shop/web", lab.dnsRouter)
	}
	r := tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50", "--pause", "0s", "--journal-dir", t.TempDir())
	if r.code != 0 {
		t.Fatalf("shift of a simple record to 50: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "published as a simple record") || !strings.Contains(r.stderr, "converts it into weighted records") {
		t.Errorf("the shift does not say it converts the simple record:\n%s", r.stderr)
	}
	if v, ok := simple(); ok {
		t.Errorf("the simple record of %s is still there (%s) beside the weighted ones", host, v)
	}
	if w := publishedWeights(t, host); w["blue"] != 128 || w["green"] != 128 || len(w) != 2 {
		t.Errorf("published weights of %s after the conversion: %v, want blue and green at 128", host, w)
	}
}

// labProcessPID is the PID of one of the lab's processes (lab status).
func labProcessPID(t *testing.T, cluster, name string) int {
	t.Helper()
	var st struct {
		Processes []struct {
			Cluster, Name string
			PID           int
			Alive         bool
		} `json:"processes"`
	}
	if err := json.Unmarshal([]byte(mustTandem(t, "lab", "status", "--dir", lab.dir, "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Processes {
		if p.Cluster == cluster && p.Name == name && p.Alive {
			return p.PID
		}
	}
	t.Fatalf("no running %s %s in lab status", cluster, name)
	return 0
}
