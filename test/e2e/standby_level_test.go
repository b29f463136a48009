package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A failed activate is not resumed against later changes: after activate
// fails (a workload that cannot start), deactivate parks again, the culprit
// is deleted, and activate runs again — every parked workload comes back
// (the annotations are the truth, not the failed run's journal), and status
// warns about an active cluster that holds parked workloads.
func TestActivateAfterAFailedRun(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	ns := fmt.Sprintf("e2e-level-%d", time.Now().Unix()%100000)
	journal := t.TempDir()
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=true", "--timeout=120s")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "--replicas=2")
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "never.yaml", fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: never, namespace: %s}
spec:
  replicas: 1
  selector: {matchLabels: {app: never}}
  template:
    metadata: {labels: {app: never}}
    spec:
      nodeSelector: {e2e-no-such-node: "true"}
      containers: [{name: c, image: registry.k8s.io/pause:3.10}]
`, ns)))
	if r := tandem(t, "sync", "--source", "blue", "--target", "green", "--standby", "--namespace", ns, "--journal-dir", journal); r.code != 0 {
		t.Fatalf("sync --standby: exit %d\n%s", r.code, r.stderr)
	}
	if r := tandem(t, "activate", "--cluster", "green", "--timeout", "10s", "--journal-dir", journal); r.code != 1 {
		t.Fatalf("activate with a workload that cannot start: exit %d, want 1\n%s", r.code, r.stderr)
	}
	mustTandem(t, "deactivate", "--cluster", "green", "--journal-dir", journal)
	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "-n", ns, "delete", "deployment", "never")
	}
	mustTandem(t, "activate", "--cluster", "green", "--timeout", "2m", "--journal-dir", journal)
	web := objJSON(t, "green", ns, "deployment/web")
	if field(web, "spec", "replicas") != float64(2) {
		t.Fatalf("web in green after activate: replicas %v, want 2 (annotations %v)", field(web, "spec", "replicas"), field(web, "metadata", "annotations"))
	}
	eventually(t, time.Minute, func() error {
		w := objJSON(t, "green", ns, "deployment/web")
		if field(w, "status", "availableReplicas") != float64(2) {
			return fmt.Errorf("web available %v of 2", field(w, "status", "availableReplicas"))
		}
		return nil
	})

	// An active cluster that holds a parked workload is warned about.
	mustKubectl(t, "--context", "green", "-n", ns, "annotate", "deployment", "web", "tandem.io/replicas=2", "--overwrite")
	mustKubectl(t, "--context", "green", "-n", ns, "scale", "deployment", "web", "--replicas=0")
	st, _ := pairStatus(t)
	found := false
	for _, w := range st.Warnings {
		found = found || (strings.Contains(w, "parked") && strings.Contains(w, "tandem activate"))
	}
	if st.Verdict.Active != "green" || !found {
		t.Fatalf("status of an active green holding a parked workload: active %q, warnings %v", st.Verdict.Active, st.Warnings)
	}
}

// objJSON reads one object of a namespace.
func objJSON(t *testing.T, ctxName, ns, ref string) map[string]any {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal([]byte(mustKubectl(t, "--context", ctxName, "-n", ns, "get", ref, "-o", "json")), &o); err != nil {
		t.Fatal(err)
	}
	return o
}
