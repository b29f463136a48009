package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeStorageClass copies the class unchanged but flags a default one: with
// two defaults in the target, new claims get whichever was created last.
func sanitizeStorageClass(obj *unstructured.Unstructured, _ Context) Decision {
	if obj.GetAnnotations()["storageclass.kubernetes.io/is-default-class"] == "true" {
		return Decision{Notes: []string{"default StorageClass: check the target has no other default"}}
	}
	return Decision{}
}
