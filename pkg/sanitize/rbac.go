package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// BootstrapRBAC says whether labels are those of the RBAC objects the
// apiserver bootstraps in every cluster (admin, edit, view, system:…).
func BootstrapRBAC(labels map[string]string) bool {
	return labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
}

// sanitizeRBAC skips bootstrap RBAC: the target's apiserver reconciles its own,
// at its own version, on every start.
func sanitizeRBAC(obj *unstructured.Unstructured, _ Context) Decision {
	if BootstrapRBAC(obj.GetLabels()) {
		return skip("bootstrap RBAC: the target's apiserver creates its own")
	}
	return Decision{}
}

// sanitizeClusterRole also drops the rules of an aggregated ClusterRole: the
// target's aggregation controller fills them, and owning them would fight it.
func sanitizeClusterRole(obj *unstructured.Unstructured, c Context) Decision {
	if d := sanitizeRBAC(obj, c); d.Skip {
		return d
	}
	if obj.Object["aggregationRule"] != nil {
		delete(obj.Object, "rules")
	}
	return Decision{}
}
