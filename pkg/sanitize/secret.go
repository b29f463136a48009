package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeSecret skips Secrets whose contents are credentials for the source
// cluster itself: they would not authenticate against the target.
func sanitizeSecret(obj *unstructured.Unstructured, _ Context) Decision {
	switch t, _ := obj.Object["type"].(string); t {
	case "kubernetes.io/service-account-token":
		return skip("service-account token: the target issues its own")
	case "bootstrap.kubernetes.io/token":
		return skip("bootstrap token: it joins nodes to the source cluster")
	}
	return Decision{}
}
