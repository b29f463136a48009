package sanitize

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeServiceAccount drops references to the token Secrets a pre-1.24
// cluster generated for it (<sa>-token-xxxxx, see legacyToken): those are not
// copied, so the references would dangle. A token Secret someone made is
// copied (sanitizeSecret), and so is the reference to it; imagePullSecrets
// are the user's and stay.
//
// An account of the control plane's own controllers (the one its bootstrap
// RBAC binds: kube-system/deployment-controller…) is not copied: each
// cluster's control plane makes its own, and names them for its version.
func sanitizeServiceAccount(obj *unstructured.Unstructured, c Context) Decision {
	if c.ControlPlaneAccount != nil && c.ControlPlaneAccount(obj.GetNamespace(), obj.GetName()) {
		return skip("the control plane's own account (bound by its bootstrap RBAC): the target's control plane makes its own")
	}
	secrets, ok := obj.Object["secrets"].([]any)
	if !ok {
		return Decision{}
	}
	kept := secrets[:0:0]
	for _, s := range secrets {
		if name, _ := asMap(s)["name"].(string); !legacyToken(name, obj.GetName()) {
			kept = append(kept, s)
		}
	}
	setOrDelete(obj.Object, "secrets", kept)
	return Decision{}
}
