package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// An aggregated API served from a namespace a standby parks answers nothing
// there, and the cluster's discovery of it fails (a namespace deleted
// meanwhile stays Terminating): deactivate says so, naming the label that
// keeps it running — and parks the namespace all the same, with that
// group's discovery failing in the cluster it reads.
func TestDeactivateSaysWhichAggregatedAPIsItStops(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	ns := fmt.Sprintf("e2e-standby-api-%d", time.Now().Unix()%100000)
	const group = "e2e-parked.tandem.io"
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "apiservice", "v1."+group, "--ignore-not-found")
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "api", "--image", "registry.example/api:1", "--replicas", "2")
	brokenAPIService(t, "blue", group, "v1", ns, "api")

	r := tandem(t, "deactivate", "--cluster", "blue", "--namespace", ns, "--timeout", "60s", "--journal-dir", t.TempDir())
	if r.code != 0 {
		t.Fatalf("deactivate: exit %d\n%s", r.code, r.stderr)
	}
	want := "warning: blue: APIService v1." + group + ": " + group + "/v1 answers nothing while its backend " + ns + "/api is parked"
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "label namespace "+ns+" tandem.io/standby-exempt=true") {
		t.Errorf("deactivate did not say which API it stops; want %q in:\n%s", want, r.stderr)
	}
	if got := mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", "api", "-o", "jsonpath={.spec.replicas}"); got != "0" {
		t.Errorf("deployment api in the parked namespace: replicas %q, want 0", got)
	}
}
