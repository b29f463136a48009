package standby

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// webhookConfig is a configuration with a webhook served from shop
// (failurePolicy unset: Fail), one from shop that already fails open, one
// from kube-system and one called by URL.
func webhookConfig(kind string) *unstructured.Unstructured {
	svc := func(ns string) map[string]any {
		return map[string]any{"service": map[string]any{"namespace": ns, "name": "hook"}}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": map[string]any{"name": "guard"},
		"webhooks": []any{
			map[string]any{"name": "a.shop.example", "clientConfig": svc("shop")},
			map[string]any{"name": "b.shop.example", "clientConfig": svc("shop"), "failurePolicy": "Ignore"},
			map[string]any{"name": "c.system.example", "clientConfig": svc("kube-system"), "failurePolicy": "Fail"},
			map[string]any{"name": "d.url.example", "clientConfig": map[string]any{"url": "https://hooks.example/d"}, "failurePolicy": "Fail"},
		}}}
}

func policies(o *unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	for _, w := range o.Object["webhooks"].([]any) {
		wm := w.(map[string]any)
		out[wm["name"].(string)] = wm["failurePolicy"]
	}
	return out
}

// The standby form makes a parked namespace's webhooks fail open and
// records what they were; activating gives it back.
func TestWebhooksFailOpenInStandby(t *testing.T) {
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		t.Run(kind, func(t *testing.T) {
			o := webhookConfig(kind)
			d := Transform(o, nil)
			if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "webhooks a.shop.example fail open") {
				t.Errorf("notes %v", d.Notes)
			}
			want := map[string]any{"a.shop.example": "Ignore", "b.shop.example": "Ignore", "c.system.example": "Fail", "d.url.example": "Fail"}
			if diff := cmp.Diff(want, policies(o)); diff != "" {
				t.Errorf("standby form's policies (-want +got):\n%s", diff)
			}
			if got := o.GetAnnotations()[FailurePolicyAnnotation]; got != `{"a.shop.example":"Fail"}` {
				t.Errorf("%s = %q", FailurePolicyAnnotation, got)
			}

			// A standby of a standby keeps the record, and is not parked twice.
			again := o.DeepCopy()
			Transform(again, nil)
			if diff := cmp.Diff(o.Object, again.Object); diff != "" {
				t.Errorf("standby form transformed again (-before +after):\n%s", diff)
			}
			if p, _ := parkWebhooksPatch(o, anyParked); p != nil {
				t.Errorf("park patch of a parked configuration: %v", p)
			}

			// Activate's patch restores the recorded policy and drops the record.
			patch, _ := restoreWebhooksPatch(o)
			restored := o.DeepCopy()
			restored.Object["webhooks"] = patch["webhooks"]
			// (Fail where it was unset: the apiserver's default, which a live object shows.)
			wantRestored := map[string]any{"a.shop.example": "Fail", "b.shop.example": "Ignore", "c.system.example": "Fail", "d.url.example": "Fail"}
			if diff := cmp.Diff(wantRestored, policies(restored)); diff != "" {
				t.Errorf("restored policies (-want +got):\n%s", diff)
			}
			if a := patch["metadata"].(map[string]any)["annotations"].(map[string]any); a[FailurePolicyAnnotation] != nil {
				t.Errorf("restore keeps the record: %v", a)
			}
			if policies(o)["a.shop.example"] != "Ignore" {
				t.Errorf("restoreWebhooksPatch changed the object it read")
			}
		})
	}
}

// Deactivate parks only the webhooks of the namespaces it parks.
func TestParkWebhooksPatchOfNamedNamespaces(t *testing.T) {
	o := webhookConfig("ValidatingWebhookConfiguration")
	if p, _ := parkWebhooksPatch(o, func(ns string) bool { return ns == "other" }); p != nil {
		t.Errorf("patch for webhooks of namespaces not parked: %v", p)
	}
	p, what := parkWebhooksPatch(o, func(ns string) bool { return ns == "shop" })
	if p == nil || !strings.Contains(what, "a.shop.example") {
		t.Fatalf("patch %v (%q); want a.shop.example to fail open", p, what)
	}
	parked := o.DeepCopy()
	parked.Object["webhooks"] = p["webhooks"]
	if got := policies(parked); got["a.shop.example"] != "Ignore" || got["c.system.example"] != "Fail" {
		t.Errorf("parked policies %v", got)
	}
	rec, _ := p["metadata"].(map[string]any)["annotations"].(map[string]any)[FailurePolicyAnnotation].(string)
	var orig map[string]string
	if err := json.Unmarshal([]byte(rec), &orig); err != nil || orig["a.shop.example"] != "Fail" || len(orig) != 1 {
		t.Errorf("record %q (%v)", rec, err)
	}
	if policies(o)["a.shop.example"] != nil {
		t.Errorf("parkWebhooksPatch changed the object it read")
	}
	o.SetLabels(map[string]string{ExemptLabel: "true"})
	if p, _ := parkWebhooksPatch(o, func(ns string) bool { return ns == "shop" }); p != nil {
		t.Errorf("patch for a configuration labelled %s: %v", ExemptLabel, p)
	}
}

// Activate restores the pod mutators of a configuration first, once their
// backends run, and keeps the record of the others for its last pass.
func TestRestorePodMutatorsFirst(t *testing.T) {
	rule := func(resource string) []any {
		return []any{map[string]any{"apiGroups": []any{"", "apps"}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE"}, "resources": []any{resource}}}
	}
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
		"metadata": map[string]any{"name": "mesh", "annotations": map[string]any{FailurePolicyAnnotation: `{"inject.mesh.example":"Fail","defaults.apps.example":"Fail"}`}},
		"webhooks": []any{
			map[string]any{"name": "inject.mesh.example", "failurePolicy": "Ignore", "rules": rule("pods")},
			map[string]any{"name": "defaults.apps.example", "failurePolicy": "Ignore", "rules": rule("deployments")},
		}}}
	patch, what := restorePodMutatorsPatch(o)
	if patch == nil || !strings.Contains(what, "inject.mesh.example") {
		t.Fatalf("patch %v (%q): want the pod mutator restored", patch, what)
	}
	got := policies(&unstructured.Unstructured{Object: map[string]any{"webhooks": patch["webhooks"]}})
	if want := map[string]any{"inject.mesh.example": "Fail", "defaults.apps.example": "Ignore"}; !cmp.Equal(got, want) {
		t.Errorf("policies after the first pass: %s", cmp.Diff(want, got))
	}
	rest := patch["metadata"].(map[string]any)["annotations"].(map[string]any)[FailurePolicyAnnotation]
	if rest != `{"defaults.apps.example":"Fail"}` {
		t.Errorf("record left for the last pass: %v", rest)
	}
	// Nothing of a pod mutator left to restore: no patch.
	o.SetAnnotations(map[string]string{FailurePolicyAnnotation: `{"defaults.apps.example":"Fail"}`})
	if patch, _ := restorePodMutatorsPatch(o); patch != nil {
		t.Errorf("a second first pass patches %v", patch)
	}
}
