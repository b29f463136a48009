package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// apiserverPID is the PID of a lab cluster's kube-apiserver, from the lab's record.
func apiserverPID(t *testing.T, cluster string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lab.dir, "run", cluster+"-kube-apiserver.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ PID int }
	if err := json.Unmarshal(b, &rec); err != nil || rec.PID <= 0 {
		t.Fatalf("%s's apiserver record: %v %s", cluster, err, b)
	}
	return rec.PID
}

// restartAPIServer kills a lab cluster's kube-apiserver (kill -9) and starts
// it again the way a user would: `tandem lab up` starts what is not running.
func restartAPIServer(t *testing.T, cluster string) {
	t.Helper()
	stopAPIServer(t, cluster)
	mustTandem(t, "lab", "up", "--dir", lab.dir)
}

// stopAPIServer kills a lab cluster's kube-apiserver (kill -9) and waits
// until it is gone for good (its port free); `tandem lab up` starts it again.
func stopAPIServer(t *testing.T, cluster string) {
	t.Helper()
	pid := apiserverPID(t, cluster)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		if err := syscall.Kill(pid, 0); err == nil {
			return fmt.Errorf("pid %d still exists", pid)
		}
		ln, err := net.Listen("tcp", strings.TrimPrefix(mustKubectl(t, "config", "view", "-o", `jsonpath={.clusters[?(@.name=="`+cluster+`")].cluster.server}`), "https://"))
		if err != nil {
			return fmt.Errorf("%s's apiserver port is still taken: %v", cluster, err)
		}
		return ln.Close()
	})
}

// seedConfigMaps creates n ConfigMaps cm-000… in ns of blue (the namespace
// too), each with its index and a 2 KiB payload, labelled e2e=<label>.
func seedConfigMaps(t *testing.T, ns string, n int, label string) {
	t.Helper()
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--timeout=120s")
		}
	})
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": fmt.Sprintf("cm-%03d", i), "namespace": ns, "labels": map[string]string{"e2e": label}},
			"data":     map[string]string{"index": fmt.Sprint(i), "payload": strings.Repeat(fmt.Sprintf("%03d-", i), 512)}}
	}
	list, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	applyJSON(t, "blue", string(list))
	if got := len(configMaps(t, "blue", ns)); got < n {
		t.Fatalf("blue has %d ConfigMaps in %s, want %d", got, ns, n)
	}
}

// syncRun is a `tandem sync -o json` running in the background.
type syncRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

func startSync(t *testing.T, extra ...string) *syncRun {
	t.Helper()
	r := &syncRun{done: make(chan error, 1)}
	r.cmd = exec.Command(lab.bin, append(syncArgs(t.TempDir(), extra...), "-o", "json")...)
	r.cmd.Env = append(os.Environ(), "KUBECONFIG="+lab.kubeconfig, "TANDEM_SOURCE=", "TANDEM_TARGET=")
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
		}
	})
	return r
}

// waitWriting waits until at least n ConfigMaps of ns are in green: the sync is writing.
func (r *syncRun) waitWriting(t *testing.T, ns string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for len(strings.Fields(kubectl(t, "--context", "green", "-n", ns, "get", "configmaps", "-o", "name").stdout)) < n {
		select {
		case err := <-r.done:
			t.Fatalf("sync ended (%v) before %d ConfigMaps were in green\n%s", err, n, r.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d ConfigMaps in green after 2 minutes\n%s", n, r.stderr.String())
		}
	}
}

// wait returns the exit code and report, bounded to 5 minutes.
func (r *syncRun) wait(t *testing.T) (int, syncOut) {
	t.Helper()
	var err error
	select {
	case err = <-r.done:
	case <-time.After(5 * time.Minute):
		_ = r.cmd.Process.Kill()
		t.Fatalf("sync still running after 5 minutes\n%s", r.stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var out syncOut
	if err := json.Unmarshal(r.stdout.Bytes(), &out); err != nil {
		t.Fatalf("sync -o json (exit %d): %v\nstdout:\n%s\nstderr:\n%s", code, err, r.stdout.String(), r.stderr.String())
	}
	return code, out
}

// assertNoneLost checks green holds exactly blue's ConfigMaps of ns, same
// data, and that the report created each once.
func assertNoneLost(t *testing.T, ns string, n int, out syncOut) {
	t.Helper()
	sameConfigMaps(t, 30*time.Second, ns)
	created := map[string]int{}
	for _, row := range out.Results {
		if row.Kind == "ConfigMap" && row.Namespace == ns && row.Status == "created" {
			created[row.Name]++
		}
	}
	if len(created) != n {
		t.Errorf("report created %d distinct ConfigMaps of %s, want %d", len(created), ns, n)
	}
	for name, c := range created {
		if c != 1 {
			t.Errorf("report created %s %d times", name, c)
		}
	}
}

// failedRows is the report's failed rows, one per line, for a failure's message.
func failedRows(out syncOut) string {
	var b strings.Builder
	for _, row := range out.Results {
		if row.Status == "failed" {
			fmt.Fprintf(&b, "failed %s %s/%s: %s %s\n", row.Kind, row.Namespace, row.Name, row.Reason, strings.Join(row.Notes, "; "))
		}
	}
	return b.String()
}

// retriedRows counts the report's rows that needed more than one attempt.
func retriedRows(out syncOut) int {
	n := 0
	for _, row := range out.Results {
		for _, note := range row.Notes {
			if strings.Contains(note, " attempts (the first failed: ") {
				n++
			}
		}
	}
	return n
}

// metricSum adds up a counter of green's apiserver metrics over the series whose labels contain match.
func metricSum(t *testing.T, cluster, name, match string) float64 {
	t.Helper()
	sum := 0.0
	sc := bufio.NewScanner(strings.NewReader(mustKubectl(t, "--context", cluster, "get", "--raw", "/metrics")))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, match) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}
