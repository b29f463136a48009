package albingress

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/traffic"
)

const (
	blueTG  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/73e2d6bc24d8a067"
	greenTG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/1a2b3c4d5e6f7a8b"
)

func TestParseURL(t *testing.T) {
	c, err := ParseURL("albingress://shop/web?context=blue&blue=" + blueTG + "&green=" + greenTG + "&action=split&endpoint=http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "shop" || c.Ingress != "web" || c.Context != "blue" || c.Action != "split" || c.Region != "eu-west-1" || c.TargetGroups["green"] != greenTG {
		t.Fatalf("parsed %+v", c)
	}
	for _, raw := range []string{
		"albingress://shop?context=blue&blue=" + blueTG + "&green=" + greenTG,                 // no Ingress name
		"albingress://shop/web?blue=" + blueTG + "&green=" + greenTG,                          // no context
		"albingress://shop/web?context=blue&blue=" + blueTG,                                   // one cluster
		"albingress://shop/web?context=blue&blue=" + blueTG + "&green=tg-1",                   // not an ARN
		"albingress://shop/web?context=blue&blue=" + blueTG + "&green=" + greenTG + "&rule=r", // not a rule ARN
	} {
		if _, err := ParseURL(raw); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("ParseURL(%q) = %v, want invalid", raw, err)
		}
	}
}

func ingressWith(backends ...string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	var paths []networkingv1.HTTPIngressPath
	for _, b := range backends {
		name, port, _ := strings.Cut(b, ":")
		paths = append(paths, networkingv1.HTTPIngressPath{Path: "/" + name, Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Name: port}}}})
	}
	ing.Spec.Rules = []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}}
	return ing
}

func TestActionOf(t *testing.T) {
	if a, err := actionOf(ingressWith("split:use-annotation", "api:http"), ""); err != nil || a != "split" {
		t.Fatalf("the one use-annotation backend: %q %v", a, err)
	}
	for _, c := range []struct {
		ing  *networkingv1.Ingress
		want string
	}{
		{ingressWith("api:http"), ""},                             // no action at all
		{ingressWith("a:use-annotation", "b:use-annotation"), ""}, // ambiguous
		{ingressWith("a:use-annotation"), "b"},                    // named but unused
	} {
		if _, err := actionOf(c.ing, c.want); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("actionOf(%v, %q) = %v, want invalid", c.ing.Spec.Rules, c.want, err)
		}
	}
}

// The action keeps everything but the clusters' weights: stickiness, fields
// tandem does not know, target groups at 0 and their order.
func TestWithWeightsKeepsTheRestOfTheAction(t *testing.T) {
	r := &Router{cfg: Config{Namespace: "shop", Ingress: "web", Context: "blue", Action: "split", TargetGroups: map[string]string{"blue": blueTG, "green": greenTG}}}
	in := `{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"old","servicePort":"80","weight":0},{"targetGroupARN":"` + blueTG + `","weight":999}],` +
		`"targetGroupStickinessConfig":{"enabled":true,"durationSeconds":200}},"futureField":"kept"}`
	var action map[string]any
	if err := json.Unmarshal([]byte(in), &action); err != nil {
		t.Fatal(err)
	}
	out, err := r.withWeights(action, map[string]int{"blue": 50, "green": 50})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	got := string(b)
	for _, want := range []string{`"futureField":"kept"`, `"durationSeconds":200`, `{"serviceName":"old","servicePort":"80","weight":0}`,
		`{"targetGroupARN":"` + blueTG + `","weight":500}`, `{"targetGroupARN":"` + greenTG + `","weight":500}`} {
		if !strings.Contains(got, want) {
			t.Errorf("annotation %s\nlacks %s", got, want)
		}
	}
	if strings.Index(got, `"serviceName":"old"`) > strings.Index(got, blueTG) {
		t.Errorf("the target groups' order changed: %s", got)
	}

	for _, bad := range []string{
		`{"type":"redirect","redirectConfig":{"statusCode":"HTTP_301"}}`,
		`{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"other","servicePort":"80","weight":10}]}}`,
	} {
		action = nil
		if err := json.Unmarshal([]byte(bad), &action); err != nil {
			t.Fatal(err)
		}
		if _, err := r.withWeights(action, map[string]int{"blue": 0, "green": 100}); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("withWeights(%s) = %v, want invalid", bad, err)
		}
	}
}
