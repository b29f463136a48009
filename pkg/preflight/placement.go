package preflight

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/tandem-io/tandem/pkg/plan"
)

// Placement is the part of the capacity check that looks at one pod at a
// time (of each workload's template, or a pod of it): a workload whose nodeSelector or required node affinity matches no
// schedulable node of the target, whose pods tolerate none of the taints of
// the nodes that match, or whose one pod asks for more of a resource than
// any node has, stays Pending in the target however many nodes it has. It
// tests what kube-scheduler's NodeAffinity, TaintToleration and
// NodeResourcesFit filters test, with the same helpers, against each node's
// allocatable (an empty node: what the target runs already is the sum
// check's business).

// placed is one pod a move makes in the target, standing for its workload.
type placed struct {
	workload string // "Deployment shop/web"
	pod      *corev1.Pod
}

// templateKinds are the workloads whose pod template placement reads, with
// the path of the template: a workload scaled to 0 (a standby source, a
// CronJob between runs) has no pod to read, and its pods start in the
// target all the same.
var templateKinds = []struct {
	group, kind string
	path        []string
}{
	{"apps", "Deployment", []string{"spec", "template"}},
	{"apps", "StatefulSet", []string{"spec", "template"}},
	{"batch", "CronJob", []string{"spec", "jobTemplate", "spec", "template"}},
}

// placementCandidates returns one pod per workload the move recreates in
// the target: from the templates of templateKinds, then from the moving
// pods of any other workload (a Job's, an operator's ReplicaSet's, a bare
// pod). System namespaces are the target's own.
func placementCandidates(env *Env, moving []*corev1.Pod) []placed {
	var out []placed
	seen := map[string]bool{}
	for _, tk := range templateKinds {
		for _, o := range env.Of(tk.group, tk.kind) {
			if plan.SystemNamespace(o.GetNamespace()) {
				continue
			}
			raw, found, _ := unstructured.NestedMap(o.Object, tk.path...)
			if !found {
				continue
			}
			var tmpl corev1.PodTemplateSpec
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &tmpl); err != nil {
				continue
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: tmpl.Labels}, Spec: tmpl.Spec}
			defaultRequests(pod)
			w := tk.kind + " " + o.GetNamespace() + "/" + o.GetName()
			seen[w] = true
			out = append(out, placed{workload: w, pod: pod})
		}
	}
	for _, pod := range moving {
		if w := workloadOf(pod); !seen[w] {
			seen[w] = true
			out = append(out, placed{workload: w, pod: pod})
		}
	}
	return out
}

// defaultRequests sets each container's requests to its limits where it
// has none, as the apiserver does when it creates the pod from a template.
func defaultRequests(pod *corev1.Pod) {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			r := &cs[i].Resources
			for name, q := range r.Limits {
				if _, ok := r.Requests[name]; !ok {
					if r.Requests == nil {
						r.Requests = corev1.ResourceList{}
					}
					r.Requests[name] = q.DeepCopy()
				}
			}
		}
	}
}

// workloadOf names the workload a moving pod belongs to: a Deployment for a
// ReplicaSet's pod (the ReplicaSet's name is the Deployment's plus the
// pod-template-hash), its controller otherwise (a CronJob's Job as the
// Job), the pod itself when it has none.
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

// unplaceable returns a warning for each workload whose pod no node of
// nodes (the target's schedulable ones) can run, saying why node by node
// as kube-scheduler's FailedScheduling event does.
func unplaceable(cands []placed, nodes []corev1.Node) []Finding {
	if len(nodes) == 0 {
		return nil // the sum check says the target has no room at all
	}
	var out []Finding
	for _, c := range cands {
		reasons := map[string]int{}
		fits := false
		for i := range nodes {
			why := notOn(c.pod, &nodes[i])
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
		out = append(out, Finding{Severity: Warning, Object: c.workload,
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
