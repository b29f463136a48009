package preflight

import (
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestUnansweredHooks(t *testing.T) {
	svc := &admissionv1.ServiceReference{Namespace: "mesh", Name: "injector"}
	policy := func(p admissionv1.FailurePolicyType) *admissionv1.FailurePolicyType { return &p }
	cases := []struct {
		kind    string
		policy  *admissionv1.FailurePolicyType
		standby bool
		sev     Severity
		says    [2]string // of one webhook, of three
	}{
		// Unset is Fail in admissionregistration/v1.
		{"ValidatingWebhookConfiguration", nil, false, Error, [2]string{"every request it matches is rejected", "every request they match is rejected"}},
		{"MutatingWebhookConfiguration", policy(admissionv1.Fail), false, Error, [2]string{"every request it matches is rejected", "every request they match is rejected"}},
		{"ValidatingWebhookConfiguration", policy(admissionv1.Ignore), false, Warning, [2]string{"pass unchecked by its policy", "pass unchecked by their policy"}},
		{"MutatingWebhookConfiguration", policy(admissionv1.Ignore), false, Warning, [2]string{"are not mutated by it (a sidecar or default it injects", "are not mutated by them (a sidecar or default they inject"}},
		{"ValidatingWebhookConfiguration", policy(admissionv1.Ignore), true, Info, [2]string{"the target is a standby", "the target is a standby"}},
		// A standby's configuration failing closed (changed by hand) still rejects.
		{"ValidatingWebhookConfiguration", policy(admissionv1.Fail), true, Error, [2]string{"every request it matches is rejected", "every request they match is rejected"}},
	}
	for _, c := range cases {
		for i, n := range []int{1, 3} {
			var hs []hook
			for j := range n {
				hs = append(hs, hook{config: "cfg", kind: c.kind, name: fmt.Sprintf("inject%d.mesh.example", j), service: svc, failurePolicy: c.policy, standby: c.standby})
			}
			f := unansweredHooks(hs)
			if f.Severity != c.sev || !strings.Contains(f.Message, c.says[i]) || !strings.Contains(f.Message, "mesh/injector") {
				t.Errorf("%s %v standby %v, %d webhooks: %s %q; want %s saying %q", c.kind, c.policy, c.standby, n, f.Severity, f.Message, c.sev, c.says[i])
			}
			if f.Object != "target "+c.kind+".admissionregistration.k8s.io cfg" {
				t.Errorf("object %q", f.Object)
			}
			if n > 1 && !strings.Contains(f.Message, "its 3 webhooks inject0.mesh.example, inject1.mesh.example, inject2.mesh.example call") {
				t.Errorf("%q: want every webhook named", f.Message)
			}
			if strings.Contains(f.Message, "timeout") {
				t.Errorf("%q: no endpoints fails at once, not after a timeout", f.Message)
			}
		}
	}
}

// A source webhook configuration or APIService served from kube-system is
// said to stay behind with its add-on; one served from an app's namespace
// is not.
func TestStaysBehind(t *testing.T) {
	api := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io"}, "spec": map[string]any{"service": map[string]any{"namespace": "kube-system", "name": "metrics-server"}}}}
	f, behind := staysBehind(api)
	if !behind || !strings.Contains(f.Message, "kube-system/metrics-server") || !strings.Contains(f.Fix, "--include-system") {
		t.Errorf("APIService from kube-system: %v %+v", behind, f)
	}
	hook := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": "shop"}, "webhooks": []any{map[string]any{"name": "a.example", "clientConfig": map[string]any{"service": map[string]any{"namespace": "shop", "name": "hook"}}}}}}
	if f, behind := staysBehind(hook); behind {
		t.Errorf("a webhook served from shop stays behind: %+v", f)
	}
}

// An APIService that is not available makes its group unchecked, but for
// the metrics APIs: they serve readings computed on request, never an
// object a check would read (a metrics-server that is down is common).
func TestUnavailableLeavesOutTheMetricsAPIs(t *testing.T) {
	api := func(group string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
			"metadata": map[string]any{"name": "v1beta1." + group},
			"spec":     map[string]any{"group": group, "version": "v1beta1", "service": map[string]any{"namespace": "kube-system", "name": "x"}},
			"status":   map[string]any{"conditions": []any{map[string]any{"type": "Available", "status": "False", "message": "no endpoints"}}}}}
	}
	got := unavailable([]*unstructured.Unstructured{api("metrics.k8s.io"), api("custom.metrics.k8s.io"), api("broken.example.com")}, nil)
	if len(got) != 1 || !strings.Contains(got[0].Resource, "broken.example.com/v1beta1") {
		t.Errorf("unchecked %+v; want broken.example.com/v1beta1 alone", got)
	}
}

// An APIService served from a namespace a standby parks is said, with the
// label that keeps it running; one from a system or an exempt namespace is not.
func TestParkedInStandby(t *testing.T) {
	api := func(ns string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
			"metadata": map[string]any{"name": "v1beta1.custom.metrics.k8s.io"},
			"spec":     map[string]any{"group": "custom.metrics.k8s.io", "version": "v1beta1", "service": map[string]any{"namespace": ns, "name": "prometheus-adapter"}}}}
	}
	exempt := map[string]bool{"monitoring": false, "agents": true}
	for ns, want := range map[string]bool{"monitoring": true, "kube-system": false, "agents": false} {
		f, parked := parkedInStandby(api(ns), exempt)
		if parked != want || (want && (f.Severity != Info || !strings.Contains(f.Message, "custom.metrics.k8s.io/v1beta1") || !strings.Contains(f.Fix, "label namespace "+ns))) {
			t.Errorf("served from %s: %v %+v; want said: %v", ns, parked, f, want)
		}
	}
}
