package drain

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"
)

func TestControllers(t *testing.T) {
	owner := map[string]string{}
	for _, c := range Controllers {
		for _, s := range c.Pods {
			if sel, err := labels.Parse(s); err != nil || sel.Empty() {
				t.Errorf("%s: selector %q: %v (empty %v)", c.Name, s, err, err == nil && sel.Empty())
			}
		}
		for _, v := range c.Classes {
			if prev, ok := owner[v]; ok {
				t.Errorf("class controller %q claimed by %s and %s", v, prev, c.Name)
			}
			owner[v] = c.Name
			if got, _ := controllerFor(v); got.Name != c.Name {
				t.Errorf("controllerFor(%q) = %q, want %q (an earlier entry's prefix shadows it)", v, got.Name, c.Name)
			}
		}
	}
}

// controllers names the controllers of reasons, sorted and deduplicated.
func controllers(rs []Reason) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		if !seen[r.Controller] {
			seen[r.Controller] = true
			out = append(out, r.Controller)
		}
	}
	sort.Strings(out)
	return out
}

func TestDefaultFirstMatchesControllerPods(t *testing.T) {
	first := DefaultFirst(nil)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   []string // controllers; none: not first
	}{
		{"ingress-nginx controller", map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/component": "controller"}, []string{"ingress-nginx"}},
		{"ingress-nginx admission job", map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "admission-webhook"}, nil},
		{"Traefik chart", map[string]string{"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-traefik"}, []string{"Traefik"}},
		{"Contour quickstart", map[string]string{"app": "contour"}, []string{"Contour"}},
		{"Contour quickstart Envoy", map[string]string{"app": "envoy"}, []string{"Contour"}},
		{"Contour Bitnami Envoy", map[string]string{"app.kubernetes.io/name": "contour", "app.kubernetes.io/component": "envoy"}, []string{"Contour"}},
		{"Contour provisioner Envoy", map[string]string{"app": "envoy-contour", "app.kubernetes.io/name": "contour", "projectcontour.io/owning-gateway-name": "contour"}, []string{"Contour"}},
		{"Envoy Gateway proxy", map[string]string{"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy", "gateway.envoyproxy.io/owning-gateway-name": "eg", "gateway.envoyproxy.io/owning-gateway-namespace": "default"}, []string{"Envoy", "Envoy Gateway"}},
		{"Envoy Gateway merged proxy", map[string]string{"gateway.envoyproxy.io/owning-gatewayclass": "eg"}, []string{"Envoy Gateway"}},
		{"Envoy Gateway controller", map[string]string{"control-plane": "envoy-gateway", "app.kubernetes.io/name": "gateway-helm"}, []string{"Envoy Gateway"}},
		{"HAProxy Ingress", map[string]string{"app.kubernetes.io/name": "haproxy-ingress"}, []string{"HAProxy Ingress"}},
		{"HAProxy Technologies", map[string]string{"app.kubernetes.io/name": "kubernetes-ingress", "app.kubernetes.io/instance": "haproxy"}, []string{"HAProxy Kubernetes Ingress"}},
		{"Istio ingressgateway", map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}, []string{"Istio"}},
		{"Istio Gateway API", map[string]string{"gateway.istio.io/managed": "istio.io-gateway-controller", "gateway.networking.k8s.io/gateway-name": "gw"}, []string{"Istio"}},
		{"Istio waypoint", map[string]string{"gateway.istio.io/managed": "istio.io-mesh-controller"}, nil},
		{"Istio egress gateway", map[string]string{"istio": "egressgateway"}, nil},
		{"Kong", map[string]string{"app.kubernetes.io/name": "kong", "app.kubernetes.io/component": "app"}, []string{"Kong"}},
		{"app", map[string]string{"app": "web", "app.kubernetes.io/name": "web"}, nil},
		{"no labels", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := first.Match(labels.Set(tc.labels))
			if diff := cmp.Diff(tc.want, controllers(got)); diff != "" {
				t.Errorf("Match(%v) controllers (-want +got):\n%s", tc.labels, diff)
			}
			for _, r := range got {
				if len(r.Classes) != 0 {
					t.Errorf("reason %v names classes, none were found", r)
				}
			}
		})
	}
}

func TestDefaultFirstClasses(t *testing.T) {
	classes := []Class{
		{Kind: "IngressClass", Name: "nginx", Controller: "k8s.io/ingress-nginx"},
		{Kind: "IngressClass", Name: "traefik", Controller: "traefik.io/ingress-controller"},
		{Kind: "IngressClass", Name: "haproxy", Controller: "haproxy.org/ingress-controller/haproxy"},
		{Kind: "IngressClass", Name: "alb", Controller: "ingress.k8s.aws/alb"},
		{Kind: "IngressClass", Name: "acme", Controller: "acme.io/ingress-controller"},
		{Kind: "IngressClass", Name: "lookalike", Controller: "haproxy.org/ingress-controllerX"},
		{Kind: "GatewayClass", Name: "contour", Controller: "projectcontour.io/projectcontour/contour"},
		{Kind: "GatewayClass", Name: "traefik", Controller: "traefik.io/gateway-controller"},
	}
	first := DefaultFirst(classes)
	want := []ClassFound{
		{Class: classes[0], KnownAs: "ingress-nginx", Outcome: ClassFirst},
		{Class: classes[1], KnownAs: "Traefik", Outcome: ClassFirst},
		{Class: classes[2], KnownAs: "HAProxy Kubernetes Ingress", Outcome: ClassFirst},
		{Class: classes[3], KnownAs: "AWS Load Balancer Controller", Outcome: ClassOffPath},
		{Class: classes[4], Outcome: ClassUnknown},
		{Class: classes[5], Outcome: ClassUnknown},
		{Class: classes[6], KnownAs: "Contour", Outcome: ClassFirst},
		{Class: classes[7], KnownAs: "Traefik", Outcome: ClassFirst},
	}
	if diff := cmp.Diff(want, first.Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	// Unknown and off-path classes add no rule: the same selectors as with no class at all.
	if got, base := len(first.Rules), len(DefaultFirst(nil).Rules); got != base {
		t.Errorf("%d rules with classes, %d without: classes must only explain, not add", got, base)
	}
	for _, tc := range []struct {
		labels map[string]string
		want   []Reason
	}{
		{map[string]string{"app.kubernetes.io/name": "traefik"}, []Reason{{Controller: "Traefik", Selector: "app.kubernetes.io/name=traefik", Classes: []string{"IngressClass traefik", "GatewayClass traefik"}}}},
		{map[string]string{"app": "envoy"}, []Reason{{Controller: "Contour", Selector: "app=envoy", Classes: []string{"GatewayClass contour"}}}},
		{map[string]string{"app.kubernetes.io/name": "kong"}, []Reason{{Controller: "Kong", Selector: "app.kubernetes.io/name=kong"}}},
		{map[string]string{"app": "acme-proxy"}, nil},
	} {
		if diff := cmp.Diff(tc.want, first.Match(labels.Set(tc.labels))); diff != "" {
			t.Errorf("Match(%v) (-want +got):\n%s", tc.labels, diff)
		}
	}
	if got, want := first.Match(labels.Set{"app.kubernetes.io/name": "traefik"})[0].String(), "Traefik via IngressClass traefik, GatewayClass traefik: label app.kubernetes.io/name=traefik"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

func TestExplicitFirst(t *testing.T) {
	sel, _ := labels.Parse("tier=edge")
	first := ExplicitFirst(sel)
	if got := first.Match(labels.Set{"app.kubernetes.io/name": "traefik"}); got != nil {
		t.Errorf("--first tier=edge matched a Traefik pod: %v", got)
	}
	want := []Reason{{Controller: FlagFirst, Selector: "tier=edge"}}
	if diff := cmp.Diff(want, first.Match(labels.Set{"tier": "edge"})); diff != "" {
		t.Errorf("Match (-want +got):\n%s", diff)
	}
	if len(first.Classes) != 0 {
		t.Errorf("explicit --first reports classes %v", first.Classes)
	}
	if !ExplicitFirst(labels.Everything()).Empty() || !ExplicitFirst(nil).Empty() {
		t.Error(`--first "" selects pods, want none`)
	}
}
