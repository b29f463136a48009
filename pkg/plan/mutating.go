package plan

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// PodMutator is a webhook of a MutatingWebhookConfiguration that mutates
// pods as they are created: a sidecar injector (Istio's, Linkerd's, Vault's
// agent, Dapr's) or one adding defaults. A pod created before its
// configuration exists never goes through it: sync writes webhook
// configurations in its last wave, after the workloads whose pods the
// target starts at once.
type PodMutator struct {
	Name string
	// NamespaceSelector is the webhook's (nil: every namespace).
	NamespaceSelector *metav1.LabelSelector
	// Namespace and Service name the Service it calls ("" for a URL).
	Namespace, Service string
}

// PodMutators lists the webhooks of obj, a MutatingWebhookConfiguration,
// with a rule on creating pods (group "" or "*", resource pods, "*" or
// "*/*", operation CREATE or "*", scope not Cluster); nil for anything else.
func PodMutators(obj *unstructured.Unstructured) []PodMutator {
	if obj.GetKind() != "MutatingWebhookConfiguration" {
		return nil
	}
	hooks, _, _ := unstructured.NestedSlice(obj.Object, "webhooks")
	var out []PodMutator
	for _, h := range hooks {
		hm, _ := h.(map[string]any)
		rules, _, _ := unstructured.NestedSlice(hm, "rules")
		if !slices.ContainsFunc(rules, createsPods) {
			continue
		}
		name, _ := hm["name"].(string)
		m := PodMutator{Name: name}
		m.Namespace, _, _ = unstructured.NestedString(hm, "clientConfig", "service", "namespace")
		m.Service, _, _ = unstructured.NestedString(hm, "clientConfig", "service", "name")
		if sel, ok := hm["namespaceSelector"].(map[string]any); ok {
			m.NamespaceSelector = &metav1.LabelSelector{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, m.NamespaceSelector); err != nil {
				continue // a selector the apiserver would not have stored
			}
		}
		out = append(out, m)
	}
	return out
}

// createsPods says whether a webhook rule matches creating a pod.
func createsPods(rule any) bool {
	r, _ := rule.(map[string]any)
	has := func(field string, values ...string) bool {
		list, _, _ := unstructured.NestedStringSlice(r, field)
		return slices.ContainsFunc(list, func(v string) bool { return slices.Contains(values, v) })
	}
	scope, _ := r["scope"].(string)
	return has("apiGroups", "", "*") && has("resources", "pods", "*", "*/*") && has("operations", "CREATE", "*") &&
		(scope == "" || scope == "*" || scope == "Namespaced")
}
