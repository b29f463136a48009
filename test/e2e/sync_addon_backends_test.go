package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
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

// An aggregated APIService copied along with its backend is written only
// once its backend Service has a ready endpoint in the target (before, the
// target's discovery of its group fails, and its namespace controller
// deletes no namespace); written and still not Available, it is a warning.
func TestSyncWritesAnAggregatedAPIOnceItsBackendIsReady(t *testing.T) {
	labAtRest(t) // green a plain target: a standby parks the workloads and refuses kubectl scale
	ns := fmt.Sprintf("e2e-aggapi-%d", time.Now().Unix()%100000)
	const group = "e2e-aggapi.tandem.io"
	api := "v1." + group
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "apiservice", api, "--ignore-not-found")
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	// Its Service selects app=api, and no pod has that label yet.
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "service", "clusterip", "api", "--tcp", "443:443")
	brokenAPIService(t, "blue", group, "v1", ns, "api")
	journal := t.TempDir()

	out, r := syncJSON(t, journal, 1, "--namespace", ns)
	row, ok := out.find("APIService", "", api)
	if want := "APIService backend Service " + ns + "/api has no ready endpoints in the target"; !ok || row.Status != "failed" || !strings.Contains(row.Reason, want) {
		t.Errorf("APIService %s with no backend in green: %+v (listed %v); want failed, %q\n%s", api, row, ok, want, r.stderr)
	}
	if got := kubectl(t, "--context", "green", "get", "apiservice", api, "--ignore-not-found", "-o", "name").stdout; strings.TrimSpace(got) != "" {
		t.Errorf("green has %s though its backend has no endpoint there", got)
	}

	// Its backend comes: green runs its pod (ready, but serving nothing
	// the aggregation layer can call).
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "api", "--image", "registry.example/api:1", "--replicas", "1")
	out, r = syncJSON(t, journal, 0, "--namespace", ns)
	row, ok = out.find("APIService", "", api)
	if !ok || row.Status != "created" {
		t.Fatalf("APIService %s once its backend runs in green: %+v (listed %v); want created\n%s", api, row, ok, r.stderr)
	}
	if want := "warning: APIService " + api + " not Available in the target ("; !strings.Contains(r.stderr, want) {
		t.Errorf("sync's stderr lacks %q:\n%s", want, r.stderr)
	}
	if !slices.ContainsFunc(row.Notes, func(n string) bool { return strings.HasPrefix(n, "not Available in the target") }) {
		t.Errorf("APIService %s's notes %q do not say it is not Available", api, row.Notes)
	}
	if got := mustKubectl(t, "--context", "green", "get", "apiservice", api, "-o", "jsonpath={.spec.service.namespace}/{.spec.service.name}"); got != ns+"/api" {
		t.Errorf("APIService %s in green calls %q, want %s/api", api, got, ns)
	}
}
