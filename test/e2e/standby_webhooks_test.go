package e2e

import (
	"testing"
)

// A webhook served from an app namespace reaches a standby failing open:
// its backend runs at 0 replicas there, and failing closed it would refuse
// every write it matches (the mirror's too). sync writes it at once (no
// wait for a backend that will not come) and records the policy activate
// gives back.
func TestStandbyWebhooksFailOpen(t *testing.T) {
	labAtRest(t) // blue active, green standby
	const ns, name, hook = "e2e-standby-wh", "e2e-standby-guard", "cm.guard.e2e.example"
	cleanup := func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "validatingwebhookconfiguration", name, "--ignore-not-found")
		}
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
	}
	cleanup()
	t.Cleanup(cleanup)
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "service", "clusterip", "hook", "--tcp=443:8443")
	// It matches no namespace of blue's, so blue's writes never call it.
	kubectlCreate(t, "blue", `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"`+name+`"},
"webhooks":[{"name":"`+hook+`","sideEffects":"None","admissionReviewVersions":["v1"],"failurePolicy":"Fail",
"clientConfig":{"service":{"namespace":"`+ns+`","name":"hook","path":"/validate"}},
"namespaceSelector":{"matchLabels":{"e2e-standby-wh":"never"}},
"rules":[{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE","UPDATE"],"resources":["configmaps"]}]}]}`)

	out, _ := syncJSON(t, t.TempDir(), 0, "--standby", "--include-kinds", "ValidatingWebhookConfiguration.admissionregistration.k8s.io")
	if r, ok := out.find("ValidatingWebhookConfiguration", "", name); !ok || (r.Status != "created" && r.Status != "updated") {
		t.Fatalf("webhook configuration in the standby sync: %+v (found %v); want written, not held for its backend", r, ok)
	}
	policy := func(c string) string {
		return mustKubectl(t, "--context", c, "get", "validatingwebhookconfiguration", name, "-o",
			`jsonpath={.webhooks[0].failurePolicy} {.metadata.annotations.tandem\.io/failure-policies}`)
	}
	if got, want := policy("green"), `Ignore {"`+hook+`":"Fail"}`; got != want {
		t.Errorf("green (standby): %q, want %q", got, want)
	}
	if got := policy("blue"); got != "Fail " {
		t.Errorf("blue (active) changed: %q", got)
	}
}
