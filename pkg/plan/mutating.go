package plan

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
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
	// NamespaceSelector and ObjectSelector are the webhook's (nil: every
	// namespace, every pod): Istio's injector takes a namespace by its
	// label, or one pod by its own.
	NamespaceSelector, ObjectSelector *metav1.LabelSelector
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
		var err error
		if m.NamespaceSelector, err = selector(hm, "namespaceSelector"); err != nil {
			continue // a selector the apiserver would not have stored
		}
		if m.ObjectSelector, err = selector(hm, "objectSelector"); err != nil {
			continue
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

// selector reads a webhook's label selector field: nil when it has none,
// or an empty one, which the apiserver stores for every v1 webhook that
// sets none and which matches everything.
func selector(hook map[string]any, field string) (*metav1.LabelSelector, error) {
	sel, ok := hook[field].(map[string]any)
	if !ok || len(sel) == 0 {
		return nil, nil
	}
	out := &metav1.LabelSelector{}
	return out, runtime.DefaultUnstructuredConverter.FromUnstructured(sel, out)
}

// SelectsNamespace says whether the webhook is called for the pods of a
// namespace with these labels.
func (m PodMutator) SelectsNamespace(ns labels.Set) bool { return selects(m.NamespaceSelector, ns) }

// SelectsPod says whether the webhook is called for a pod with these
// labels (its namespace aside).
func (m PodMutator) SelectsPod(pod labels.Set) bool { return selects(m.ObjectSelector, pod) }

// selects matches set against sel as the apiserver does a webhook's: nil
// is everything; a selector that does not parse matches nothing.
func selects(sel *metav1.LabelSelector, set labels.Set) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(set)
}
