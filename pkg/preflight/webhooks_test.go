package preflight

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestUnansweredHook(t *testing.T) {
	svc := &admissionv1.ServiceReference{Namespace: "mesh", Name: "injector"}
	policy := func(p admissionv1.FailurePolicyType) *admissionv1.FailurePolicyType { return &p }
	cases := []struct {
		kind   string
		policy *admissionv1.FailurePolicyType
		sev    Severity
		says   string
	}{
		// Unset is Fail in admissionregistration/v1.
		{"ValidatingWebhookConfiguration", nil, Error, "every request it matches is rejected"},
		{"MutatingWebhookConfiguration", policy(admissionv1.Fail), Error, "every request it matches is rejected"},
		{"ValidatingWebhookConfiguration", policy(admissionv1.Ignore), Warning, "pass unchecked by its policy"},
		{"MutatingWebhookConfiguration", policy(admissionv1.Ignore), Warning, "are not mutated by it"},
	}
	for _, c := range cases {
		f := unansweredHook(hook{config: "cfg", kind: c.kind, name: "inject.mesh.example", service: svc, failurePolicy: c.policy})
		if f.Severity != c.sev || !strings.Contains(f.Message, c.says) || !strings.Contains(f.Message, "mesh/injector") {
			t.Errorf("%s %v: %s %q; want %s saying %q", c.kind, c.policy, f.Severity, f.Message, c.sev, c.says)
		}
		if f.Object != "target "+c.kind+".admissionregistration.k8s.io cfg" {
			t.Errorf("object %q", f.Object)
		}
		if strings.Contains(f.Message, "timeout") {
			t.Errorf("%q: no endpoints fails at once, not after a timeout", f.Message)
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
