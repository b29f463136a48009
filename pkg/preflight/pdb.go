package preflight

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PDB finds what will block or lose data when the source's nodes are
// drained: PodDisruptionBudgets that allow no eviction, pods without a
// controller (a drain refuses them: nothing would recreate them), and pods
// with emptyDir or hostPath volumes (their data stays behind).
type PDB struct{}

// Name is the check's name.
func (PDB) Name() string { return "pdb" }

// Scope says what was read.
func (PDB) Scope(env *Env) string {
	return fmt.Sprintf("%d PodDisruptionBudgets against Deployments and StatefulSets and, as their status says, the pods they select; volumes and controllers of %d pods", len(env.Of("policy", "PodDisruptionBudget")), len(env.Of("", "Pod")))
}

// Workload is a controller's pod template labels and replicas.
type Workload struct {
	Ref      string
	Labels   map[string]string
	Replicas int32
}

// workloads indexes the source's Deployments and StatefulSets by namespace.
func workloads(env *Env) map[string][]Workload {
	out := map[string][]Workload{}
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		for _, o := range env.Of("apps", kind) {
			lbls, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
			replicas := int64(1)
			if r, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); found {
				replicas = r
			}
			out[o.GetNamespace()] = append(out[o.GetNamespace()], Workload{Ref: kind + " " + o.GetNamespace() + "/" + o.GetName(), Labels: lbls, Replicas: int32(replicas)})
		}
	}
	return out
}

// DrainBlock says whether pdb blocks a drain of the workloads it selects,
// and why; the reasons name the workloads.
func DrainBlock(pdb *policyv1.PodDisruptionBudget, candidates []Workload) (bool, string) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || pdb.Spec.Selector == nil {
		return false, ""
	}
	var matched []Workload
	for _, w := range candidates {
		if !sel.Empty() && sel.Matches(labels.Set(w.Labels)) {
			matched = append(matched, w)
		}
	}
	if len(matched) == 0 {
		return false, ""
	}
	var reasons []string
	for _, w := range matched {
		if mu := pdb.Spec.MaxUnavailable; mu != nil {
			v, err := intstr.GetScaledValueFromIntOrPercent(mu, int(w.Replicas), true)
			if err == nil && v == 0 {
				reasons = append(reasons, fmt.Sprintf("%s (maxUnavailable %s: no pod may be evicted)", w.Ref, mu.String()))
			}
		}
		if ma := pdb.Spec.MinAvailable; ma != nil {
			v, err := intstr.GetScaledValueFromIntOrPercent(ma, int(w.Replicas), true)
			if err == nil && int32(v) >= w.Replicas {
				reasons = append(reasons, fmt.Sprintf("%s (minAvailable %s ≥ %d replicas)", w.Ref, ma.String(), w.Replicas))
			}
		}
	}
	if len(reasons) == 0 {
		return false, ""
	}
	return true, strings.Join(reasons, ", ")
}

// Run checks every PDB of the source.
func (PDB) Run(_ context.Context, env *Env) ([]Finding, error) {
	byNS := workloads(env)
	var out []Finding
	for _, o := range env.Of("policy", "PodDisruptionBudget") {
		var pdb policyv1.PodDisruptionBudget
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &pdb); err != nil {
			return out, fmt.Errorf("%s: %w", Ref(o), err)
		}
		blocks, why := DrainBlock(&pdb, byNS[o.GetNamespace()])
		if !blocks {
			blocks, why = blockedNow(&pdb, env.Of("", "Pod"))
		}
		if blocks {
			out = append(out, Finding{Severity: Warning, Object: Ref(o),
				Message: "blocks draining the source: " + why,
				Fix:     "before the drain, scale the workload up or relax the budget (e.g. maxUnavailable 1) for the move, or drain its nodes last by hand"})
		}
	}
	return append(out, podBlockers(env)...), nil
}

// blockedNow says whether pdb allows no eviction now, as the source's
// disruption controller computed it (its status), and names the
// controllers of the pods it selects: what DrainBlock cannot tell from a
// Deployment's or StatefulSet's replicas — pods an operator makes itself
// (CloudNativePG's instances, whose primary a minAvailable 1 budget
// holds; a Strimzi StrimziPodSet's), or a budget whose pods are not all
// healthy. A drain's evictions of those pods are refused until it allows
// one.
func blockedNow(pdb *policyv1.PodDisruptionBudget, pods []*unstructured.Unstructured) (bool, string) {
	st := pdb.Status
	if st.ExpectedPods == 0 || st.DisruptionsAllowed > 0 || pdb.Spec.Selector == nil {
		return false, ""
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() {
		return false, ""
	}
	var whose []string
	seen := map[string]bool{}
	for _, p := range pods {
		if p.GetNamespace() != pdb.Namespace || !sel.Matches(labels.Set(p.GetLabels())) {
			continue
		}
		w := "pod " + p.GetNamespace() + "/" + p.GetName()
		if c := metav1.GetControllerOfNoCopy(p); c != nil {
			w = "pods of " + c.Kind + " " + p.GetNamespace() + "/" + c.Name
		}
		if !seen[w] {
			seen[w] = true
			whose = append(whose, w)
		}
	}
	if len(whose) == 0 {
		return false, ""
	}
	return true, fmt.Sprintf("%s (its status allows no eviction now: %d healthy of %d expected, %d must stay up)",
		strings.Join(whose, ", "), st.CurrentHealthy, st.ExpectedPods, st.DesiredHealthy)
}

// podBlockers reports, once per controller (or bare pod), what a drain of the
// source does to its pods beyond budgets.
func podBlockers(env *Env) []Finding {
	var out []Finding
	seen := map[string]bool{}
	for _, o := range env.Of("", "Pod") {
		var pod corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &pod); err != nil || terminal(&pod) ||
			pod.Annotations[corev1.MirrorPodAnnotationKey] != "" {
			continue
		}
		owner := metav1.GetControllerOf(&pod)
		if owner != nil && owner.Kind == "DaemonSet" {
			continue // a drain leaves them; the target's nodes run their own
		}
		subject := Ref(o)
		if owner != nil {
			subject = fmt.Sprintf("pods of %s %s/%s", owner.Kind, pod.Namespace, owner.Name)
		}
		if seen[subject] {
			continue
		}
		seen[subject] = true
		if owner == nil {
			out = append(out, Finding{Severity: Warning, Object: subject,
				Message: "has no controller: a drain refuses to evict it (nothing would recreate it) and stops at its node",
				Fix:     "give it a controller (a Deployment) or delete it by hand before the drain; sync copies it to the target as a bare pod"})
		}
		var emptyDirs, hostPaths []string
		for _, v := range pod.Spec.Volumes {
			switch {
			case v.EmptyDir != nil:
				emptyDirs = append(emptyDirs, v.Name)
			case v.HostPath != nil:
				hostPaths = append(hostPaths, v.Name+" ("+v.HostPath.Path+")")
			}
		}
		// Info, not a warning: an emptyDir is declared to live as long as
		// its pod, and any reschedule empties it as the move does (most
		// are scratch space; a cluster has them by the hundred).
		if len(emptyDirs) > 0 {
			out = append(out, Finding{Severity: Info, Object: subject,
				Message: "uses emptyDir volumes " + strings.Join(emptyDirs, ", ") + ": the drain evicts the pods and what they hold there is lost, as on any reschedule",
				Fix:     "keep data that must survive in a PersistentVolumeClaim (moved with `tandem handoff`), or accept that it starts empty"})
		}
		if len(hostPaths) > 0 {
			out = append(out, Finding{Severity: Warning, Object: subject,
				Message: "mounts hostPath volumes " + strings.Join(hostPaths, ", ") + ": the data stays on the source's nodes",
				Fix:     "copy what the pods need onto the target's nodes, or move the data into a PersistentVolumeClaim"})
		}
	}
	return out
}
