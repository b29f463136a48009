package preflight

import (
	"context"
	"strings"
	"testing"
)

// A TargetGroupBinding written by hand names the source's target group:
// sync leaves it behind, and the plan says what the target needs instead;
// one the AWS Load Balancer Controller made for an Ingress is made again by
// the target's controller.
func TestExposureSaysWhatATargetGroupBindingNeeds(t *testing.T) {
	const arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web-blue/6d0ecf831eec9f09"
	env := envOf(
		map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding", "metadata": meta("web", "shop", nil, nil),
			"spec": map[string]any{"targetGroupARN": arn, "serviceRef": map[string]any{"name": "web", "port": int64(80)}}},
		map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
			"metadata": meta("k8s-shop-api-0a1b2c3d4e", "shop", map[string]any{"ingress.k8s.aws/stack-name": "api", "ingress.k8s.aws/stack-namespace": "shop"}, nil),
			"spec":     map[string]any{"targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/k8s-shop-api/0a1b2c3d4e", "serviceRef": map[string]any{"name": "api", "port": int64(80)}}},
	)
	fs, err := Exposure{}.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("findings %+v: want one per binding", fs)
	}
	byObject := map[string]Finding{}
	for _, f := range fs {
		byObject[f.Object] = f
	}
	hand := byObject["TargetGroupBinding.elbv2.k8s.aws shop/web"]
	if hand.Severity != Warning || !strings.Contains(hand.Message, "Service shop/web's pods in AWS target group "+arn) ||
		!strings.Contains(hand.Message, "sync does not copy it") || !strings.Contains(hand.Fix, "albingress://NAMESPACE/INGRESS?context=blue&blue="+arn+"&green=TARGET_GROUP_ARN") {
		t.Errorf("hand-written binding: %+v", hand)
	}
	made := byObject["TargetGroupBinding.elbv2.k8s.aws shop/k8s-shop-api-0a1b2c3d4e"]
	if made.Severity != Info || !strings.Contains(made.Message, "the target's controller makes its own") {
		t.Errorf("the controller's binding: %+v", made)
	}
	if got := (Exposure{}).Scope(env); !strings.Contains(got, "2 TargetGroupBindings") {
		t.Errorf("scope %q does not count the bindings", got)
	}
}

// A Gateway's load balancer (the Service its implementation makes for it:
// Envoy Gateway's, labelled with the Gateway's name; one a Gateway
// controls) is not an entry point of its own: the Gateway is, and is
// reported once. A LoadBalancer Service of an app's is.
func TestExposureReportsAGatewayNotItsLoadBalancer(t *testing.T) {
	lb := map[string]any{"type": "LoadBalancer", "ports": []any{map[string]any{"port": int64(80)}}}
	owned := meta("shop-gw-nginx", "shop", nil, nil)
	owned["ownerReferences"] = []any{map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "name": "shop-gw", "uid": "u1", "controller": true}}
	env := envOf(
		map[string]any{"apiVersion": "v1", "kind": "Service", "spec": lb,
			"metadata": meta("envoy-shop-shop-gw-3a7c2b1d", "envoy-gateway-system", map[string]any{"app.kubernetes.io/managed-by": "envoy-gateway",
				"gateway.envoyproxy.io/owning-gateway-name": "shop-gw", "gateway.envoyproxy.io/owning-gateway-namespace": "shop"}, nil)},
		map[string]any{"apiVersion": "v1", "kind": "Service", "spec": lb, "metadata": owned},
		map[string]any{"apiVersion": "v1", "kind": "Service", "spec": lb, "metadata": meta("web", "shop", nil, nil)},
		map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta("shop-gw", "shop", nil, nil),
			"spec": map[string]any{"gatewayClassName": "eg", "listeners": []any{map[string]any{"name": "http", "port": int64(80), "protocol": "HTTP", "hostname": "shop.example.com"}}}},
	)
	fs, err := Exposure{}.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Object)
	}
	want := []string{"Service shop/web", "Gateway.gateway.networking.k8s.io shop/shop-gw"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("entry points %q, want %q", got, want)
	}
}
