package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// Exposure lists how the source is reached from outside — LoadBalancer
// Services, Ingress hosts, Gateway listeners and routes, AWS target groups
// bound to Services: the entry points a shift must move, each with the
// router that can move it.
type Exposure struct{}

// Name is the check's name.
func (Exposure) Name() string { return "exposure" }

// Scope says what was read.
func (Exposure) Scope(env *Env) string {
	return fmt.Sprintf("%d Services, %d Ingresses, %d Gateways, %d HTTPRoutes, %d TargetGroupBindings",
		len(env.Of("", "Service")), len(env.Of("networking.k8s.io", "Ingress")), len(env.Of("gateway.networking.k8s.io", "Gateway")), len(env.Of("gateway.networking.k8s.io", "HTTPRoute")),
		len(env.Of("elbv2.k8s.aws", "TargetGroupBinding")))
}

// Run reports one info finding per entry point.
func (Exposure) Run(_ context.Context, env *Env) ([]Finding, error) {
	pair := env.Source.Context + "," + env.Target.Context
	var out []Finding
	add := func(o *unstructured.Unstructured, what, router string) {
		out = append(out, Finding{Severity: Info, Object: Ref(o), Message: what + ": traffic to it moves only when a router shifts it", Fix: "shift with " + router})
	}
	for _, o := range env.Of("", "Service") {
		if t, _, _ := unstructured.NestedString(o.Object, "spec", "type"); t != "LoadBalancer" || sanitize.GatewayInfra(o) != "" {
			continue // a Gateway's load balancer: its Gateway is the entry point, reported below
		}
		what := "LoadBalancer Service: the target's gets an address of its own"
		if addr := lbAddresses(o); addr != "" {
			what = "LoadBalancer Service at " + addr + ": the target's gets an address of its own"
		}
		router := "--router route53://ZONEID/HOST?" + weightsFor(env) + " (weighted records to each cluster's load balancer)"
		if hasPrefix(o.GetAnnotations(), "external-dns.alpha.kubernetes.io/") {
			router = fmt.Sprintf("--router externaldns://service/%s/%s?clusters=%s (it carries ExternalDNS annotations)", o.GetNamespace(), o.GetName(), pair)
		}
		add(o, what, router)
	}
	for _, o := range env.Of("networking.k8s.io", "Ingress") {
		hosts := ingressHosts(o)
		what := "Ingress for " + orAny(hosts)
		var router string
		switch {
		case ingressClass(o) == "alb" || hasPrefix(o.GetAnnotations(), "alb.ingress.kubernetes.io/"):
			router = "--router alb://LISTENER_RULE_ARN?" + weightsFor(env) + " (an AWS ALB rule with one target group per cluster)"
		case hasPrefix(o.GetAnnotations(), "external-dns.alpha.kubernetes.io/"):
			router = fmt.Sprintf("--router externaldns://ingress/%s/%s?clusters=%s (it carries ExternalDNS annotations)", o.GetNamespace(), o.GetName(), pair)
		default:
			router = "--router route53://ZONEID/" + firstOr(hosts, "HOST") + "?" + weightsFor(env) + " (DNS weighted records) or haproxy:///SOCKET?backend=NAME (a load balancer in front of both)"
		}
		add(o, what, router)
	}
	for _, o := range env.Of("gateway.networking.k8s.io", "Gateway") {
		var hosts []string
		ls, _, _ := unstructured.NestedSlice(o.Object, "spec", "listeners")
		for _, l := range ls {
			m, _ := l.(map[string]any)
			if h, _ := m["hostname"].(string); h != "" {
				hosts = append(hosts, h)
			}
		}
		add(o, "Gateway for "+orAny(uniq(hosts)), "--router route53://ZONEID/"+firstOr(uniq(hosts), "HOST")+"?"+weightsFor(env)+" (DNS weighted records to each cluster's Gateway address)")
	}
	for _, o := range env.Of("gateway.networking.k8s.io", "HTTPRoute") {
		hosts, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "hostnames")
		if len(hosts) == 0 {
			continue // served under its Gateway's hosts, reported there
		}
		add(o, "HTTPRoute for "+strings.Join(uniq(hosts), ", "), "the router of its Gateway (DNS weighted records per host)")
	}
	for _, o := range env.Of("elbv2.k8s.aws", "TargetGroupBinding") {
		out = append(out, targetGroupBinding(o, env))
	}
	return out, nil
}

// targetGroupBinding is what a TargetGroupBinding of the source asks of a
// move. Sync does not copy it (pkg/sanitize: it names the source's AWS
// target group). One the AWS Load Balancer Controller made for an Ingress
// or a Service (its stack labels) is made again by the target's controller
// for the copied Ingress or Service; one written by hand (infrastructure as
// code, seed 002) needs a target group of the target's own and a binding
// to it; one sharing its group between clusters (multiClusterTargetGroup)
// is bound in the target once the target is ready to serve.
func targetGroupBinding(o *unstructured.Unstructured, env *Env) Finding {
	arn, _, _ := unstructured.NestedString(o.Object, "spec", "targetGroupARN")
	svc, _, _ := unstructured.NestedString(o.Object, "spec", "serviceRef", "name")
	what := fmt.Sprintf("registers Service %s/%s's pods in %s", o.GetNamespace(), svc, sanitize.TargetGroupOf(o))
	if hasPrefix(o.GetLabels(), "ingress.k8s.aws/") || hasPrefix(o.GetLabels(), "service.k8s.aws/") {
		return Finding{Severity: Info, Object: Ref(o), Evidence: "labels",
			Message: what + ", made by the AWS Load Balancer Controller for an Ingress or Service: the target's controller makes its own (with a load balancer of its own) for the copied one",
			Fix:     "shift with --router route53://ZONEID/HOST?" + weightsFor(env) + " (DNS weighted records to each cluster's load balancer)"}
	}
	if shared, _, _ := unstructured.NestedBool(o.Object, "spec", "multiClusterTargetGroup"); shared {
		return Finding{Severity: Warning, Object: Ref(o),
			Message: what + ", shared between clusters (multiClusterTargetGroup); sync does not copy it (the target's pods would take part of its traffic at once)",
			Fix:     "once the target is ready to serve, create its binding to the same target group (multiClusterTargetGroup: true); traffic then splits by the number of targets in each cluster, not by weights"}
	}
	if arn == "" {
		arn = "SOURCE_TARGET_GROUP_ARN"
	}
	return Finding{Severity: Warning, Object: Ref(o),
		Message: what + "; sync does not copy it (the target's pods would join the source's target group, and each cluster's controller would deregister the other's)",
		Fix: fmt.Sprintf("before traffic moves, create a target group for the target and a TargetGroupBinding to it there; then shift between the two with --router albingress://NAMESPACE/INGRESS?context=%s&%s=%s&%s=TARGET_GROUP_ARN or alb://LISTENER_RULE_ARN?%s",
			env.Source.Context, env.Source.Context, arn, env.Target.Context, weightsFor(env))}
}

func weightsFor(env *Env) string {
	return env.Source.Context + "=VALUE&" + env.Target.Context + "=VALUE"
}

func ingressHosts(o *unstructured.Unstructured) []string {
	var hosts []string
	rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
	for _, r := range rules {
		m, _ := r.(map[string]any)
		if h, _ := m["host"].(string); h != "" {
			hosts = append(hosts, h)
		}
	}
	tls, _, _ := unstructured.NestedSlice(o.Object, "spec", "tls")
	for _, t := range tls {
		m, _ := t.(map[string]any)
		hs, _, _ := unstructured.NestedStringSlice(m, "hosts")
		hosts = append(hosts, hs...)
	}
	return uniq(hosts)
}

func ingressClass(o *unstructured.Unstructured) string {
	if c, _, _ := unstructured.NestedString(o.Object, "spec", "ingressClassName"); c != "" {
		return c
	}
	return o.GetAnnotations()["kubernetes.io/ingress.class"]
}

func lbAddresses(o *unstructured.Unstructured) string {
	var out []string
	ing, _, _ := unstructured.NestedSlice(o.Object, "status", "loadBalancer", "ingress")
	for _, i := range ing {
		m, _ := i.(map[string]any)
		for _, k := range []string{"hostname", "ip"} {
			if v, _ := m[k].(string); v != "" {
				out = append(out, v)
			}
		}
	}
	return strings.Join(out, ", ")
}

func hasPrefix(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// uniq sorts and deduplicates.
func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func orAny(hosts []string) string {
	if len(hosts) == 0 {
		return "any host"
	}
	return strings.Join(hosts, ", ")
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}
