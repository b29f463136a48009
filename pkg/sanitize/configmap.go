package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeConfigMap skips the certificate bundles a cluster's own
// components publish into every namespace: each holds the source's CA,
// which the target's pods must not trust in place of their own, and the
// target's publisher writes its own (a copy would fight it: a conflict in
// every namespace).
func sanitizeConfigMap(obj *unstructured.Unstructured, _ Context) Decision {
	switch name := obj.GetName(); {
	case name == "kube-root-ca.crt":
		return skip("published by the target's root-ca controller")
	case name == "openshift-service-ca.crt":
		// OpenShift's service CA bundle, injected in each namespace.
		return skip("published by the target's service CA (OpenShift)")
	case name == "istio-ca-root-cert" && obj.GetLabels()["istio.io/config"] == "true":
		// istio/istio pilot/pkg/serviceregistry/kube/controller
		// namespacecontroller.go: CACertNamespaceConfigMap, labelled
		// istio.io/config=true.
		return skip("published by the target's istiod (the mesh's root certificate)")
	case name == "istio-ca-crl" && obj.GetLabels()["istio.io/config"] == "true":
		// The same controller's CRLNamespaceConfigMap (a plugged-in CA's CRL).
		return skip("published by the target's istiod (its CA's revocation list)")
	}
	return Decision{}
}
