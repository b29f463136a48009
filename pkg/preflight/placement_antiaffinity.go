package preflight

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// A workload whose pods keep apart with a required pod anti-affinity on
// their own labels (one per host, one per zone) runs at most one pod per
// value of the topology key. Moved to a target with fewer such values among
// the nodes that can run it — three nodes where the source had six — the
// rest of its replicas stay Pending: kube-scheduler's InterPodAffinity
// filter says "didn't match pod anti-affinity rules" for every node.

// selfAntiAffinityKeys are the topology keys of pod's required
// anti-affinity terms that select pod itself: its own labels, in its own
// namespace (the term's default). A term whose namespaceSelector is not
// empty is left out: which namespaces it picks is not read here.
func selfAntiAffinityKeys(pod *corev1.Pod) []string {
	a := pod.Spec.Affinity
	if a == nil || a.PodAntiAffinity == nil {
		return nil
	}
	var keys []string
	for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if term.LabelSelector == nil || term.TopologyKey == "" {
			continue
		}
		// mismatchLabelKeys adds "key notin (the pod's value)" to the
		// selector when the apiserver creates the pod: a template's pod,
		// or one of a source that did not, lacks it, and it never selects
		// its own pod.
		if slices.ContainsFunc(term.MismatchLabelKeys, func(k string) bool { _, ok := pod.Labels[k]; return ok }) {
			continue
		}
		ownNamespace := len(term.Namespaces) == 0 && term.NamespaceSelector == nil ||
			slices.Contains(term.Namespaces, pod.Namespace) ||
			term.NamespaceSelector != nil && len(term.NamespaceSelector.MatchLabels) == 0 && len(term.NamespaceSelector.MatchExpressions) == 0
		sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		if err != nil || !ownNamespace || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		if !slices.Contains(keys, term.TopologyKey) {
			keys = append(keys, term.TopologyKey)
		}
	}
	return keys
}

// keptApart returns a finding when c's workload wants more replicas than
// the values of one of its self anti-affinity keys among the nodes (of
// nodes) that can run its pod; "" when it has room, or none such.
func keptApart(c placed, req corev1.ResourceList, nodes []corev1.Node) string {
	keys := selfAntiAffinityKeys(c.pod)
	if c.replicas < 2 || len(keys) == 0 {
		return ""
	}
	var fit []*corev1.Node
	for i := range nodes {
		if why, _, _ := notOn(c.pod, req, &nodes[i]); len(why) == 0 {
			fit = append(fit, &nodes[i])
		}
	}
keys:
	for _, key := range keys {
		var values []string
		for _, n := range fit {
			v, ok := n.Labels[key]
			if !ok {
				// kube-scheduler holds a term only on nodes with its
				// key: one without it takes every replica.
				continue keys
			}
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		if int(c.replicas) <= len(values) {
			continue
		}
		slices.Sort(values)
		shown := values
		if len(shown) > 5 {
			shown = append(shown[:5:5], "…")
		}
		where := "none"
		if len(values) > 0 {
			where = fmt.Sprintf("%d (%s)", len(values), strings.Join(shown, ", "))
		}
		return fmt.Sprintf("%d of its %d pods cannot be placed: its required pod anti-affinity keeps them one per %s, and the target's nodes that can run them have %s; the rest stay Pending (kube-scheduler: didn't match pod anti-affinity rules)",
			int(c.replicas)-len(values), c.replicas, key, where)
	}
	return ""
}
