package preflight

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

// A CRD's controller comes along with a sync only when a workload of a
// namespace sync copies runs as the granted ServiceAccount.
func TestCopiedController(t *testing.T) {
	workload := func(kind, ns, name, sa string) *unstructured.Unstructured {
		spec := map[string]any{"containers": []any{map[string]any{"name": "c", "image": "i"}}}
		if sa != "" {
			spec["serviceAccountName"] = sa
		}
		return obj(map[string]any{"apiVersion": "apps/v1", "kind": kind, "metadata": map[string]any{"namespace": ns, "name": name},
			"spec": map[string]any{"template": map[string]any{"spec": spec}}})
	}
	grant := func(ns, sa string) plan.Grant {
		return plan.Grant{ServiceAccount: plan.ObjectKey{Kind: "ServiceAccount", Namespace: ns, Name: sa},
			CRD: plan.ObjectKey{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}}
	}
	// Flux binds one ClusterRole on all its CRDs to each of its controllers.
	through := func(g plan.Grant, binding string) plan.Grant {
		g.Binding = plan.ObjectKey{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: binding}
		g.Role = plan.ObjectKey{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "crd-controller"}
		return g
	}
	workloads := []*unstructured.Unstructured{
		workload("Deployment", "ops", "web", ""),                 // runs as default
		workload("Deployment", "ops", "operator", "operator"),    // the controller
		workload("DaemonSet", "kube-system", "agent", "agent"),   // sync does not copy kube-system
		workload("StatefulSet", "other", "operator", "operator"), // same name, another namespace
		workload("Deployment", "knative", "autoscaler", "controller"),
		workload("Deployment", "knative", "controller", "controller"), // both run as controller
		workload("Deployment", "flux", "source-controller", "source-controller"),
		workload("Deployment", "flux", "helm-controller", "helm-controller"),
	}
	for _, c := range []struct {
		name   string
		grants []plan.Grant
		want   string
	}{
		{"no grant", nil, ""},
		{"granted to a ServiceAccount no workload runs as", []plan.Grant{grant("ops", "idle")}, ""},
		{"granted in kube-system", []plan.Grant{grant("kube-system", "agent")}, ""},
		{"granted to the operator", []plan.Grant{grant("kube-system", "agent"), grant("ops", "operator")}, "Deployment.apps ops/operator"},
		{"granted to default", []plan.Grant{grant("ops", "default")}, "Deployment.apps ops/web"},
		{"granted to a ServiceAccount two workloads run as", []plan.Grant{grant("knative", "controller")},
			"Deployment.apps knative/autoscaler, Deployment.apps knative/controller"},
		{"one role granting it to several ServiceAccounts through one binding",
			[]plan.Grant{through(grant("flux", "helm-controller"), "crd-controller"), through(grant("flux", "source-controller"), "crd-controller")},
			"Deployment.apps flux/helm-controller, Deployment.apps flux/source-controller"},
		{"the same role through another binding is another grant",
			[]plan.Grant{through(grant("flux", "helm-controller"), "crd-controller"), through(grant("flux", "source-controller"), "other")},
			"Deployment.apps flux/helm-controller"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, g, ok := copiedController(workloads, c.grants)
			if ok != (c.want != "") || w != c.want {
				t.Errorf("got %q, %v; want %q", w, ok, c.want)
			}
			if ok && plan.SystemNamespace(g.ServiceAccount.Namespace) {
				t.Errorf("grant %+v of a system namespace", g)
			}
		})
	}
}
