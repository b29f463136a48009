package sanitize

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeClusterTrustBundle skips bundles of the built-in kubernetes.io
// signers: the cluster publishes its own (e.g. kubernetes.io/kube-apiserver-serving,
// the apiserver's serving CA); copying them would make the target trust the
// source's CA under the target's signer name. Bundles of other signers are
// users' and are copied.
func sanitizeClusterTrustBundle(obj *unstructured.Unstructured, _ Context) Decision {
	signer, _, _ := unstructured.NestedString(obj.Object, "spec", "signerName")
	if strings.HasPrefix(signer, "kubernetes.io/") {
		return skip("trust bundle of the built-in signer " + signer + ": the target publishes its own")
	}
	return Decision{}
}
