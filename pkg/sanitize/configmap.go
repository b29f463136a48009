package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeConfigMap skips kube-root-ca.crt: it holds the source's CA, which the
// target's pods must not trust in place of their own.
func sanitizeConfigMap(obj *unstructured.Unstructured, _ Context) Decision {
	if obj.GetName() == "kube-root-ca.crt" {
		return skip("published by the target's root-ca controller")
	}
	return Decision{}
}
