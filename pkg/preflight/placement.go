package preflight

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// Placement is the part of the capacity check that looks at one pod at a
// time: a workload whose nodeSelector or required node affinity matches no
// schedulable node of the target, whose pods tolerate none of the taints of
// the nodes that match, or whose one pod asks for more of a resource than
// any node has, stays Pending in the target however many nodes it has. It
// tests what kube-scheduler's NodeAffinity, TaintToleration and
// NodeResourcesFit filters test, with the same helpers, against each node's
// allocatable (an empty node: what the target runs already is the sum
// check's business).

// workloadOf names the workload a moving pod belongs to: a Deployment for a
// ReplicaSet's pod (the ReplicaSet's name is the Deployment's plus the
// pod-template-hash), its controller otherwise, the pod itself when it has none.
func workloadOf(pod *corev1.Pod) string {
	c := metav1.GetControllerOf(pod)
	if c == nil {
		return "Pod " + pod.Namespace + "/" + pod.Name
	}
	kind, name := c.Kind, c.Name
	if hash := pod.Labels["pod-template-hash"]; kind == "ReplicaSet" && hash != "" && strings.HasSuffix(name, "-"+hash) {
		kind, name = "Deployment", strings.TrimSuffix(name, "-"+hash)
	}
	return kind + " " + pod.Namespace + "/" + name
}

// unplaceable returns a warning for each workload of pods that no node of
// nodes (the target's schedulable ones) can run, saying why node by node as
// kube-scheduler's FailedScheduling event does.
func unplaceable(pods []*corev1.Pod, nodes []corev1.Node) []Finding {
	if len(nodes) == 0 {
		return nil // the sum check says the target has no room at all
	}
	seen := map[string]bool{}
	var out []Finding
	for _, pod := range pods {
		w := workloadOf(pod)
		if seen[w] {
			continue // one pod speaks for its workload: they share a template
		}
		seen[w] = true
		reasons := map[string]int{}
		fits := false
		for i := range nodes {
			why := notOn(pod, &nodes[i])
			if why == "" {
				fits = true
				break
			}
			reasons[why]++
		}
		if fits {
			continue
		}
		var parts []string
		for why, n := range reasons {
			parts = append(parts, fmt.Sprintf("%d %s", n, why))
		}
		sort.Strings(parts)
		out = append(out, Finding{Severity: Warning, Object: w,
			Message: fmt.Sprintf("no schedulable node of the target can run its pods: 0/%d nodes are available: %s", len(nodes), strings.Join(parts, "; ")),
			Fix:     "give the target nodes that match (labels, taints and sizes, or a node pool its autoscaler makes on demand), or change the workload's nodeSelector, affinity, tolerations or requests before traffic moves: otherwise its pods stay Pending there"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Object < out[j].Object })
	return out
}

// notOn says why node cannot run pod, first failing filter first, or "".
func notOn(pod *corev1.Pod, node *corev1.Node) string {
	if ok, err := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); err != nil || !ok {
		return "didn't match the pod's " + selectorText(pod)
	}
	noSchedule := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	if taint, ok := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, noSchedule, false); ok {
		return fmt.Sprintf("had untolerated taint %s", taintText(taint))
	}
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	names := make([]string, 0, len(req))
	for r := range req {
		names = append(names, string(r))
	}
	sort.Strings(names)
	for _, r := range names {
		q := req[corev1.ResourceName(r)]
		if q.IsZero() {
			continue
		}
		have := node.Status.Allocatable[corev1.ResourceName(r)]
		if q.Cmp(have) > 0 {
			return fmt.Sprintf("Insufficient %s (a pod requests %s, a node has %s)", r, q.String(), have.String())
		}
	}
	return ""
}

// selectorText names the node selection of pod: its nodeSelector's labels
// and whether it has a required node affinity.
func selectorText(pod *corev1.Pod) string {
	var parts []string
	if len(pod.Spec.NodeSelector) > 0 {
		keys := make([]string, 0, len(pod.Spec.NodeSelector))
		for k := range pod.Spec.NodeSelector {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + pod.Spec.NodeSelector[k]
		}
		parts = append(parts, "nodeSelector "+strings.Join(keys, ","))
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		parts = append(parts, "required node affinity")
	}
	if len(parts) == 0 {
		return "node affinity/selector"
	}
	return strings.Join(parts, " and ")
}

func taintText(t corev1.Taint) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + string(t.Effect)
}
