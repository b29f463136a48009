package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/preflight"
)

// A CRD whose schema uses what only a newer apiserver knows (the CEL
// function isCIDR, added in Kubernetes 1.31; Calico 3.32's
// clusternetworkpolicies uses it) is created in green (v1.37); a plan from
// green into blue (v1.30) finds that blue refuses it, from a server-side dry
// run, before a sync fails on it: an error, exit 1.
func TestPlanSaysTheTargetRefusesACRD(t *testing.T) {
	const name = "subnets.e2e-refused.example.io"
	kubectlCreate(t, "green", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+name+`"},
	  "spec":{"group":"e2e-refused.example.io","scope":"Namespaced","names":{"plural":"subnets","singular":"subnet","kind":"Subnet"},
	  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object",
	  "properties":{"cidr":{"type":"string","maxLength":64,"x-kubernetes-validations":[{"rule":"isCIDR(self)","message":"not a CIDR"}]}}}}}}}]}}`)
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "crd", name, "--timeout=60s") })

	// planJSON's --source and --target, given again: the last ones count.
	rep := planJSON(t, 1, "--source", "green", "--target", "blue", "--checks", "crds")
	fs := planFind(rep, "crds", name, "")
	if len(fs) != 1 || fs[0].Severity != preflight.Error || !strings.Contains(fs[0].Message, "refuses it") ||
		!strings.Contains(fs[0].Message, `rule "isCIDR(self)"`) || !strings.Contains(fs[0].Message, "isCIDR") {
		t.Fatalf("findings on %s: %+v; want one error saying blue refuses it, naming the rule", name, fs)
	}
	// The dry run wrote nothing.
	if out := kubectl(t, "--context", "blue", "get", "crd", name, "--ignore-not-found", "-o", "name"); strings.TrimSpace(out.stdout) != "" {
		t.Fatalf("blue has %s after plan's dry run: %q", name, out.stdout)
	}

	// The other way, green serves what blue's CRD would say: nothing refused.
	// (Its exit code is the lab's other CRDs': not this test's.)
	r := tandem(t, "plan", "--source", "blue", "--target", "green", "--checks", "crds", "-o", "json")
	var back preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &back); err != nil {
		t.Fatalf("plan blue → green: %v\n%s", err, r.stderr)
	}
	for _, f := range back.Findings {
		if strings.Contains(f.Message, "refuses it") {
			t.Fatalf("plan blue → green: a CRD green refuses: %+v", f)
		}
	}
}

// An operator upgrade in blue dropped a version its CRD served (v1; every
// object migrated to v2), while green, the target, still stores objects at
// v1 in the copy an earlier sync made: green refuses the source's CRD
// (status.storedVersions must appear in spec.versions), which plan finds
// with a dry run of sync's write. The same CRD installed in green by
// someone else is not tandem's to take: sync meets a conflict there, which
// is no refusal.
func TestPlanSaysTheTargetRefusesTheSourcesVersionOfACRD(t *testing.T) {
	crd := func(name, versions string) string {
		group := strings.SplitN(name, ".", 2)[1]
		plural := strings.SplitN(name, ".", 2)[0]
		return `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"` + name + `"},
		  "spec":{"group":"` + group + `","scope":"Cluster","names":{"plural":"` + plural + `","kind":"K` + plural + `"},"versions":[` + versions + `]}}`
	}
	version := func(name string) string {
		return `{"name":"` + name + `","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}`
	}
	const (
		copied = "gadgets.e2e-stored.example.io" // in green as an earlier sync created it
		others = "widgets.e2e-stored.example.io" // in green as someone else created it
	)
	kubectlCreateAs(t, "green", plan.CreateManager, crd(copied, version("v1")))
	kubectlCreate(t, "green", crd(others, version("v1")))
	kubectlCreate(t, "blue", crd(copied, version("v2")))
	kubectlCreate(t, "blue", crd(others, version("v2")))
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "delete", "crd", copied, others, "--timeout=60s")
		kubectl(t, "--context", "blue", "delete", "crd", copied, others, "--timeout=60s")
	})

	rep := planJSON(t, 1, "--checks", "crds")
	refused := func(name string) (n int) {
		for _, f := range planFind(rep, "crds", name, "") {
			if f.Severity == preflight.Error && strings.Contains(f.Message, "refuses the source's version") && strings.Contains(f.Message, "storedVersions") {
				n++
			}
		}
		return n
	}
	if refused(copied) != 1 {
		t.Fatalf("findings on %s: %+v; want one error saying green refuses blue's version (storedVersions)", copied, planFind(rep, "crds", copied, ""))
	}
	if refused(others) != 0 {
		t.Fatalf("findings on %s: %+v; someone else's CRD is a conflict for sync, not a refusal", others, planFind(rep, "crds", others, ""))
	}
	// The dry run changed nothing: green still serves v1.
	if out := kubectl(t, "--context", "green", "get", "crd", copied, "-o", "jsonpath={.spec.versions[*].name}"); strings.TrimSpace(out.stdout) != "v1" {
		t.Fatalf("green's %s serves %q after plan, want v1", copied, out.stdout)
	}
}
