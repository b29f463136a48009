package preflight

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
	"github.com/tandem-io/tandem/pkg/standby"
)

// Placement is the part of the capacity check that looks at one pod of
// each workload: a workload whose nodeSelector or required node affinity
// matches no schedulable node of the target, whose pods tolerate none of
// the taints of the nodes that match, or whose one pod asks for more of a
// resource than any node has, stays Pending in the target however many
// nodes it has; so does one spread with DoNotSchedule over a topology key
// no node has. It tests what kube-scheduler's TaintToleration,
// NodeAffinity, NodeResourcesFit and PodTopologySpread (the key's
// presence) filters test, in their order, with the same helpers where
// there are, and, for a workload that fits, whether its own required pod
// anti-affinity leaves room for all its replicas
// (placement_antiaffinity.go),
// against each node's allocatable (an empty node: what the target runs
// already is the sum check's business).
//
// A running pod of the workload is read where there is one: it holds what
// admission added at its creation. A workload with none (at 0 replicas, a
// standby source's; a CronJob between runs) is read from its template, with
// what admission would add: requests from limits, a toleration of each
// extended resource it requests (ExtendedResourceToleration), its
// RuntimeClass's scheduling and overhead, its namespace's default
// tolerations (PodTolerationRestriction).

// placed is one pod a move makes in the target, standing for its workload.
type placed struct {
	workload string // "Deployment shop/web"
	pod      *corev1.Pod
	replicas int32 // the pods its Deployment or StatefulSet wants; 0 when it has no such count
	// surgesFirst: a Deployment whose rolling update adds a pod before it
	// removes one.
	surgesFirst bool
}

// templateKinds are the workloads whose pod template placement reads when
// none of their pods runs, with the path of the template.
var templateKinds = []struct {
	group, kind string
	path        []string
}{
	{"apps", "Deployment", []string{"spec", "template"}},
	{"apps", "StatefulSet", []string{"spec", "template"}},
	{"batch", "CronJob", []string{"spec", "jobTemplate", "spec", "template"}},
}

// placementCandidates returns one pod per workload the move recreates in
// the target and the default scheduler places: a running pod of it, or its
// template. What sync does not copy (a workload an operator owns, being
// deleted, in a system namespace), a suspended CronJob, and pods another
// scheduler places (Fargate, virtual kubelets) are left out.
func placementCandidates(env *Env, moving []*corev1.Pod) []placed {
	var out []placed
	byWorkload := map[string]*corev1.Pod{}
	var order []string
	for _, pod := range moving {
		w := workloadOf(pod)
		if _, ok := byWorkload[w]; ok {
			continue
		}
		p := pod.DeepCopy()
		p.Spec.NodeName = "" // the source's scheduler chose it
		byWorkload[w] = p
		order = append(order, w)
	}
	adm := admissionOf(env)
	done := map[string]bool{} // workloads decided by their template's object
	for _, tk := range templateKinds {
		for _, o := range env.Of(tk.group, tk.kind) {
			w := tk.kind + " " + o.GetNamespace() + "/" + o.GetName()
			done[w] = true
			suspended, _, _ := unstructured.NestedBool(o.Object, "spec", "suspend")
			if plan.SystemNamespace(o.GetNamespace()) || sanitize.Skipped(o, env.Seen.sanitize) || (tk.kind == "CronJob" && suspended) {
				continue
			}
			var replicas int32
			if tk.kind != "CronJob" {
				n, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
				if !found {
					n = 1 // the apiserver's default
				}
				if rec, err := strconv.ParseInt(o.GetAnnotations()[standby.ReplicasAnnotation], 10, 32); n == 0 && err == nil {
					n = rec // a standby source's: what it runs once active
				}
				replicas = int32(n)
			}
			c := placed{workload: w, pod: byWorkload[w], replicas: replicas, surgesFirst: tk.kind == "Deployment" && surgesFirst(o, replicas)}
			if c.pod == nil {
				c.pod = templatePod(adm, o, tk.path)
			}
			if c.pod != nil {
				out = append(out, c)
			}
		}
	}
	for _, w := range order {
		if done[w] || done[cronJobOf(w)] {
			continue // read with its workload's object above, or a CronJob's run
		}
		out = append(out, placed{workload: w, pod: byWorkload[w]})
	}
	kept := out[:0]
	for _, c := range out {
		if scheduledHere(c.pod) {
			kept = append(kept, c)
		}
	}
	return kept
}

// scheduledHere reports whether the target's default scheduler places a
// copy of pod: not another scheduler's (Fargate, a virtual kubelet), and
// not a run of a kind sync never copies (an Argo Workflow's step, a Tekton
// TaskRun's, a Velero data mover's), which the target makes none of.
func scheduledHere(pod *corev1.Pod) bool {
	if s := pod.Spec.SchedulerName; s != "" && s != corev1.DefaultSchedulerName {
		return false
	}
	if c := metav1.GetControllerOf(pod); c != nil {
		gv, _ := schema.ParseGroupVersion(c.APIVersion)
		if sanitize.Generated(schema.GroupKind{Group: gv.Group, Kind: c.Kind}) {
			return false
		}
	}
	return true
}

// admission is what of the source a template's pod gets at admission:
// RuntimeClasses by name, namespaces' default tolerations.
type admission struct {
	runtimeClasses map[string]*unstructured.Unstructured
	tolerations    map[string][]corev1.Toleration
}

func admissionOf(env *Env) admission {
	a := admission{runtimeClasses: map[string]*unstructured.Unstructured{}, tolerations: map[string][]corev1.Toleration{}}
	for _, c := range env.Of("node.k8s.io", "RuntimeClass") {
		a.runtimeClasses[c.GetName()] = c
	}
	for _, ns := range env.Of("", "Namespace") {
		var defaults []corev1.Toleration
		if err := json.Unmarshal([]byte(ns.GetAnnotations()["scheduler.alpha.kubernetes.io/defaultTolerations"]), &defaults); err == nil {
			a.tolerations[ns.GetName()] = defaults
		}
	}
	return a
}

// templatePod makes the pod o's template at path would make, with what
// admission adds to it, or nil when o has none.
func templatePod(adm admission, o *unstructured.Unstructured, path []string) *corev1.Pod {
	raw, found, _ := unstructured.NestedMap(o.Object, path...)
	if !found {
		return nil
	}
	var tmpl corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &tmpl); err != nil {
		return nil
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: tmpl.Labels}, Spec: tmpl.Spec}
	defaultRequests(pod)
	for name := range resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}) {
		if extendedResource(name) {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: string(name), Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if rc := pod.Spec.RuntimeClassName; rc != nil && adm.runtimeClasses[*rc] != nil {
		applyRuntimeClass(pod, adm.runtimeClasses[*rc])
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, adm.tolerations[pod.Namespace]...)
	return pod
}

// applyRuntimeClass adds what the RuntimeClass admission plugin adds to a
// pod of class rc: its scheduling's nodeSelector and tolerations, its overhead.
func applyRuntimeClass(pod *corev1.Pod, rc *unstructured.Unstructured) {
	var c struct {
		Overhead *struct {
			PodFixed corev1.ResourceList `json:"podFixed"`
		} `json:"overhead"`
		Scheduling *struct {
			NodeSelector map[string]string   `json:"nodeSelector"`
			Tolerations  []corev1.Toleration `json:"tolerations"`
		} `json:"scheduling"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(rc.Object, &c); err != nil {
		return
	}
	if c.Overhead != nil && pod.Spec.Overhead == nil {
		pod.Spec.Overhead = c.Overhead.PodFixed
	}
	if c.Scheduling == nil {
		return
	}
	for k, v := range c.Scheduling.NodeSelector {
		if pod.Spec.NodeSelector == nil {
			pod.Spec.NodeSelector = map[string]string{}
		}
		pod.Spec.NodeSelector[k] = v
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, c.Scheduling.Tolerations...)
}

// extendedResource reports whether name is an extended resource (a device
// plugin's, e.g. nvidia.com/gpu): a domain-prefixed name outside
// kubernetes.io, as the apiserver tells them apart.
func extendedResource(name corev1.ResourceName) bool {
	s := string(name)
	return strings.Contains(s, "/") && !strings.Contains(s, "kubernetes.io/") && !strings.HasPrefix(s, "requests.")
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
// pod-template-hash), an Argo Rollout likewise, its controller otherwise (a
// CronJob's run as its Job), the pod itself when it has none.
func workloadOf(pod *corev1.Pod) string {
	c := metav1.GetControllerOf(pod)
	if c == nil {
		return "Pod " + pod.Namespace + "/" + pod.Name
	}
	kind, name := c.Kind, c.Name
	if kind == "ReplicaSet" {
		if hash := pod.Labels["pod-template-hash"]; hash != "" && strings.HasSuffix(name, "-"+hash) {
			kind, name = "Deployment", strings.TrimSuffix(name, "-"+hash)
		} else if hash := pod.Labels["rollouts-pod-template-hash"]; hash != "" && strings.HasSuffix(name, "-"+hash) {
			kind, name = "Rollout", strings.TrimSuffix(name, "-"+hash)
		}
	}
	return kind + " " + pod.Namespace + "/" + name
}

// cronJobOf names the CronJob a Job's workload name may belong to: the
// CronJob controller names each Job <cronjob>-<scheduled minute>.
func cronJobOf(workload string) string {
	rest, ok := strings.CutPrefix(workload, "Job ")
	if !ok {
		return ""
	}
	i := strings.LastIndexByte(rest, '-')
	if i < 0 || i == len(rest)-1 || strings.Trim(rest[i+1:], "0123456789") != "" {
		return ""
	}
	return "CronJob " + rest[:i]
}

// unplaceable returns a finding for each workload whose pod no node of
// nodes (the target's schedulable ones) can run, saying why node by node
// as kube-scheduler's FailedScheduling event does: a warning, or info when
// the target makes nodes for pending pods (onDemand says how).
func unplaceable(cands []placed, nodes []corev1.Node, onDemand string) []Finding {
	if len(nodes) == 0 {
		return nil // the sum check says the target has no room at all
	}
	var out []Finding
	for _, c := range cands {
		req := resourcehelper.PodRequests(c.pod, resourcehelper.PodResourcesOptions{})
		reasons := map[string]int{}
		short := corev1.ResourceList{} // what some node lacks, as the pod requests it
		var sized []corev1.Node        // the nodes the resource filter judged
		fits := false
		for i := range nodes {
			why, lacks, reached := notOn(c.pod, req, &nodes[i])
			if len(why) == 0 {
				fits = true
				break
			}
			for _, w := range why {
				reasons[w]++
			}
			for _, r := range lacks {
				short[r] = req[r]
			}
			if reached {
				sized = append(sized, nodes[i])
			}
		}
		if fits {
			if msg, fix := keptApart(c, req, nodes); msg != "" {
				out = append(out, placementFinding(c.workload, msg, fix, onDemand))
			}
			continue
		}
		type count struct {
			n   int
			why string
		}
		var counts []count
		for why, n := range reasons {
			counts = append(counts, count{n, why})
		}
		sort.Slice(counts, func(i, j int) bool {
			if counts[i].n != counts[j].n {
				return counts[i].n > counts[j].n
			}
			return counts[i].why < counts[j].why
		})
		parts := make([]string, len(counts))
		for i, c := range counts {
			parts[i] = fmt.Sprintf("%d %s", c.n, c.why)
		}
		msg := fmt.Sprintf("no schedulable node of the target can run its pods: 0/%d nodes are available: %s", len(nodes), strings.Join(parts, ", "))
		for _, r := range slices.Sorted(maps.Keys(short)) {
			q, most := short[r], largest(sized, r)
			msg += fmt.Sprintf("; one pod requests %s of %s, the largest node that matches it has %s", q.String(), r, most.String())
		}
		out = append(out, placementFinding(c.workload, msg, fixUnplaceable, onDemand))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Object < out[j].Object })
	return out
}

const (
	fixUnplaceable = "give the target nodes that match (labels, taints and sizes, or a node pool its autoscaler makes on demand), or change the workload's nodeSelector, affinity, tolerations or requests before traffic moves: otherwise its pods stay Pending there. A label or resource that a DaemonSet sync copies adds to nodes (node-feature-discovery, a device plugin) shows after the sync: run plan again then"
	fixApart       = "give the target as many nodes (or zones) that can run the workload as it has replicas, or lower its replicas, or make the anti-affinity preferred, before traffic moves: otherwise the target serves with fewer pods than the source"
	fixRollout     = "give the target one node (or zone) more that can run the workload, or set its strategy's maxUnavailable to at least 1, or add matchLabelKeys: [pod-template-hash] to the anti-affinity term (only a revision's pods keep apart), before the first deploy to the target"
)

// placementFinding is a warning about workload, or info when the target
// makes nodes for pending pods (onDemand says how).
func placementFinding(workload, msg, fix, onDemand string) Finding {
	f := Finding{Severity: Warning, Object: workload, Message: msg, Fix: fix}
	if onDemand != "" {
		f.Severity, f.Message = Info, msg+"; "+onDemand
	}
	return f
}

// largest is the most of r any node of nodes has.
func largest(nodes []corev1.Node, r corev1.ResourceName) resource.Quantity {
	var max resource.Quantity
	for _, n := range nodes {
		if q := n.Status.Allocatable[r]; q.Cmp(max) > 0 {
			max = q.DeepCopy()
		}
	}
	return max
}

// notOn says why node cannot run pod, as kube-scheduler's filters would
// in their order (NodeName, TaintToleration, NodeAffinity,
// NodeResourcesFit, PodTopologySpread), stopping at the first that fails:
// its reasons (every resource short, as NodeResourcesFit lists them), and
// whether the node got as far as the resource filter. No reasons: it fits.
// req is the pod's requests (resourcehelper.PodRequests).
func notOn(pod *corev1.Pod, req corev1.ResourceList, node *corev1.Node) (reasons []string, short []corev1.ResourceName, reached bool) {
	if pod.Spec.NodeName != "" {
		// A template that names its node bypasses the scheduler: the node
		// must exist, nothing else is asked of it here.
		if pod.Spec.NodeName != node.Name {
			return []string{"is not the node its template names (spec.nodeName " + pod.Spec.NodeName + ")"}, nil, false
		}
		return nil, nil, false
	}
	noSchedule := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	if taint, ok := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, noSchedule, true); ok {
		return []string{"had untolerated taint " + taint.ToString()}, nil, false
	}
	if ok, err := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); err != nil || !ok {
		return []string{"didn't match the pod's " + selectorText(pod)}, nil, false
	}
	for _, r := range slices.Sorted(maps.Keys(req)) {
		q, have := req[r], node.Status.Allocatable[r]
		if !q.IsZero() && q.Cmp(have) > 0 {
			reasons = append(reasons, "Insufficient "+string(r))
			short = append(short, r)
		}
	}
	if len(reasons) > 0 {
		return reasons, short, true
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if _, ok := node.Labels[c.TopologyKey]; c.WhenUnsatisfiable == corev1.DoNotSchedule && !ok {
			return []string{"didn't match pod topology spread constraints (missing required label " + c.TopologyKey + ")"}, nil, true
		}
	}
	return nil, nil, true
}

// selectorText names the node selection of pod: its nodeSelector's labels
// and whether it has a required node affinity.
func selectorText(pod *corev1.Pod) string {
	var parts []string
	if len(pod.Spec.NodeSelector) > 0 {
		parts = append(parts, "nodeSelector "+labels.Set(pod.Spec.NodeSelector).String())
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		parts = append(parts, "required node affinity")
	}
	if len(parts) == 0 {
		return "node affinity/selector"
	}
	return strings.Join(parts, " and ")
}
