package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeAPIService skips local APIServices (no spec.service): the target's
// apiserver registers one for every group it serves itself.
func sanitizeAPIService(obj *unstructured.Unstructured, _ Context) Decision {
	if asMap(obj.Object["spec"])["service"] == nil {
		return skip("local APIService served by the target's own apiserver")
	}
	return Decision{}
}
