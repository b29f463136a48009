package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

const (
	labelManagedBy   = "endpointslice.kubernetes.io/managed-by"
	labelServiceName = "kubernetes.io/service-name"
	// triggerTime is the annotation the endpoints and endpointslice
	// controllers write on what they maintain: when the source's pods
	// last changed. It stays on Endpoints whose Service lost its selector
	// (a person's from then on); copied, it conflicts with the target's
	// controller, which wrote its own while the target's copy of the
	// Service still had the selector.
	triggerTime = "endpoints.kubernetes.io/last-change-trigger-time"
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
	deleteKeys(obj.Object, []string{"metadata", "annotations"}, triggerTime)
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
	deleteKeys(obj.Object, []string{"metadata", "annotations"}, triggerTime)
	return Decision{}
}
