package e2e

import (
	"strings"
	"testing"
)

// A kind whose CRD converts between its versions through a webhook is
// read and written at the version the CRD stores: the webhook's backend
// runs in neither cluster here (a standby's is parked, a new target's may
// not run yet), and at the stored version the apiserver asks it nothing.
// At the preferred version (v1beta1) both the read from blue and the write
// into green would need it.
func TestSyncWritesAWebhookConvertedKindAtItsStoredVersion(t *testing.T) {
	const ns, crd = "e2e-conversion", "gadgets.conversion.e2e.example.com"
	t.Cleanup(func() {
		// The Gadgets first, at the stored version, then their CRD: the
		// namespace controller reads every kind at its preferred version,
		// which needs the absent webhook, and would leave the namespace
		// terminating.
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "-n", ns, "delete", "gadgets.v1alpha1.conversion.e2e.example.com", "--all", "--ignore-not-found", "--timeout=60s")
			kubectl(t, "--context", c, "delete", "crd", crd, "--ignore-not-found", "--timeout=60s")
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--timeout=120s")
		}
	})
	version := func(name string, stored bool) string {
		s := "false"
		if stored {
			s = "true"
		}
		return `{"name":"` + name + `","served":true,"storage":` + s + `,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}`
	}
	for _, c := range []string{"blue", "green"} {
		kubectlCreate(t, c, `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+crd+`"},
"spec":{"group":"conversion.e2e.example.com","scope":"Namespaced","names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},
"versions":[`+version("v1alpha1", true)+`,`+version("v1beta1", false)+`],
"conversion":{"strategy":"Webhook","webhook":{"conversionReviewVersions":["v1"],"clientConfig":{"service":{"namespace":"`+ns+`","name":"converter","path":"/convert"}}}}}}`)
		mustKubectl(t, "--context", c, "wait", "--for", "condition=established", "--timeout=60s", "crd/"+crd)
	}
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"conversion.e2e.example.com/v1alpha1","kind":"Gadget","metadata":{"name":"g1","namespace":"`+ns+`"},"spec":{"size":3}}`)

	out, r := syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	g, ok := out.find("Gadget", ns, "g1")
	if !ok || g.Status != "created" {
		t.Fatalf("Gadget: %+v (found %v); want created\n%s", g, ok, r.stderr)
	}
	got := mustKubectl(t, "--context", "green", "-n", ns, "get", "gadgets.v1alpha1.conversion.e2e.example.com", "g1", "-o", "jsonpath={.apiVersion} {.spec.size}")
	if want := "conversion.e2e.example.com/v1alpha1 3"; strings.TrimSpace(got) != want {
		t.Fatalf("green's Gadget: %q, want %q", got, want)
	}
	// The next run finds it as it wrote it.
	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	if g, ok = out.find("Gadget", ns, "g1"); !ok || g.Status != "unchanged" {
		t.Fatalf("second sync, Gadget: %+v (found %v); want unchanged", g, ok)
	}
}
