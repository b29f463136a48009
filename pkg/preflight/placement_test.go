package preflight

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func placementNode(name string, labels map[string]string, taints []corev1.Taint, alloc corev1.ResourceList) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Allocatable: alloc}}
}

func placementPod(name, owner string, spec corev1.PodSpec, requests corev1.ResourceList) *corev1.Pod {
	spec.Containers = []corev1.Container{{Name: "c", Image: "registry.example/c:1", Resources: corev1.ResourceRequirements{Requests: requests}}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"pod-template-hash": "5d8f9"}}, Spec: spec}
	if owner != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: owner, Controller: &yes}}
	}
	return p
}

func TestUnplaceableNamesWorkloadsNoTargetNodeCanRun(t *testing.T) {
	small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")}
	gpu := small.DeepCopy()
	gpu["nvidia.com/gpu"] = resource.MustParse("1")
	nodes := []corev1.Node{
		placementNode("general-1", map[string]string{"pool": "general"}, nil, small),
		placementNode("general-2", map[string]string{"pool": "general"}, nil, small),
		placementNode("gpu-1", map[string]string{"pool": "gpu"}, []corev1.Taint{{Key: "nvidia.com/gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}}, gpu),
	}
	cpu := func(q string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}
	}
	gpuTol := []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	pods := []*corev1.Pod{
		// Fits a general node.
		placementPod("web-5d8f9-a", "web-5d8f9", corev1.PodSpec{}, cpu("1")),
		// A second pod of the same Deployment that would not fit: one pod speaks for the workload.
		placementPod("web-5d8f9-b", "web-5d8f9", corev1.PodSpec{NodeSelector: map[string]string{"pool": "old"}}, cpu("1")),
		// The old cluster's node group.
		placementPod("batch-5d8f9-a", "batch-5d8f9", corev1.PodSpec{NodeSelector: map[string]string{"eks.amazonaws.com/nodegroup": "ng-blue"}}, cpu("1")),
		// Selects the GPU pool without tolerating its taint.
		placementPod("train-5d8f9-a", "train-5d8f9", corev1.PodSpec{NodeSelector: map[string]string{"pool": "gpu"}}, nil),
		// Tolerates it and asks for a GPU: fits gpu-1.
		placementPod("infer-5d8f9-a", "infer-5d8f9", corev1.PodSpec{Tolerations: gpuTol}, corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}),
		// Asks for two GPUs: no node has them.
		placementPod("big-5d8f9-a", "big-5d8f9", corev1.PodSpec{Tolerations: gpuTol}, corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("2")}),
		// Short of both cpu and memory: both said, as the scheduler lists them.
		placementPod("huge-5d8f9-a", "huge-5d8f9", corev1.PodSpec{}, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("64Gi")}),
		// More memory than any node, and ephemeral storage none has.
		placementPod("cache-5d8f9-a", "cache-5d8f9", corev1.PodSpec{}, corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Gi")}),
		placementPod("scratch-5d8f9-a", "scratch-5d8f9", corev1.PodSpec{}, corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")}),
		// Spread over zones with DoNotSchedule, and no node has a zone label.
		placementPod("spread-5d8f9-a", "spread-5d8f9", corev1.PodSpec{TopologySpreadConstraints: []corev1.TopologySpreadConstraint{
			{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule}}}, cpu("1")),
		// ScheduleAnyway only prefers: it places.
		placementPod("prefer-5d8f9-a", "prefer-5d8f9", corev1.PodSpec{TopologySpreadConstraints: []corev1.TopologySpreadConstraint{
			{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway}}}, cpu("1")),
		// A bare pod with a required node affinity no node matches.
		placementPod("debug", "", corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"eu-west-1a"}}}}}}}}}, nil),
	}
	// A step of an Argo Workflow (a run sync never copies) and a Fargate pod
	// (another scheduler's) are not the target's default scheduler's to place.
	step := placementPod("wf-step", "", corev1.PodSpec{NodeSelector: map[string]string{"pool": "old"}}, nil)
	yes := true
	step.OwnerReferences = []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Name: "wf", Controller: &yes}}
	fargate := placementPod("fargate", "", corev1.PodSpec{SchedulerName: "fargate-scheduler", NodeSelector: map[string]string{"pool": "old"}}, nil)
	pods = append(pods, step, fargate)
	got := map[string]string{}
	for _, f := range unplaceable(placementCandidates(envOf(), pods), nodes, "") {
		if f.Severity != Warning {
			t.Errorf("%s: severity %s, want warning", f.Object, f.Severity)
		}
		got[f.Object] = f.Message
	}
	want := map[string][]string{
		"Deployment shop/batch":   {"0/3 nodes are available", "2 didn't match the pod's nodeSelector eks.amazonaws.com/nodegroup=ng-blue, 1 had untolerated taint"},
		"Deployment shop/train":   {"2 didn't match the pod's nodeSelector pool=gpu", "1 had untolerated taint nvidia.com/gpu=true:NoSchedule"},
		"Deployment shop/big":     {"3 Insufficient nvidia.com/gpu; one pod requests 2 of nvidia.com/gpu, the largest node that matches it has 1"},
		"Deployment shop/cache":   {"2 Insufficient memory, 1 had untolerated taint nvidia.com/gpu=true:NoSchedule; one pod requests 32Gi of memory, the largest node that matches it has 16Gi"},
		"Deployment shop/scratch": {"2 Insufficient ephemeral-storage, 1 had untolerated taint", "; one pod requests 1Gi of ephemeral-storage, the largest node that matches it has 0"},
		"Deployment shop/huge":    {"2 Insufficient cpu, 2 Insufficient memory, 1 had untolerated taint", "one pod requests 8 of cpu, the largest node that matches it has 4; one pod requests 64Gi of memory"},
		"Pod shop/debug":          {"2 didn't match the pod's required node affinity, 1 had untolerated taint nvidia.com/gpu=true:NoSchedule"},
		"Deployment shop/spread":  {"2 didn't match pod topology spread constraints (missing required label topology.kubernetes.io/zone), 1 had untolerated taint"},
	}
	for obj, parts := range want {
		msg, ok := got[obj]
		if !ok {
			t.Errorf("no finding on %s; got %v", obj, got)
			continue
		}
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				t.Errorf("%s: %q does not say %q", obj, msg, p)
			}
		}
	}
	for obj := range got {
		if _, ok := want[obj]; !ok {
			t.Errorf("unexpected finding on %s: %s", obj, got[obj])
		}
	}
	if fs := unplaceable(placementCandidates(envOf(), pods), nil, ""); fs != nil {
		t.Errorf("no schedulable node at all is the sum check's finding, got %v", fs)
	}
}

func TestComparedResourcesAddsWhatPodsRequest(t *testing.T) {
	need := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), "nvidia.com/gpu": resource.MustParse("1"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"), "hugepages-2Mi": resource.MustParse("0")}
	got := comparedResources(need)
	want := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage, "nvidia.com/gpu"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// Workloads without a running pod are read from their templates: one
// scaled to 0 (a standby source) or a CronJob between runs, with what
// admission adds to a pod (requests from limits, a toleration of each
// extended resource, the RuntimeClass's scheduling). A running pod speaks
// for its workload; a CronJob's run for its CronJob. What sync does not
// copy, a suspended CronJob, another scheduler's pods and system namespaces
// are left out.
func TestPlacementReadsWorkloadTemplates(t *testing.T) {
	tmpl := func(spec map[string]any) map[string]any {
		return map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "x"}}, "spec": spec}
	}
	container := func(resources map[string]any) []any {
		return []any{map[string]any{"name": "c", "image": "registry.example/c:1", "resources": resources}}
	}
	deploy := func(name string, spec map[string]any) map[string]any {
		return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, "shop", nil, nil),
			"spec": map[string]any{"replicas": int64(0), "template": tmpl(spec)}}
	}
	owned := deploy("osd-0", map[string]any{"nodeSelector": map[string]any{"kubernetes.io/hostname": "blue-node-1"}, "containers": container(nil)})
	owned["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{"apiVersion": "ceph.rook.io/v1", "kind": "CephCluster", "name": "rook", "uid": "u", "controller": true}}
	env := envOf(
		deploy("pinned", map[string]any{"nodeSelector": map[string]any{"eks.amazonaws.com/nodegroup": "ng-blue"}, "containers": container(nil)}),
		// Tainted GPU nodes: the pod gets a toleration of nvidia.com/gpu at admission.
		deploy("train", map[string]any{"containers": container(map[string]any{"limits": map[string]any{"nvidia.com/gpu": "1"}})}),
		// Its RuntimeClass sends it to sandbox nodes, which the target has none of.
		deploy("sandboxed", map[string]any{"runtimeClassName": "gvisor", "containers": container(nil)}),
		map[string]any{"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": map[string]any{"name": "gvisor"}, "handler": "runsc",
			"scheduling": map[string]any{"nodeSelector": map[string]any{"sandbox.gke.io/runtime": "gvisor"}}},
		deploy("fargate", map[string]any{"schedulerName": "fargate-scheduler", "nodeSelector": map[string]any{"x": "y"}, "containers": container(nil)}),
		owned,
		map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("report", "shop", nil, nil),
			"spec": map[string]any{"schedule": "0 2 * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl(map[string]any{
				"containers": container(map[string]any{"limits": map[string]any{"ephemeral-storage": "1Gi"}})})}}}},
		map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("paused", "shop", nil, nil),
			"spec": map[string]any{"suspend": true, "schedule": "0 2 * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl(map[string]any{
				"nodeSelector": map[string]any{"pool": "old"}, "containers": container(nil)})}}}},
		map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("etcd", "kube-system", nil, nil),
			"spec": map[string]any{"template": tmpl(map[string]any{"nodeSelector": map[string]any{"role": "control-plane"}, "containers": container(nil)})}},
	)
	general := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")}
	gpu := general.DeepCopy()
	gpu["nvidia.com/gpu"] = resource.MustParse("1")
	nodes := []corev1.Node{
		placementNode("n1", map[string]string{"pool": "general"}, nil, general),
		placementNode("g1", map[string]string{"pool": "gpu"}, []corev1.Taint{{Key: "nvidia.com/gpu", Effect: corev1.TaintEffectNoSchedule}}, gpu),
	}
	// A running pod of the pinned Deployment speaks for it, and one of the
	// CronJob's runs (its Job is <cronjob>-<minute>) is the CronJob's.
	pods := []*corev1.Pod{placementPod("pinned-5d8f9-a", "pinned-5d8f9", corev1.PodSpec{NodeSelector: map[string]string{"eks.amazonaws.com/nodegroup": "ng-blue"}, NodeName: "blue-node-1"}, nil)}
	run := placementPod("report-29412360-x7k2p", "", corev1.PodSpec{}, nil)
	yes := true
	run.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "report-29412360", Controller: &yes}}
	pods = append(pods, run)
	cands := placementCandidates(env, pods)
	var names []string
	for _, c := range cands {
		names = append(names, c.workload)
	}
	if strings.Join(names, ",") != "Deployment shop/pinned,Deployment shop/train,Deployment shop/sandboxed,CronJob shop/report" {
		t.Fatalf("candidates %v", names)
	}
	if cands[0].pod.Labels["pod-template-hash"] != "5d8f9" {
		t.Errorf("the pinned Deployment is read from its template, not from its running pod: %+v", cands[0].pod.ObjectMeta)
	}
	if cands[0].pod.Spec.NodeName != "" {
		t.Errorf("a running pod's nodeName is the source scheduler's choice, kept: %q", cands[0].pod.Spec.NodeName)
	}
	got := map[string]string{}
	for _, f := range unplaceable(cands, nodes, "") {
		got[f.Object] = f.Message
	}
	for obj, want := range map[string]string{
		"Deployment shop/pinned":    "1 didn't match the pod's nodeSelector eks.amazonaws.com/nodegroup=ng-blue, 1 had untolerated taint nvidia.com/gpu:NoSchedule",
		"Deployment shop/sandboxed": "didn't match the pod's nodeSelector sandbox.gke.io/runtime=gvisor",
		"CronJob shop/report":       "Insufficient ephemeral-storage",
	} {
		if !strings.Contains(got[obj], want) {
			t.Errorf("%s: %q, want %q", obj, got[obj], want)
		}
	}
	if len(got) != 3 {
		t.Errorf("findings %v, want 3 (train tolerates the GPU taint once admitted)", got)
	}
	for _, f := range unplaceable(cands, nodes, "Karpenter makes nodes") {
		if f.Severity != Info || !strings.HasSuffix(f.Message, "; Karpenter makes nodes") {
			t.Errorf("a target that makes nodes on demand: %s %q, want info saying so", f.Severity, f.Message)
		}
	}
}

// A namespace's default tolerations (PodTolerationRestriction's
// annotation) are a template's pod's too: a tenant's workload kept off
// every node but its pool's taint is placed there.
func TestPlacementGivesATemplateItsNamespacesDefaultTolerations(t *testing.T) {
	deploy := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("api", "tenant", nil, nil),
		"spec": map[string]any{"replicas": int64(0), "template": map[string]any{"spec": map[string]any{
			"nodeSelector": map[string]any{"pool": "tenant"},
			"containers":   []any{map[string]any{"name": "c", "image": "registry.example/c:1"}}}}}}
	nodes := []corev1.Node{placementNode("t1", map[string]string{"pool": "tenant"}, []corev1.Taint{{Key: "dedicated", Value: "tenant", Effect: corev1.TaintEffectNoSchedule}},
		corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")})}
	ns := func(annotations map[string]any) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "tenant", "annotations": annotations}}
	}
	tolerating := ns(map[string]any{"scheduler.alpha.kubernetes.io/defaultTolerations": `[{"key":"dedicated","operator":"Equal","value":"tenant","effect":"NoSchedule"}]`})
	if fs := unplaceable(placementCandidates(envOf(tolerating, deploy), nil), nodes, ""); len(fs) != 0 {
		t.Errorf("the namespace's default toleration admits it to t1: %v", fs)
	}
	if fs := unplaceable(placementCandidates(envOf(ns(map[string]any{"team": "a"}), deploy), nil), nodes, ""); len(fs) != 1 || !strings.Contains(fs[0].Message, "1 had untolerated taint dedicated=tenant:NoSchedule") {
		t.Errorf("without it the taint keeps it off: %v", fs)
	}
}

// A workload kept one pod per host by its own required anti-affinity wants
// as many hosts as replicas among the nodes that can run it, and one more
// for a rollout that adds a pod first; one kept apart from another app's
// pods, or only preferring to be, does not.
func TestPlacementCountsTheHostsAWorkloadKeptApartNeeds(t *testing.T) {
	apart := func(selector map[string]any, key string, preferred bool) map[string]any {
		term := map[string]any{"labelSelector": map[string]any{"matchLabels": selector}, "topologyKey": key}
		anti := map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": []any{term}}
		if preferred {
			anti = map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": []any{map[string]any{"weight": int64(100), "podAffinityTerm": term}}}
		}
		return map[string]any{"podAntiAffinity": anti}
	}
	workload := func(kind, name string, replicas any, affinity map[string]any) map[string]any {
		spec := map[string]any{"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}},
			"spec": map[string]any{"affinity": affinity, "nodeSelector": map[string]any{"pool": "general"},
				"containers": []any{map[string]any{"name": "c", "image": "registry.example/c:1"}}}}}
		if replicas != nil {
			spec["replicas"] = replicas
		}
		return map[string]any{"apiVersion": "apps/v1", "kind": kind, "metadata": meta(name, "shop", nil, nil), "spec": spec}
	}
	// A standby source's: at 0, its replicas recorded.
	parked := workload("Deployment", "parked", int64(0), apart(map[string]any{"app": "parked"}, "kubernetes.io/hostname", false))
	parked["metadata"].(map[string]any)["annotations"] = map[string]any{"tandem.io/replicas": "4"}
	// Apart from other tenants' pods only: mismatchLabelKeys, which the
	// apiserver turns into "tenant notin (a)" when it makes the pod.
	tenant := workload("Deployment", "tenant", int64(9), map[string]any{"podAntiAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": []any{
		map[string]any{"labelSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": "tenant", "operator": "Exists"}}},
			"mismatchLabelKeys": []any{"tenant"}, "topologyKey": "kubernetes.io/hostname"}}}})
	tenant["spec"].(map[string]any)["template"].(map[string]any)["metadata"] = map[string]any{"labels": map[string]any{"app": "tenant", "tenant": "a"}}
	// web's twins whose rollouts remove a pod first, or keep only a
	// revision's pods apart.
	recreate := workload("Deployment", "recreate", int64(3), apart(map[string]any{"app": "recreate"}, "kubernetes.io/hostname", false))
	recreate["spec"].(map[string]any)["strategy"] = map[string]any{"type": "Recreate"}
	unavailable := workload("Deployment", "unavailable", int64(3), apart(map[string]any{"app": "unavailable"}, "kubernetes.io/hostname", false))
	unavailable["spec"].(map[string]any)["strategy"] = map[string]any{"rollingUpdate": map[string]any{"maxUnavailable": int64(1)}}
	perRevision := workload("Deployment", "per-revision", int64(3), apart(map[string]any{"app": "per-revision"}, "kubernetes.io/hostname", false))
	perRevision["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["affinity"].(map[string]any)["podAntiAffinity"].(map[string]any)["requiredDuringSchedulingIgnoredDuringExecution"].([]any)[0].(map[string]any)["matchLabelKeys"] = []any{"pod-template-hash"}
	env := envOf(
		workload("StatefulSet", "kafka", int64(5), apart(map[string]any{"app": "kafka"}, "kubernetes.io/hostname", false)),
		workload("Deployment", "web", int64(3), apart(map[string]any{"app": "web"}, "kubernetes.io/hostname", false)),
		workload("Deployment", "zonal", int64(3), apart(map[string]any{"app": "zonal"}, "topology.kubernetes.io/zone", false)),
		workload("Deployment", "soft", int64(9), apart(map[string]any{"app": "soft"}, "kubernetes.io/hostname", true)),
		workload("Deployment", "neighbour", int64(9), apart(map[string]any{"app": "kafka"}, "kubernetes.io/hostname", false)),
		workload("Deployment", "single", nil, apart(map[string]any{"app": "single"}, "kubernetes.io/hostname", false)),
		parked,
		tenant,
		recreate, unavailable, perRevision,
	)
	cpu := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
	node := func(name, pool, zone string) corev1.Node {
		return placementNode(name, map[string]string{"pool": pool, "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone}, nil, cpu)
	}
	// Three general nodes in two zones; a fourth node is another pool's, which none of them selects.
	nodes := []corev1.Node{node("g1", "general", "a"), node("g2", "general", "a"), node("g3", "general", "b"), node("x1", "batch", "c")}
	got := map[string]string{}
	for _, f := range unplaceable(placementCandidates(env, nil), nodes, "") {
		got[f.Object] = f.Message
	}
	for obj, want := range map[string]string{
		"StatefulSet shop/kafka": "2 of its 5 pods cannot be placed: its required pod anti-affinity keeps them one per kubernetes.io/hostname, and the target's nodes that can run them have 3 (g1, g2, g3)",
		"Deployment shop/zonal":  "1 of its 3 pods cannot be placed: its required pod anti-affinity keeps them one per topology.kubernetes.io/zone, and the target's nodes that can run them have 2 (a, b)",
		"Deployment shop/parked": "1 of its 4 pods cannot be placed",
		// Three hosts for three replicas: placed, but a rollout's surge pod is not.
		"Deployment shop/web": "its rollouts cannot progress in the target: a rolling update adds a pod before it removes one (maxUnavailable rounds to 0 at 3 replicas), its required pod anti-affinity keeps old and new pods one per kubernetes.io/hostname, and the target's nodes that can run them have 3 (g1, g2, g3)",
	} {
		if !strings.HasPrefix(got[obj], want) {
			t.Errorf("%s: %q, want %q", obj, got[obj], want)
		}
	}
	if len(got) != 4 {
		t.Errorf("findings %v, want 4: soft only prefers, neighbour keeps apart from kafka, single is one pod, tenant from other tenants; recreate, unavailable and per-revision roll out in place", got)
	}
	// Nodes without a zone label: kube-scheduler holds a zone term on none
	// of them, and every replica of zonal is placed.
	for i := range nodes {
		delete(nodes[i].Labels, "topology.kubernetes.io/zone")
	}
	for _, f := range unplaceable(placementCandidates(env, nil), nodes, "") {
		if f.Object == "Deployment shop/zonal" {
			t.Errorf("zonal on nodes without zones: %q", f.Message)
		}
	}
}
