package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// A sidecar injector copied along (a mesh installed in a namespace sync
// copies) has its MutatingWebhookConfiguration written in sync's last
// wave, after the workloads whose pods the target starts at once: those
// pods never went through it. Sync names the configuration and the
// namespaces it matches where it created workloads, not those it does not
// match, and says nothing once the configuration was there before.
func TestSyncNamesWorkloadsCreatedBeforeAPodMutatingWebhook(t *testing.T) {
	const (
		mesh, meshed, plain = "e2e-mesh-sys", "e2e-meshed", "e2e-unmeshed"
		config              = "e2e-mesh-injector"
	)
	cleanup := func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "mutatingwebhookconfiguration", config, "--ignore-not-found")
			kubectl(t, "--context", c, "delete", "namespace", mesh, meshed, plain, "--ignore-not-found", "--wait=false")
		}
	}
	cleanup()
	t.Cleanup(cleanup)

	mustKubectl(t, "--context", "blue", "create", "namespace", mesh)
	mustKubectl(t, "--context", "blue", "create", "namespace", plain)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+meshed+`","labels":{"e2e-mesh-injection":"enabled"}}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"injector","namespace":"`+mesh+`"},"spec":{"selector":{"app":"injector"},"ports":[{"port":443}]}}`)
	for _, ns := range []string{mesh, meshed, plain} {
		mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "app", "--image=registry.k8s.io/pause:3.10")
	}
	// In the namespace that is not labelled, one workload asks for the
	// sidecar by its pods' label, as Istio's sidecar.istio.io/inject=true.
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"asks","namespace":"`+plain+`"},
"spec":{"selector":{"matchLabels":{"app":"asks"}},"template":{"metadata":{"labels":{"app":"asks","e2e-mesh-inject":"true"}},
"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10"}]}}}}`)
	// Fails open, and matches only the labelled namespace, or a pod
	// labelled elsewhere (Istio's namespace.* and object.* webhooks): the
	// lab's other writes never wait on it.
	kubectlCreate(t, "blue", `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"MutatingWebhookConfiguration","metadata":{"name":"`+config+`"},
"webhooks":[{"name":"inject.e2e-mesh.example","failurePolicy":"Ignore","sideEffects":"None","admissionReviewVersions":["v1"],
"namespaceSelector":{"matchLabels":{"e2e-mesh-injection":"enabled"}},
"rules":[{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE"],"resources":["pods"]}],
"clientConfig":{"service":{"namespace":"`+mesh+`","name":"injector"}}},
{"name":"object.e2e-mesh.example","failurePolicy":"Ignore","sideEffects":"None","admissionReviewVersions":["v1"],
"namespaceSelector":{"matchExpressions":[{"key":"e2e-mesh-injection","operator":"DoesNotExist"}]},
"objectSelector":{"matchLabels":{"e2e-mesh-inject":"true"}},
"rules":[{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE"],"resources":["pods"]}],
"clientConfig":{"service":{"namespace":"`+mesh+`","name":"injector"}}}]}`)

	// plan says so first, with the order that avoids it.
	pr := tandem(t, "plan", "--source", "blue", "--target", "green", "--only", "webhooks", "-o", "json")
	var rep preflight.Report
	if err := json.Unmarshal([]byte(pr.stdout), &rep); err != nil {
		t.Fatalf("plan --only webhooks: %v\n%s%s", err, pr.stdout, pr.stderr)
	}
	if fs := planFind(&rep, "webhooks", "MutatingWebhookConfiguration.admissionregistration.k8s.io "+config, ""); len(fs) != 1 ||
		fs[0].Severity != preflight.Warning || !strings.Contains(fs[0].Message, "mutates pods as they are created (inject.e2e-mesh.example, object.e2e-mesh.example)") ||
		!strings.Contains(fs[0].Fix, "tandem sync -n "+mesh) {
		t.Fatalf("plan's findings on %s: %+v; want a warning naming its webhook, the fix syncing %s first", config, fs, mesh)
	}

	args := []string{"-n", mesh + "," + meshed + "," + plain}
	journal := t.TempDir()
	out, r := syncJSON(t, journal, 0, args...)
	if row, ok := out.find("MutatingWebhookConfiguration", "", config); !ok || row.Status != "created" {
		t.Fatalf("%s: %+v (listed %v); want created with the namespace of its backend", config, row, ok)
	}
	var warning string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "MutatingWebhookConfiguration "+config) {
			warning = line
		}
	}
	// The labelled namespace's workload and the one whose pods ask for it:
	// not the others of the namespaces the object webhook's selector takes.
	if !strings.Contains(warning, "after 2 workloads in namespaces "+meshed+", "+plain+" that it matches") ||
		!strings.Contains(warning, "rollout restart") || strings.Contains(warning, mesh+",") {
		t.Fatalf("sync's warning on %s: %q; want it naming 2 workloads, in %s and %s (not %s), and the restart\nstderr:\n%s", config, warning, meshed, plain, mesh, r.stderr)
	}
	// The configuration was there before the next run's writes: nothing to say.
	mustKubectl(t, "--context", "green", "-n", meshed, "delete", "deployment", "app")
	_, r = syncJSON(t, journal, 0, args...)
	if strings.Contains(r.stderr, "MutatingWebhookConfiguration "+config) {
		t.Fatalf("second sync warned of %s, which was in green before it:\n%s", config, r.stderr)
	}
}
