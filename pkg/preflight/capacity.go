package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/pager"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/tandem-io/tandem/pkg/plan"
)

// Capacity compares what the source's pods request with what the target's
// schedulable nodes can give: a target too small leaves the copied workloads
// Pending the moment traffic moves. It compares the sums, and each workload's
// pods with each node (placement.go).
type Capacity struct{}

// Name is the check's name.
func (Capacity) Name() string { return "capacity" }

// Scope says what was read.
func (Capacity) Scope(env *Env) string {
	return fmt.Sprintf("requests of %d source pods; node selectors, affinities, tolerations and one pod's requests of each workload (Deployment, StatefulSet and CronJob templates, other workloads' pods) against the target's schedulable nodes, and the hosts or zones replicas kept apart need", len(env.Of("", "Pod")))
}

// capacityResources are the resources always compared, in report order;
// any other that a source pod requests (ephemeral-storage, hugepages, a
// device plugin's) follows them.
var capacityResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods}

// comparedResources is capacityResources, then the other resources of need
// by name.
func comparedResources(need corev1.ResourceList) []corev1.ResourceName {
	out := slices.Clone(capacityResources)
	var more []corev1.ResourceName
	for r, q := range need {
		if !slices.Contains(capacityResources, r) && !q.IsZero() {
			more = append(more, r)
		}
	}
	slices.Sort(more)
	return append(out, more...)
}

// Run sums the source's requests and the target's allocatable.
func (Capacity) Run(ctx context.Context, env *Env) ([]Finding, error) {
	need := corev1.ResourceList{}
	var moving []*corev1.Pod
	for _, o := range env.Of("", "Pod") {
		pod, ok := movingPod(o)
		if !ok || !scheduledHere(pod) {
			continue
		}
		moving = append(moving, pod)
		addTo(need, resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
		addTo(need, corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")})
	}
	nodes, err := env.TargetNodes(ctx)
	if err != nil {
		return nil, err
	}
	have := corev1.ResourceList{}
	var schedulable []corev1.Node
	for _, n := range nodes {
		if n.Spec.Unschedulable || !nodeReady(&n) {
			continue
		}
		schedulable = append(schedulable, n)
		addTo(have, n.Status.Allocatable)
	}
	// What the target runs already and keeps: its system namespaces and the
	// namespaces the source does not have (a copy of the source's would be
	// replaced by the move, not added to).
	sourceNS := map[string]bool{}
	for _, ns := range env.Of("", "Namespace") {
		sourceNS[ns.GetName()] = true
	}
	// Page by page: a target that already runs a large platform has many
	// pods, and only their requests are summed.
	used := corev1.ResourceList{}
	podsOf := env.Target.Typed.CoreV1().Pods("")
	p := pager.New(pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) { return podsOf.List(ctx, opts) }))
	err = p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return fmt.Errorf("a %T in a list of pods", obj)
		}
		if terminal(pod) || (sourceNS[pod.Namespace] && !plan.SystemNamespace(pod.Namespace)) {
			return nil
		}
		addTo(used, resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
		addTo(used, corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pods in the target: %w", err)
	}
	var short, tight, fits []string
	for _, r := range comparedResources(need) {
		n, h, u := need[r], have[r], used[r]
		free := h.DeepCopy()
		free.Sub(u)
		line := fmt.Sprintf("%s: source requests %s, target allocatable %s (%s already requested there)", r, n.String(), h.String(), u.String())
		switch {
		case n.Cmp(h) > 0 && extendedResource(r):
			// A device plugin's: its DaemonSet may be among what sync copies.
			tight = append(tight, line+", until a device plugin there adds it")
		case n.Cmp(h) > 0:
			short = append(short, line)
		case n.Cmp(free) > 0:
			tight = append(tight, line)
		default:
			fits = append(fits, line)
		}
	}
	obj := fmt.Sprintf("target %s (%d schedulable nodes)", env.Target.Context, len(schedulable))
	sum := Finding{Severity: Info, Object: obj, Message: "room for the source's pods: " + strings.Join(fits, "; ")}
	switch {
	case len(short) > 0:
		sum = Finding{Severity: Error, Object: obj, Message: "too small for the source's pods: " + strings.Join(short, "; "),
			Fix: "add nodes to the target (or let its autoscaler grow) before sync starts the workloads; the numbers are the sum of the source's pod requests"}
	case len(tight) > 0:
		sum = Finding{Severity: Warning, Object: obj, Message: "fits the source's pods only if what the target runs already makes room: " + strings.Join(tight, "; "),
			Fix: "add nodes to the target, or check that its own workloads can shrink during the move"}
	}
	return append([]Finding{sum}, unplaceable(placementCandidates(env, moving), schedulable, onDemand(env.TargetServed))...), nil
}

// onDemand says how the target makes nodes for pods that no node can run
// yet, or "": Karpenter (EKS Auto Mode's too) serves NodePools.
func onDemand(target *Served) string {
	if target == nil {
		return ""
	}
	for _, gv := range target.Kinds["NodePool"] {
		if gv.Group == "karpenter.sh" {
			return "the target runs Karpenter (karpenter.sh NodePools): it makes a node for a pending pod when one of its NodePools allows one; check that one does"
		}
	}
	return ""
}

// movingPod converts a source pod that a move recreates in the target: not
// finished, not a node's own (static or DaemonSet pods follow the target's
// nodes), not in a system namespace.
func movingPod(o *unstructured.Unstructured) (*corev1.Pod, bool) {
	var pod corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &pod); err != nil {
		return nil, false
	}
	if terminal(&pod) || plan.SystemNamespace(pod.Namespace) || pod.Annotations[corev1.MirrorPodAnnotationKey] != "" {
		return nil, false
	}
	if c := metav1.GetControllerOf(&pod); c != nil && c.Kind == "DaemonSet" {
		return nil, false
	}
	return &pod, true
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// addTo adds each quantity of add into sum.
func addTo(sum, add corev1.ResourceList) {
	for name, q := range add {
		cur := sum[name]
		cur.Add(q)
		sum[name] = cur
	}
}
