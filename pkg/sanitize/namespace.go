package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// standbyLabel is the label tandem puts on a standby cluster's namespaces
// (pkg/standby.NamespaceLabel); it describes the source's role, not the target's.
const standbyLabel = "tandem.io/standby"

// sanitizeNamespace drops spec.finalizers: the target's apiserver adds its own
// "kubernetes" finalizer, and owning it through apply would block deletion
// there. It also drops the source's standby label (sync --standby sets the
// target's own).
func sanitizeNamespace(obj *unstructured.Unstructured, _ Context) Decision {
	deleteKeys(obj.Object, []string{"spec"}, "finalizers")
	deleteKeys(obj.Object, []string{"metadata", "labels"}, standbyLabel)
	return Decision{}
}
