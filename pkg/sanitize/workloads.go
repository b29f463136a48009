package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeDeployment skips one that runs ExternalDNS (externaldns.go) and
// drops the revision counter: it numbers the source's ReplicaSets, which
// are not copied; the target's controller counts afresh.
func sanitizeDeployment(obj *unstructured.Unstructured, _ Context) Decision {
	if owner, ok := ExternalDNSOwner(obj); ok {
		return skipExternalDNS(owner)
	}
	removeAnnotations(obj, "deployment.kubernetes.io/revision")
	return Decision{}
}

// sanitizeDaemonSet skips one that runs ExternalDNS, as a Deployment, and
// drops the template generation the source's controller wrote.
func sanitizeDaemonSet(obj *unstructured.Unstructured, _ Context) Decision {
	if owner, ok := ExternalDNSOwner(obj); ok {
		return skipExternalDNS(owner)
	}
	removeAnnotations(obj, "deprecated.daemonset.template.generation")
	return Decision{}
}
