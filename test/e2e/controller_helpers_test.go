package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The controller's resources live in green (the lab's management cluster).
const ctlNS = "tandem-system"

// replica is one `lab controller up` replica.
type replica struct {
	Replica string `json:"replica"`
	PID     int    `json:"pid"`
	Metrics string `json:"metrics"`
}

// controllerUp starts controller replicas (lab controller up ARGS) and, after
// the test, deletes every tandem.io resource in green (letting the controller
// undo a running switchover) and stops every replica.
func controllerUp(t *testing.T, args ...string) []replica {
	t.Helper()
	r := tandem(t, append([]string{"lab", "controller", "up", "--dir", lab.dir, "-o", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("lab controller up: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var reps []replica
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil {
		t.Fatalf("lab controller up -o json: %v\n%s", err, r.stdout)
	}
	return reps
}

// cleanController removes the controller's resources and replicas; it runs
// before a test (what an earlier one left) and after it.
func cleanController(t *testing.T) {
	t.Helper()
	for _, kind := range []string{"switchovers", "drills", "mirrors", "clusterpairs"} {
		kubectl(t, "--context", "green", "-n", ctlNS, "delete", kind+".tandem.io", "--all", "--wait=true", "--timeout=180s")
	}
	// Without a controller nothing removes a finalizer: take it off.
	out := kubectl(t, "--context", "green", "-n", ctlNS, "get", "switchovers.tandem.io", "-o", "name").stdout
	for _, name := range strings.Fields(out) {
		kubectl(t, "--context", "green", "-n", ctlNS, "patch", name, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	}
	tandem(t, "lab", "controller", "down", "--dir", lab.dir)
}

// withController is where a controller test starts: no resources, no
// replicas; everything is removed again after the test.
func withController(t *testing.T) {
	t.Helper()
	if r := kubectl(t, "--context", "green", "get", "crd", "clusterpairs.tandem.io"); r.code == 0 {
		cleanController(t)
	}
	t.Cleanup(func() { cleanController(t) })
}

// applyDoc applies a YAML document in green.
func applyDoc(t *testing.T, doc string) result {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.yaml")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return kubectl(t, "--context", "green", "apply", "-f", f)
}

func pairDoc(name, labels string) string {
	return fmt.Sprintf(`apiVersion: tandem.io/v1alpha1
kind: ClusterPair
metadata: {name: %s, namespace: %s, labels: {%s}}
spec:
  clusters:
  - {name: blue, kubeconfigSecretRef: {name: blue-kubeconfig}}
  - {name: green, kubeconfigSecretRef: {name: green-kubeconfig}}
  router: %q
`, name, ctlNS, labels, shiftRouter())
}

// jsonpath reads one field of a resource in green ("" when absent).
func jsonpath(t *testing.T, resource, path string) string {
	t.Helper()
	return kubectl(t, "--context", "green", "-n", ctlNS, "get", resource, "-o", "jsonpath="+path).stdout
}

// waitFor polls cond every 200 ms until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; last seen: %s", what, timeout, last)
}

// condition is a resource's condition status ("" when absent).
func condition(t *testing.T, resource, typ string) string {
	t.Helper()
	return jsonpath(t, resource, fmt.Sprintf(`{.status.conditions[?(@.type=="%s")].status}`, typ))
}

// waitPhase waits until a Switchover is in one of phases; it returns it.
func waitPhase(t *testing.T, name string, timeout time.Duration, phases ...string) string {
	t.Helper()
	var got string
	waitFor(t, "switchover "+name+" in "+strings.Join(phases, "/"), timeout, func() (bool, string) {
		got = jsonpath(t, "switchover.tandem.io/"+name, "{.status.phase} {.status.message}")
		for _, p := range phases {
			if strings.HasPrefix(got, p+" ") || got == p {
				return true, got
			}
		}
		return false, got
	})
	return strings.Fields(got)[0]
}

// leader returns the replica whose metrics say it holds its leader Lease.
func leader(reps []replica) (replica, bool) {
	for _, r := range reps {
		resp, err := http.Get(r.Metrics)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		lead := false
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "leader_election_master_status{") && strings.HasSuffix(line, " 1") {
				lead = true
			}
		}
		resp.Body.Close()
		if lead {
			return r, true
		}
	}
	return replica{}, false
}

// scrape reads a metrics endpoint ("" when it does not answer).
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// journalRecords reads a Switchover's journal ConfigMap.
func journalRecords(t *testing.T, switchover string) []map[string]any {
	t.Helper()
	data := jsonpath(t, "configmap/"+switchover+"-journal", `{.data.journal\.jsonl}`)
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		recs = append(recs, m)
	}
	return recs
}
