package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

const (
	labelManagedBy   = "endpointslice.kubernetes.io/managed-by"
	labelServiceName = "kubernetes.io/service-name"
)

// sanitizeEndpoints skips Endpoints the target's controllers compute; Endpoints
// of selector-less Services are written by users and are copied.
func sanitizeEndpoints(obj *unstructured.Unstructured, c Context) Decision {
	ns, name := obj.GetNamespace(), obj.GetName()
	if isAPIServerObject(ns, name) {
		return skip("the apiserver's own endpoints: the target's apiserver publishes its own")
	}
	if c.serviceHasSelector(ns, name) {
		return skip("maintained by the target's endpoints controller")
	}
	if d, ok := skipLeaderLock(obj); ok {
		return d
	}
	return Decision{}
}

// sanitizeEndpointSlice skips slices a controller maintains, so only slices
// users wrote for selector-less Services are copied.
func sanitizeEndpointSlice(obj *unstructured.Unstructured, c Context) Decision {
	labels := obj.GetLabels()
	switch labels[labelManagedBy] {
	case "endpointslice-controller.k8s.io":
		return skip("maintained by the target's endpointslice controller")
	case "endpointslicemirroring-controller.k8s.io":
		return skip("mirrored from Endpoints by the target's endpointslice-mirroring controller")
	}
	svc, ok := labels[labelServiceName]
	if !ok {
		return Decision{}
	}
	if isAPIServerObject(obj.GetNamespace(), svc) {
		return skip("the apiserver's own endpoints: the target's apiserver publishes its own")
	}
	if c.serviceHasSelector(obj.GetNamespace(), svc) {
		return skip("maintained by the target's endpointslice controller")
	}
	return Decision{}
}
