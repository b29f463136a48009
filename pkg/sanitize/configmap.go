package sanitize

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeConfigMap skips the certificate bundles a cluster's own
// components publish into every namespace: each holds the source's CA,
// which the target's pods must not trust in place of their own, and the
// target's publisher writes its own (a copy would fight it: a conflict in
// every namespace).
func sanitizeConfigMap(obj *unstructured.Unstructured, _ Context) Decision {
	if d, ok := skipLeaderLock(obj); ok {
		return d
	}
	name := obj.GetName()
	if reason, ok := controlPlaneConfigMaps[obj.GetNamespace()+"/"+name]; ok {
		return skip(reason)
	}
	if obj.GetNamespace() == "kube-system" && strings.HasPrefix(name, "kubelet-config-1.") {
		return skip(controlPlaneConfigMaps["kube-system/kubelet-config"])
	}
	switch {
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

// controlPlaneConfigMaps are what a cluster's control plane, its installer
// or its provider write in its own namespaces about that cluster. They are
// copied only when a system namespace is asked for (--include-system, or
// --namespace kube-system), and even then they are the target's own:
// copied, they would hand the target the source's CAs, its address, its
// installation's settings or its nodes' identities.
var controlPlaneConfigMaps = map[string]string{
	"kube-system/extension-apiserver-authentication":                   "published by the target's kube-apiserver (the client CAs its aggregated APIs trust)",
	"kube-system/kube-apiserver-legacy-service-account-token-tracking": "written by the target's kube-apiserver",
	"kube-public/cluster-info":                                         "published by the target's bootstrap signer (its CA and address, for nodes joining it)",
	"kube-system/kubeadm-config":                                       "the target's own kubeadm installation (its version, certificate names, networking)",
	"kube-system/kubelet-config":                                       "the target's own kubeadm installation (its kubelets' configuration)",
	// kubeadm's and EKS's kube-proxy configuration: its kubeconfig names
	// the cluster's API address.
	"kube-system/kube-proxy":        "the target's own kube-proxy configuration (it names its cluster's API address)",
	"kube-system/kube-proxy-config": "the target's own kube-proxy configuration",
	// EKS: the IAM roles of the source's nodes (and its people). Copied,
	// the target's nodes, whose role is their own, could no longer join.
	"kube-system/aws-auth": "EKS's map of IAM roles to the source's nodes and users: the target's nodes join with their own role; add the people and roles the target needs there (or use EKS access entries)",
}
