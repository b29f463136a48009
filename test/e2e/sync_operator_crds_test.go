package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// Syncing an operator's namespace brings the CRDs its ServiceAccount is
// granted on through a ClusterRole, though no custom resource exists yet:
// without them the operator would crash-loop in green. The dry run says why
// each CRD comes, and the real sync leaves them Established in green.
func TestSyncOperatorNamespaceBringsItsCRDs(t *testing.T) {
	labAtRest(t) // blue active (sync refuses to copy out of a standby)
	const ns, rbac = "e2e-operator", "e2e-operator"
	crds := []string{"gizmos.e2e-op.example.com", "gadgets.e2e-op.example.com"}
	cleanup := func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--timeout=120s")
			kubectl(t, "--context", c, "delete", "clusterrolebinding", rbac, "--ignore-not-found")
			kubectl(t, "--context", c, "delete", "clusterrole", rbac, "--ignore-not-found")
			kubectl(t, "--context", c, "-n", "kube-system", "delete", "rolebinding,role", rbac+":leaderelection", "--ignore-not-found")
			kubectl(t, append([]string{"--context", c, "delete", "crd", "--ignore-not-found", "--timeout=120s"}, crds...)...)
		}
	}
	cleanup() // what an interrupted run left behind
	t.Cleanup(cleanup)

	for _, kind := range []string{"Gizmo", "Gadget"} {
		plural := strings.ToLower(kind) + "s"
		kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"%s.e2e-op.example.com"},
"spec":{"group":"e2e-op.example.com","scope":"Namespaced","names":{"plural":%q,"singular":%q,"kind":%q},
"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`,
			plural, plural, strings.ToLower(kind), kind))
	}
	mustKubectl(t, append([]string{"--context", "blue", "wait", "--for", "condition=established", "--timeout=60s"}, crdRefs(crds)...)...)

	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "serviceaccount", "operator")
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"operator","namespace":"`+ns+`"},
"spec":{"replicas":1,"selector":{"matchLabels":{"app":"operator"}},"template":{"metadata":{"labels":{"app":"operator"}},
"spec":{"serviceAccountName":"operator",
"tolerations":[{"key":"kwok.x-k8s.io/node","operator":"Exists","effect":"NoSchedule"}],
"containers":[{"name":"manager","image":"registry.example/operator:1"}]}}}}`)
	// One CRD granted on its resource, the other only on a subresource.
	kubectlCreate(t, "blue", `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"`+rbac+`"},
"rules":[{"apiGroups":["e2e-op.example.com"],"resources":["gizmos"],"verbs":["get","list","watch","update"]},
{"apiGroups":["e2e-op.example.com"],"resources":["gadgets/status"],"verbs":["get","update","patch"]}]}`)
	kubectlCreate(t, "blue", `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"`+rbac+`"},
"subjects":[{"kind":"ServiceAccount","name":"operator","namespace":"`+ns+`"}],
"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"`+rbac+`"}}`)

	// Its leader election in kube-system, as cert-manager's chart does: the
	// operator's grant there, which comes with it.
	kubectlCreate(t, "blue", `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"`+rbac+`:leaderelection","namespace":"kube-system"},
"rules":[{"apiGroups":["coordination.k8s.io"],"resources":["leases"],"verbs":["get","create","update","patch"]}]}`)
	kubectlCreate(t, "blue", `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"`+rbac+`:leaderelection","namespace":"kube-system"},
"subjects":[{"kind":"ServiceAccount","name":"operator","namespace":"`+ns+`"}],
"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"`+rbac+`:leaderelection"}}`)

	// One custom resource of the operator's, in its namespace.
	kubectlCreate(t, "blue", `{"apiVersion":"e2e-op.example.com/v1","kind":"Gizmo","metadata":{"name":"one","namespace":"`+ns+`"},"spec":{"size":1}}`)

	// plan says the CRDs are needed: the one without a custom resource
	// because the operator is granted on it, the other because it has one
	// and sync brings the operator along (a warning, not an error: sync
	// copies the operator's Deployment too).
	// (Exit 0 or 1: other CRDs of the lab may or may not be in green yet.)
	pr := tandem(t, "plan", "--source", "blue", "--target", "green", "--only", "crds", "-o", "json")
	var rep preflight.Report
	if err := json.Unmarshal([]byte(pr.stdout), &rep); err != nil || pr.code > 1 {
		t.Fatalf("plan --only crds: exit %d, %v\n%s%s", pr.code, err, pr.stdout, pr.stderr)
	}
	for _, name := range crds {
		fs := planFind(&rep, "crds", name, "")
		if len(fs) != 1 || !strings.Contains(fs[0].Message, "ServiceAccount "+ns+"/operator") || !strings.Contains(fs[0].Fix, ns) {
			t.Errorf("plan: CRD %s: %+v; want one finding naming the ServiceAccount and the selection that brings it", name, fs)
			continue
		}
		want := "no custom resources yet"
		if strings.HasPrefix(name, "gizmos.") {
			want = "has 1 Gizmo objects; sync copies the CRD, the objects and their controller Deployment.apps " + ns + "/operator"
		}
		if fs[0].Severity != preflight.Warning || !strings.Contains(fs[0].Message, want) {
			t.Errorf("plan: CRD %s: %s %q; want a warning saying %q", name, fs[0].Severity, fs[0].Message, want)
		}
	}

	plan, _ := syncJSON(t, t.TempDir(), 0, "--dry-run", "--namespace", ns)
	for _, name := range crds {
		s, ok := plan.find("CustomResourceDefinition", "", name)
		want := "by ClusterRole " + rbac + " (ClusterRoleBinding " + rbac + ") on " + name
		switch {
		case !ok:
			t.Errorf("CRD %s not in the dry run of --namespace %s", name, ns)
		case !strings.Contains(s.Why, want) || !strings.Contains(s.Why, "ServiceAccount "+ns+"/operator"):
			t.Errorf("CRD %s: why %q, want the chain from ServiceAccount %s/operator …%s", name, s.Why, ns, want)
		case s.Wave != "crds" || s.Status != "planned":
			t.Errorf("CRD %s: wave %q status %q, want crds, planned", name, s.Wave, s.Status)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, name := range crds {
		if g := kubectl(t, "--context", "green", "get", "crd", name, "--ignore-not-found", "-o", "name").stdout; g != "" {
			t.Errorf("dry run created CRD %s in green", name)
		}
	}

	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	for _, name := range crds {
		if r, ok := out.find("CustomResourceDefinition", "", name); !ok || (r.Status != "created" && r.Status != "updated") {
			t.Errorf("CRD %s: %+v (found %v); want created", name, r, ok)
		}
	}
	mustKubectl(t, append([]string{"--context", "green", "wait", "--for", "condition=established", "--timeout=60s"}, crdRefs(crds)...)...)
	for _, ref := range []string{"serviceaccount/operator", "deployment.apps/operator", "gizmos.e2e-op.example.com/one"} {
		if g := kubectl(t, "--context", "green", "-n", ns, "get", ref, "--ignore-not-found", "-o", "name").stdout; g == "" {
			t.Errorf("%s/%s not in green after sync", ns, ref)
		}
	}
	for _, kind := range []string{"Role", "RoleBinding"} {
		if r, ok := out.find(kind, "kube-system", rbac+":leaderelection"); !ok || r.Status != "created" {
			t.Errorf("%s kube-system/%s:leaderelection: %+v (found %v); want created with the operator", kind, rbac, r, ok)
		}
	}
	if g := kubectl(t, "--context", "green", "-n", "kube-system", "auth", "can-i", "update", "leases", "--as", "system:serviceaccount:"+ns+":operator").stdout; strings.TrimSpace(g) != "yes" {
		t.Errorf("the operator's ServiceAccount cannot update leases in green's kube-system: %q", g)
	}
}

// crdRefs names CRDs for kubectl: crd/NAME.
func crdRefs(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "crd/" + n
	}
	return out
}
