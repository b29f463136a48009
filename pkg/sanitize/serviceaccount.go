package sanitize

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeServiceAccount drops references to legacy auto-created token Secrets:
// those Secrets are not copied, so the references would dangle.
// imagePullSecrets are the user's and stay.
func sanitizeServiceAccount(obj *unstructured.Unstructured, _ Context) Decision {
	secrets, ok := obj.Object["secrets"].([]any)
	if !ok {
		return Decision{}
	}
	prefix := obj.GetName() + "-token-"
	kept := secrets[:0:0]
	for _, s := range secrets {
		if name, _ := asMap(s)["name"].(string); !strings.HasPrefix(name, prefix) {
			kept = append(kept, s)
		}
	}
	setOrDelete(obj.Object, "secrets", kept)
	return Decision{}
}
