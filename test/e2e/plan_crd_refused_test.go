package e2e

import (
	"encoding/json"
	"strings"
	"testing"

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

	r := tandem(t, "plan", "--source", "green", "--target", "blue", "--checks", "crds", "-o", "json")
	if r.code != 1 {
		t.Fatalf("plan green → blue --checks crds: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	fs := planFind(&rep, "crds", name, "")
	if len(fs) != 1 || fs[0].Severity != preflight.Error || !strings.Contains(fs[0].Message, "refuses it") ||
		!strings.Contains(fs[0].Message, `rule "isCIDR(self)"`) || !strings.Contains(fs[0].Message, "isCIDR") {
		t.Fatalf("findings on %s: %+v; want one error saying blue refuses it, naming the rule", name, fs)
	}
	// The dry run wrote nothing.
	if out := kubectl(t, "--context", "blue", "get", "crd", name, "--ignore-not-found", "-o", "name"); strings.TrimSpace(out.stdout) != "" {
		t.Fatalf("blue has %s after plan's dry run: %q", name, out.stdout)
	}

	// The other way, green serves what blue's CRD would say: nothing refused.
	r = tandem(t, "plan", "--source", "blue", "--target", "green", "--checks", "crds", "-o", "json")
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
