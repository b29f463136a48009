package sanitize

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeServiceAccount drops references to the token Secrets a pre-1.24
// cluster generated for it (<sa>-token-xxxxx, see legacyToken): those are not
// copied, so the references would dangle. A token Secret someone made is
// copied (sanitizeSecret), and so is the reference to it; imagePullSecrets
// are the user's and stay.
func sanitizeServiceAccount(obj *unstructured.Unstructured, _ Context) Decision {
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
