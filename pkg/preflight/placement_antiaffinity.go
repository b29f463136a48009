package preflight

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A workload whose pods keep apart with a required pod anti-affinity on
// their own labels (one per host, one per zone) runs at most one pod per
// value of the topology key. Moved to a target with fewer such values among
// the nodes that can run it — three nodes where the source had six — the
// rest of its replicas stay Pending: kube-scheduler's InterPodAffinity
// filter says "didn't match pod anti-affinity rules" for every node.

// apartTerm is a topology key a workload's pods keep apart on.
type apartTerm struct {
	key string
	// perRevision: every such term has matchLabelKeys pod-template-hash,
	// so only the pods of one revision keep apart (a rollout's new pods
	// may share a node with the old).
	perRevision bool
}

// selfAntiAffinityKeys are the topology keys of pod's required
// anti-affinity terms that select pod itself: its own labels, in its own
// namespace (the term's default). A term whose namespaceSelector is not
// empty is left out: which namespaces it picks is not read here.
func selfAntiAffinityKeys(pod *corev1.Pod) []apartTerm {
	a := pod.Spec.Affinity
	if a == nil || a.PodAntiAffinity == nil {
		return nil
	}
	var out []apartTerm
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
		perRevision := slices.Contains(term.MatchLabelKeys, appsv1.DefaultDeploymentUniqueLabelKey)
		i := slices.IndexFunc(out, func(t apartTerm) bool { return t.key == term.TopologyKey })
		if i < 0 {
			out = append(out, apartTerm{key: term.TopologyKey, perRevision: perRevision})
		} else {
			out[i].perRevision = out[i].perRevision && perRevision
		}
	}
	return out
}

// surgesFirst says whether a Deployment's rolling update adds a pod before
// it removes one: maxUnavailable rounds down to 0 at its replicas (the
// default 25% does below 4), maxSurge up to more.
func surgesFirst(o *unstructured.Unstructured, replicas int32) bool {
	if t, _, _ := unstructured.NestedString(o.Object, "spec", "strategy", "type"); t == string(appsv1.RecreateDeploymentStrategyType) {
		return false
	}
	value := func(field string) intstr.IntOrString {
		v, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "strategy", "rollingUpdate", field)
		switch n := v.(type) {
		case int64: // as the apiserver's JSON decodes
			return intstr.FromInt32(int32(n))
		case float64:
			return intstr.FromInt32(int32(n))
		case string:
			return intstr.FromString(n)
		}
		return intstr.FromString("25%") // the default of both
	}
	unavailable, surge := value("maxUnavailable"), value("maxSurge")
	u, err1 := intstr.GetScaledValueFromIntOrPercent(&unavailable, int(replicas), false)
	s, err2 := intstr.GetScaledValueFromIntOrPercent(&surge, int(replicas), true)
	return err1 == nil && err2 == nil && u == 0 && s > 0
}

// keptApart says what c's workload lacks in the target when its own
// required anti-affinity keeps its pods apart: values of the key (among
// the nodes of nodes that can run its pod) for all its replicas, or, for a
// Deployment whose rollouts add a pod first, one value more for the
// rollout's new pod. "" when it has room, or keeps no pods apart.
func keptApart(c placed, req corev1.ResourceList, nodes []corev1.Node) (msg, fix string) {
	terms := selfAntiAffinityKeys(c.pod)
	if c.replicas < 1 || len(terms) == 0 {
		return "", ""
	}
	var fit []*corev1.Node
	for i := range nodes {
		if why, _, _ := notOn(c.pod, req, &nodes[i]); len(why) == 0 {
			fit = append(fit, &nodes[i])
		}
	}
terms:
	for _, term := range terms {
		var values []string
		for _, n := range fit {
			v, ok := n.Labels[term.key]
			if !ok {
				// kube-scheduler holds a term only on nodes with its
				// key: one without it takes every replica.
				continue terms
			}
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
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
		switch n := int(c.replicas); {
		case n > len(values):
			return fmt.Sprintf("%d of its %d pods cannot be placed: its required pod anti-affinity keeps them one per %s, and the target's nodes that can run them have %s; the rest stay Pending (kube-scheduler: didn't match pod anti-affinity rules)",
				n-len(values), n, term.key, where), fixApart
		case n == len(values) && c.surgesFirst && !term.perRevision:
			return fmt.Sprintf("its rollouts cannot progress in the target: a rolling update adds a pod before it removes one (maxUnavailable rounds to 0 at %d replicas), its required pod anti-affinity keeps old and new pods one per %s, and the target's nodes that can run them have %s, one per replica: the new pod stays Pending",
				n, term.key, where), fixRollout
		}
	}
	return "", ""
}
