package e2e

import (
	"strings"
	"testing"
)

// A webhook that mutates pods as they are created (a mesh's sidecar
// injector) fails open in a standby, its backend parked. Activate brings
// its backend back first and waits for it before it starts any other
// workload, whose pods would otherwise be made without their sidecar: with
// the injector unable to run, activate fails and the app stays parked;
// once it can run, activate restores the app too.
func TestActivateStartsThePodInjectorsFirst(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	const (
		mesh, app = "e2e-inject-mesh", "e2e-inject-app"
		config    = "e2e-inject-first"
	)
	cleanup := func() {
		kubectl(t, "--context", "blue", "delete", "mutatingwebhookconfiguration", config, "--ignore-not-found")
		kubectl(t, "--context", "blue", "delete", "namespace", mesh, app, "--ignore-not-found", "--wait=false")
	}
	cleanup()
	t.Cleanup(cleanup)

	mustKubectl(t, "--context", "blue", "create", "namespace", mesh)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+app+`","labels":{"e2e-inject":"enabled"}}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"injector","namespace":"`+mesh+`"},"spec":{"selector":{"app":"injector"},"ports":[{"port":443}]}}`)
	// The injector cannot run: no node has the label it asks for.
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"injector","namespace":"`+mesh+`"},
"spec":{"replicas":1,"selector":{"matchLabels":{"app":"injector"}},"template":{"metadata":{"labels":{"app":"injector"}},
"spec":{"nodeSelector":{"e2e-no-such-node":"true"},"containers":[{"name":"injector","image":"registry.example/injector:1"}]}}}}`)
	mustKubectl(t, "--context", "blue", "-n", app, "create", "deployment", "web", "--image", "registry.example/web:1", "--replicas", "2")
	// Beside the injector, a workload it does not back (a mesh's gateway).
	mustKubectl(t, "--context", "blue", "-n", mesh, "create", "deployment", "gateway", "--image", "registry.example/gateway:1")
	// Fails open, so that the lab's writes never wait on it.
	kubectlCreate(t, "blue", `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"MutatingWebhookConfiguration","metadata":{"name":"`+config+`"},
"webhooks":[{"name":"inject.e2e-inject.example","failurePolicy":"Ignore","sideEffects":"None","admissionReviewVersions":["v1"],
"namespaceSelector":{"matchLabels":{"e2e-inject":"enabled"}},
"rules":[{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE"],"resources":["pods"]}],
"clientConfig":{"service":{"namespace":"`+mesh+`","name":"injector"}}}]}`)

	journal := t.TempDir()
	mustTandem(t, "deactivate", "--cluster", "blue", "--namespace", mesh+","+app, "--timeout", "60s", "--journal-dir", journal)
	replicas := func(ns, name string) string {
		return mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", name, "-o", "jsonpath={.spec.replicas}")
	}
	if got := replicas(app, "web"); got != "0" {
		t.Fatalf("web after deactivate: replicas %q, want 0", got)
	}

	// Twice: a re-run waits for the injector an earlier run restored.
	for i := range 2 {
		r := tandem(t, "activate", "--cluster", "blue", "--timeout", "15s", "--journal-dir", journal)
		if r.code == 0 || !strings.Contains(r.stderr, "the backends of the webhooks that mutate pods (Services "+mesh+"/injector) come first") ||
			!strings.Contains(r.stderr, "no other workload was started") {
			t.Fatalf("activate %d with the injector unable to run: exit %d, want a failure naming %s/injector first\nstdout:\n%s\nstderr:\n%s", i+1, r.code, mesh, r.stdout, r.stderr)
		}
		if got := replicas(app, "web"); got != "0" {
			t.Fatalf("web after failed activate %d: replicas %q, want 0 (not started before its injector)", i+1, got)
		}
		if got := replicas(mesh, "gateway"); got != "0" {
			t.Fatalf("the gateway beside the injector after failed activate %d: replicas %q, want 0 (it does not back the webhook)", i+1, got)
		}
	}

	mustKubectl(t, "--context", "blue", "-n", mesh, "patch", "deployment", "injector", "--type", "json", "-p", `[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]`)
	mustTandem(t, "activate", "--cluster", "blue", "--timeout", "2m", "--journal-dir", journal)
	if got := replicas(app, "web"); got != "2" {
		t.Fatalf("web after activate: replicas %q, want 2", got)
	}
	if got := replicas(mesh, "gateway"); got != "1" {
		t.Fatalf("the gateway after activate: replicas %q, want 1", got)
	}
}
