package e2e

import (
	"strings"
	"testing"
)

// A webhook configuration or an APIService served from kube-system belongs
// to an add-on of the source (metrics-server, a cloud's load balancer
// controller), which sync does not copy: a copy would call a backend that
// is not there — a fail-closed webhook refusing the target's writes, an
// unavailable APIService keeping its namespaces from being deleted. Sync
// leaves such objects behind and says why; one served from an app's
// namespace comes over. An aggregated API that cannot be discovered is a
// warning: whatever it serves is not copied.
func TestSyncLeavesAddOnBackendsBehind(t *testing.T) {
	const (
		app       = "e2e-addon-app"
		svc       = "e2e-addon-backend"
		group     = "e2e-addon.example.com"
		apiSvc    = "v1beta1." + group
		addonHook = "e2e-addon-hook"
		appHook   = "e2e-addon-app-hook"
	)
	t.Cleanup(func() {
		for _, ctx := range []string{"blue", "green"} {
			// The APIService first: a namespace is not deleted while discovery fails.
			kubectl(t, "--context", ctx, "delete", "apiservice", apiSvc, "--ignore-not-found")
			kubectl(t, "--context", ctx, "delete", "validatingwebhookconfiguration", addonHook, appHook, "--ignore-not-found")
			kubectl(t, "--context", ctx, "delete", "namespace", app, "--ignore-not-found", "--wait=false")
		}
		kubectl(t, "--context", "blue", "-n", "kube-system", "delete", "service", svc, "--ignore-not-found")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", app)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"`+svc+`","namespace":"kube-system"},"spec":{"ports":[{"port":443}]}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"hook","namespace":"`+app+`"},"spec":{"ports":[{"port":443}]}}`)
	// The webhooks match nothing that exists (a namespace label nobody has):
	// failing closed, they must not stop the lab's own writes.
	// The app's fails open: sync writes a fail-closed one only once its
	// backend is ready in the target, and this one has none.
	webhook := func(name, ns, svcName, policy string) string {
		return `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"` + name + `"},
"webhooks":[{"name":"check.` + group + `","failurePolicy":"` + policy + `","sideEffects":"None","admissionReviewVersions":["v1"],
"namespaceSelector":{"matchLabels":{"e2e-addon-never":"true"}},
"rules":[{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE"],"resources":["configmaps"]}],
"clientConfig":{"service":{"namespace":"` + ns + `","name":"` + svcName + `"}}}]}`
	}
	kubectlCreate(t, "blue", webhook(addonHook, "kube-system", svc, "Fail"))
	kubectlCreate(t, "blue", webhook(appHook, app, "hook", "Ignore"))
	brokenAPIService(t, "blue", group, "v1beta1", "kube-system", svc)

	kinds := "APIService.apiregistration.k8s.io,ValidatingWebhookConfiguration.admissionregistration.k8s.io,Namespace,Service"
	out, r := syncJSON(t, t.TempDir(), 0, "--include-kinds", kinds)
	for _, name := range []string{apiSvc, addonHook} {
		row, ok := out.find(map[string]string{apiSvc: "APIService", addonHook: "ValidatingWebhookConfiguration"}[name], "", name)
		if !ok || row.Status != "skipped" || !strings.Contains(row.Reason, "kube-system/"+svc) {
			t.Errorf("%s: %+v (listed %v); want skipped, naming kube-system/%s", name, row, ok, svc)
		}
		if got := kubectl(t, "--context", "green", "get", "apiservice,validatingwebhookconfiguration", "--field-selector", "metadata.name="+name, "-o", "name").stdout; got != "" {
			t.Errorf("green has %s", got)
		}
	}
	if row, ok := out.find("ValidatingWebhookConfiguration", "", appHook); !ok || (row.Status != "created" && row.Status != "updated") {
		t.Errorf("%s, served from %s: %+v (listed %v); want it copied", appHook, app, row, ok)
	}
	if want := group + "/v1beta1 could not be discovered"; !strings.Contains(r.stderr, want) {
		t.Errorf("sync's stderr lacks the warning %q:\n%s", want, r.stderr)
	}
}
