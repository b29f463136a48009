package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeNamespace drops spec.finalizers: the target's apiserver adds its own
// "kubernetes" finalizer, and owning it through apply would block deletion there.
func sanitizeNamespace(obj *unstructured.Unstructured, _ Context) Decision {
	deleteKeys(obj.Object, []string{"spec"}, "finalizers")
	return Decision{}
}
