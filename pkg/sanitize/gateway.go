package sanitize

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// What a Gateway API implementation that runs in the cluster makes for a
// Gateway (its proxy's Deployment, Service, ServiceAccount, HPA, its
// configuration): the target's implementation makes its own, under the
// same names. What carries a controller reference (NGINX Gateway Fabric's,
// Cilium's, Kong's) is skipped as any controller's; gatewayInfra tells
// the rest apart, by the labels each implementation sets (read in their
// sources, at Envoy Gateway v1.9, Contour v1.33, Istio 1.30):
//
//   - GEP-1762's gateway-name label (gateway-api.sigs.k8s.io/geps/gep-1762
//     requires it on everything an in-cluster implementation generates),
//     naming the Gateway that owns it
//     without a controller reference (Istio), or beside the
//     implementation's own label naming the same Gateway (Contour's
//     provisioner, which sets no owner reference at all);
//   - Envoy Gateway's, which in its default mode makes them in its own
//     namespace, owned by the GatewayClass: managed-by envoy-gateway, and
//     its owning-gateway (or, with merged gateways, owning-gatewayclass)
//     labels.
//
// A user's object labelled for a Gateway (a PodDisruptionBudget beside
// the proxy, matched by the label) has none of the pairs, and is copied.
var gatewayKind = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "Gateway"}

const (
	gatewayNameLabel = "gateway.networking.k8s.io/gateway-name"
	// contourGatewayLabel is Contour's provisioner's own label.
	contourGatewayLabel = "projectcontour.io/owning-gateway-name"
	// Envoy Gateway's labels on what it makes.
	envoyGatewayName      = "gateway.envoyproxy.io/owning-gateway-name"
	envoyGatewayNamespace = "gateway.envoyproxy.io/owning-gateway-namespace"
	envoyGatewayClass     = "gateway.envoyproxy.io/owning-gatewayclass"
	managedByLabel        = "app.kubernetes.io/managed-by"
)

// GatewayInfra says what obj was made for ("made for Gateway shop-gw by
// its implementation (…)"), "" when it is not a Gateway's infrastructure:
// sync leaves it to the target's implementation, and plan reports its
// Gateway as the entry point, not its load balancer.
func GatewayInfra(obj *unstructured.Unstructured) string {
	if c := metav1.GetControllerOfNoCopy(obj); c != nil && schema.FromAPIVersionAndKind(c.APIVersion, c.Kind).GroupKind() == gatewayKind {
		return fmt.Sprintf("made for Gateway %s by its implementation (owned by it)", c.Name)
	}
	return gatewayInfra(obj)
}

// gatewayInfra is GatewayInfra for what is not controlled by its Gateway
// (sync skips what a controller owns already, saying so).
func gatewayInfra(obj *unstructured.Unstructured) string {
	l := obj.GetLabels()
	if gw := l[gatewayNameLabel]; gw != "" {
		for _, ref := range obj.GetOwnerReferences() {
			if schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind).GroupKind() == gatewayKind && ref.Name == gw {
				return fmt.Sprintf("made for Gateway %s by its implementation (labelled with its name, owned by it)", gw)
			}
		}
		if l[contourGatewayLabel] == gw {
			return fmt.Sprintf("made for Gateway %s by Contour's provisioner (labelled with its name)", gw)
		}
	}
	if l[managedByLabel] != "envoy-gateway" {
		return ""
	}
	if gw, ns := l[envoyGatewayName], l[envoyGatewayNamespace]; gw != "" && ns != "" {
		return fmt.Sprintf("made for Gateway %s/%s by Envoy Gateway (labelled with its name)", ns, gw)
	}
	if class := l[envoyGatewayClass]; class != "" {
		return fmt.Sprintf("made for the Gateways of GatewayClass %s by Envoy Gateway (labelled with its name)", class)
	}
	return ""
}
