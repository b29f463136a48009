package sanitize

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestClusterTrustBundle(t *testing.T) {
	bundle := func(signer string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "certificates.k8s.io/v1beta1", "kind": "ClusterTrustBundle",
			"metadata": map[string]any{"name": "b"},
			"spec":     map[string]any{"signerName": signer, "trustBundle": "-----BEGIN CERTIFICATE-----"},
		}}
	}
	if d := Object(bundle("kubernetes.io/kube-apiserver-serving"), Context{}); !d.Skip {
		t.Fatal("the apiserver's own serving bundle would be copied")
	}
	if d := Object(bundle("example.com/internal-ca"), Context{}); d.Skip {
		t.Fatalf("a user's trust bundle is skipped: %s", d.Reason)
	}
}
