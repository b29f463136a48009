package drain

import "strings"

// Controller is an ingress or gateway controller whose pods go first.
type Controller struct {
	// Name is what the report calls it.
	Name string
	// Classes are the IngressClass spec.controller and GatewayClass
	// spec.controllerName values it answers to; a value also covers its
	// "/"-suffixed variants (haproxy.org/ingress-controller/haproxy).
	Classes []string
	// Pods are label selectors of its pods, looked for whether or not a
	// class names it. None: its data path is outside the cluster, nothing
	// to evict first.
	Pods []string
}

// Controllers is the table behind the default --first: each controller's
// class names and the labels its charts and manifests put on its pods.
var Controllers = []Controller{
	// kubernetes/ingress-nginx: the chart's selector labels (name, instance)
	// plus component=controller on the controller Deployment/DaemonSet, as in
	// deploy/static and the lab's seed; its IngressClass controller is the
	// default of --controller-class.
	{Name: "ingress-nginx", Classes: []string{"k8s.io/ingress-nginx"},
		Pods: []string{"app.kubernetes.io/component=controller,app.kubernetes.io/name=ingress-nginx"}},
	// nginx/kubernetes-ingress (F5 NGINX): its chart labels pods
	// app.kubernetes.io/name=nginx-ingress, deployments/ manifests app=nginx-ingress.
	{Name: "NGINX Ingress Controller", Classes: []string{"nginx.org/ingress-controller"},
		Pods: []string{"app.kubernetes.io/name=nginx-ingress", "app=nginx-ingress"}},
	// traefik/traefik-helm-chart: traefik.labelselector is
	// app.kubernetes.io/name=traefik (+ instance); k3s installs that chart.
	{Name: "Traefik", Classes: []string{"traefik.io/ingress-controller", "traefik.io/gateway-controller"},
		Pods: []string{"app.kubernetes.io/name=traefik"}},
	// projectcontour/contour: the quickstart (examples/contour) labels
	// app=contour and the Envoy DaemonSet app=envoy; the Bitnami chart labels
	// both app.kubernetes.io/name=contour (component contour/envoy); the
	// Gateway provisioner (internal/provisioner/model) labels its Contour and
	// Envoy workloads app.kubernetes.io/name=contour and
	// projectcontour.io/owning-gateway-name. Classes: projectcontour.io/ingress-controller,
	// projectcontour.io/gateway-controller, projectcontour.io/<namespace>/contour.
	{Name: "Contour", Classes: []string{"projectcontour.io"},
		Pods: []string{"app.kubernetes.io/name=contour", "app=contour", "app=envoy", "projectcontour.io/owning-gateway-name"}},
	// envoyproxy/gateway: managed proxies carry owning-gateway-name (or
	// owning-gatewayclass with merged Gateways); gateway-helm labels the
	// controller control-plane=envoy-gateway.
	{Name: "Envoy Gateway", Classes: []string{"gateway.envoyproxy.io/gatewayclass-controller"},
		Pods: []string{"gateway.envoyproxy.io/owning-gateway-name", "gateway.envoyproxy.io/owning-gatewayclass", "control-plane=envoy-gateway"}},
	// Envoy proxies by name: Envoy Gateway's proxies
	// (app.kubernetes.io/name=envoy, component proxy) and community Envoy charts.
	{Name: "Envoy", Pods: []string{"app.kubernetes.io/name=envoy"}},
	// jcmoraisjr/haproxy-ingress: haproxy-ingress/charts labels
	// app.kubernetes.io/name=haproxy-ingress; --controller-class adds "/<name>".
	{Name: "HAProxy Ingress", Classes: []string{"haproxy-ingress.github.io/controller"},
		Pods: []string{"app.kubernetes.io/name=haproxy-ingress"}},
	// haproxytech/kubernetes-ingress: haproxytech/helm-charts kubernetes-ingress
	// labels app.kubernetes.io/name=kubernetes-ingress; its IngressClass
	// controller is haproxy.org/ingress-controller/<class>.
	{Name: "HAProxy Kubernetes Ingress", Classes: []string{"haproxy.org/ingress-controller", "haproxy.org/gateway-controller"},
		Pods: []string{"app.kubernetes.io/name=kubernetes-ingress"}},
	// istio/istio: manifests/charts/gateways/istio-ingress and the gateway
	// chart installed as istio-ingressgateway label istio=ingressgateway; the
	// gateway chart labels istio=<release without "istio-">: istio=ingress
	// for the istio-ingress release Istio's documentation installs;
	// Gateway API deployments carry gateway.istio.io/managed=istio.io-gateway-controller
	// (waypoints, istio.io-mesh-controller, carry east-west traffic only: left out).
	{Name: "Istio", Classes: []string{"istio.io/ingress-controller", "istio.io/gateway-controller"},
		Pods: []string{"istio=ingressgateway", "istio=ingress", "gateway.istio.io/managed=istio.io-gateway-controller"}},
	// Kong/charts kong: app.kubernetes.io/name=kong (component app).
	{Name: "Kong", Classes: []string{"ingress-controllers.konghq.com/kong", "konghq.com/kic-gateway-controller", "konghq.com/gateway-operator"},
		Pods: []string{"app.kubernetes.io/name=kong"}},
	// Cloud load balancers that send traffic to pods or node ports
	// themselves: their controllers are not in the data path.
	// AWS Load Balancer Controller (IngressClass and its Gateway API classes).
	{Name: "AWS Load Balancer Controller", Classes: []string{"ingress.k8s.aws/alb", "gateway.k8s.aws/alb", "gateway.k8s.aws/nlb"}},
	// GKE Gateway controller.
	{Name: "GKE Gateway", Classes: []string{"networking.gke.io/gateway"}},
	// Azure Application Gateway Ingress Controller.
	{Name: "Azure Application Gateway", Classes: []string{"azure/application-gateway"}},
}

// controllerFor is the table's entry answering to a class's controller name.
func controllerFor(name string) (Controller, bool) {
	for _, c := range Controllers {
		for _, v := range c.Classes {
			if name == v || strings.HasPrefix(name, v+"/") {
				return c, true
			}
		}
	}
	return Controller{}, false
}
