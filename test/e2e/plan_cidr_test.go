package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// Green is given a Service range that overlaps blue's (a ServiceCIDR object,
// served by green's v1.37): plan reports the overlap as an error, exit 1.
func TestPlanFlagsOverlappingCIDRs(t *testing.T) {
	const name = "e2e-overlap"
	kubectlCreate(t, "green", `{"apiVersion":"networking.k8s.io/v1","kind":"ServiceCIDR","metadata":{"name":"`+name+`"},"spec":{"cidrs":["10.96.0.0/24"]}}`)
	// Gone before the next test: TestPlanFlagsBlockers wants the lab's ranges disjoint again.
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "servicecidr", name, "--timeout=60s") })

	r := tandem(t, "plan", "--source", "blue", "--target", "green", "--checks", "cidr", "-o", "json")
	if r.code != 1 {
		t.Fatalf("plan --checks cidr: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	fs := planFind(&rep, "cidr", "", "")
	found := false
	for _, f := range fs {
		if f.Severity == preflight.Error && strings.Contains(f.Message+f.Fix, "10.96.0") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no error finding naming the overlap in 10.96.0.0/24: %+v", fs)
	}
}

// An add-on only blue runs (kube-system is never synced) is reported with the fix.
func TestPlanComparesAddons(t *testing.T) {
	mustKubectl(t, "--context", "blue", "-n", "kube-system", "create", "deployment", "e2e-addon", "--image", "registry.example/e2e-addon:v1.2.3", "--replicas", "0")
	t.Cleanup(func() { kubectl(t, "--context", "blue", "-n", "kube-system", "delete", "deployment", "e2e-addon") })
	r := tandem(t, "plan", "--source", "blue", "--target", "green", "--checks", "addons", "-o", "json")
	if r.code != 0 {
		t.Fatalf("plan --checks addons: exit %d (add-ons are warnings, not errors)\n%s", r.code, r.stderr)
	}
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	fs := planFind(&rep, "addons", "kube-system/e2e-addon", "")
	if len(fs) != 1 || fs[0].Severity != preflight.Warning || !strings.Contains(fs[0].Message, "source only") || !strings.Contains(fs[0].Message, "v1.2.3") {
		t.Fatalf("findings on kube-system/e2e-addon: %+v", fs)
	}
}

// A selector-less Service with hand-written Endpoints (an external database,
// say) is copied as v1 Endpoints, which green (v1.33+) says is deprecated:
// plan passes the target's own warning on, with its replacement.
func TestPlanPassesOnTheTargetsDeprecationWarnings(t *testing.T) {
	const ns = "e2e-plan-deprecated"
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() { kubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false") })
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"external-db","namespace":"`+ns+`"},"spec":{"ports":[{"port":5432}]}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"external-db","namespace":"`+ns+`"},"subsets":[{"addresses":[{"ip":"192.0.2.7"}],"ports":[{"port":5432}]}]}`)
	r := tandem(t, "plan", "--source", "blue", "--target", "green", "--checks", "deprecated", "-o", "json")
	if r.code != 0 {
		t.Fatalf("plan --checks deprecated: exit %d\n%s", r.code, r.stderr)
	}
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	fs := planFind(&rep, "deprecated", "Endpoints v1", "target-warning")
	if len(fs) != 1 || !strings.Contains(fs[0].Fix, "discovery.k8s.io/v1 EndpointSlice") {
		t.Fatalf("findings %+v, want the target's warning on v1 Endpoints naming EndpointSlice", rep.Findings)
	}
}
