package standby

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

func obj(apiVersion, kind string, spec map[string]any, annotations map[string]any) *unstructured.Unstructured {
	md := map[string]any{"name": "x", "namespace": "ns"}
	if annotations != nil {
		md["annotations"] = annotations
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md}
	if spec != nil {
		o["spec"] = spec
	}
	return &unstructured.Unstructured{Object: o}
}

// rollouts is what DiscoverScaleKinds finds in a cluster running Argo Rollouts.
var rollouts = ScaleKinds{{Group: "argoproj.io", Kind: "Rollout"}: {Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}}

func TestTransform(t *testing.T) {
	tests := []struct {
		name     string
		in       *unstructured.Unstructured
		wantSpec map[string]any
		wantAnn  map[string]string
		skip     bool
		note     string
	}{
		{"deployment", obj("apps/v1", "Deployment", map[string]any{"replicas": int64(3)}, nil),
			map[string]any{"replicas": int64(0)}, map[string]string{ReplicasAnnotation: "3"}, false, "replicas 3 → 0"},
		{"statefulset without replicas defaults to 1", obj("apps/v1", "StatefulSet", map[string]any{}, nil),
			map[string]any{"replicas": int64(0)}, map[string]string{ReplicasAnnotation: "1"}, false, "replicas 1 → 0"},
		{"replicaset at 0 stays, recorded 0", obj("apps/v1", "ReplicaSet", map[string]any{"replicas": int64(0)}, nil),
			map[string]any{"replicas": int64(0)}, map[string]string{ReplicasAnnotation: "0"}, false, "replicas 0 → 0"},
		{"already standby keeps its record", obj("apps/v1", "Deployment", map[string]any{"replicas": int64(0)}, map[string]any{ReplicasAnnotation: "5"}),
			map[string]any{"replicas": int64(0)}, map[string]string{ReplicasAnnotation: "5"}, false, "already at 0"},
		{"cronjob", obj("batch/v1", "CronJob", map[string]any{"schedule": "* * * * *"}, nil),
			map[string]any{"schedule": "* * * * *", "suspend": true}, map[string]string{SuspendAnnotation: "false"}, false, "suspended"},
		{"suspended cronjob", obj("batch/v1", "CronJob", map[string]any{"suspend": true}, nil),
			map[string]any{"suspend": true}, map[string]string{SuspendAnnotation: "true"}, false, "suspended"},
		{"daemonset", obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{"os": "linux"}}}}, nil),
			map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{ParkedKey: ParkedValue}}}},
			map[string]string{NodeSelectorAnnotation: `{"os":"linux"}`}, false, "parked"},
		{"daemonset without selector", obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{}}}, nil),
			map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{ParkedKey: ParkedValue}}}},
			map[string]string{NodeSelectorAnnotation: "null"}, false, "parked"},
		{"hpa kept, recorded", obj("autoscaling/v2", "HorizontalPodAutoscaler", map[string]any{"minReplicas": int64(2)}, nil),
			map[string]any{"minReplicas": int64(2)}, map[string]string{MinReplicasAnnotation: "2"}, false, "does not scale"},
		{"job skipped", obj("batch/v1", "Job", map[string]any{}, nil), map[string]any{}, nil, true, ""},
		{"configmap untouched", obj("v1", "ConfigMap", nil, nil), nil, nil, false, ""},
		{"custom kind with /scale", obj("argoproj.io/v1alpha1", "Rollout", map[string]any{"replicas": int64(5)}, nil),
			map[string]any{"replicas": int64(0)}, map[string]string{ReplicasAnnotation: "5"}, false, "replicas 5 → 0"},
		{"custom kind without /scale untouched", obj("example.com/v1", "Widget", map[string]any{"replicas": int64(5)}, nil),
			map[string]any{"replicas": int64(5)}, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Transform(tt.in, rollouts)
			if d.Skip != tt.skip {
				t.Fatalf("skip %v, want %v", d.Skip, tt.skip)
			}
			if tt.skip {
				return
			}
			spec, _, _ := unstructured.NestedMap(tt.in.Object, "spec")
			if tt.wantSpec == nil {
				tt.wantSpec = nil
				if spec != nil {
					t.Errorf("spec changed: %v", spec)
				}
			} else if diff := cmp.Diff(tt.wantSpec, spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			got := tt.in.GetAnnotations()
			if len(tt.wantAnn) == 0 && len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.wantAnn, got); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if note := strings.Join(d.Notes, ";"); !strings.Contains(note, tt.note) {
				t.Errorf("notes %q, want one containing %q", note, tt.note)
			}
		})
	}
}

func TestTransformLabelsNamespace(t *testing.T) {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}}}
	Transform(ns, nil)
	if ns.GetLabels()[NamespaceLabel] != "true" {
		t.Fatalf("labels %v, want %s=true", ns.GetLabels(), NamespaceLabel)
	}
}

func TestDecideKeepsSanitizeSkip(t *testing.T) {
	o := obj("apps/v1", "Deployment", map[string]any{"replicas": int64(3)}, nil)
	d := Decide(o, sanitize.Decision{Skip: true, Reason: "owned"}, nil, nil)
	if !d.Skip || d.Reason != "owned" {
		t.Fatalf("got %+v, want sanitize's skip", d)
	}
	if n, _, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); n != 3 {
		t.Fatalf("skipped object transformed: replicas %d", n)
	}
	d = Decide(o, sanitize.Decision{Notes: []string{"a"}}, nil, nil)
	if len(d.Notes) != 2 || d.Notes[0] != "a" {
		t.Fatalf("notes %v, want sanitize's then standby's", d.Notes)
	}
}

// What lives in a namespace labelled standby-exempt is copied as it is:
// the policy and Deactivate leave it alone, and so does the standby form.
// A webhook served from such a namespace keeps failing closed: its backend
// runs. An object labelled by itself is put in standby form (see Decide).
func TestDecideLeavesExemptAlone(t *testing.T) {
	exemptNS := func(ns string) bool { return ns == "agents" }
	labelled := obj("apps/v1", "Deployment", map[string]any{"replicas": int64(3)}, nil)
	labelled.SetLabels(map[string]string{ExemptLabel: "true"})
	inExempt := obj("batch/v1", "Job", map[string]any{}, nil)
	inExempt.SetNamespace("agents")
	plain := obj("apps/v1", "Deployment", map[string]any{"replicas": int64(3)}, nil)
	cm := obj("v1", "ConfigMap", nil, nil)
	cm.SetNamespace("agents")
	for _, tc := range []struct {
		o        *unstructured.Unstructured
		exempt   bool
		replicas int64
	}{{labelled, false, 0}, {inExempt, true, -1}, {plain, false, 0}, {cm, false, -1}} {
		d := Decide(tc.o, sanitize.Decision{}, nil, exemptNS)
		said := len(d.Notes) == 1 && strings.Contains(d.Notes[0], "standby: exempt")
		if d.Skip || said != tc.exempt {
			t.Errorf("%s %s/%s: %+v; want exempt said %v, not skipped", tc.o.GetKind(), tc.o.GetNamespace(), tc.o.GetName(), d, tc.exempt)
		}
		if n, found, _ := unstructured.NestedInt64(tc.o.Object, "spec", "replicas"); tc.replicas >= 0 && (!found || n != tc.replicas) {
			t.Errorf("%s: replicas %d, want %d", tc.o.GetKind(), n, tc.replicas)
		}
	}
	hooks := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": "h"}, "webhooks": []any{
			map[string]any{"name": "a.example", "failurePolicy": "Fail", "clientConfig": map[string]any{"service": map[string]any{"namespace": "agents", "name": "a"}}},
			map[string]any{"name": "b.example", "failurePolicy": "Fail", "clientConfig": map[string]any{"service": map[string]any{"namespace": "shop", "name": "b"}}},
		}}}
	Decide(hooks, sanitize.Decision{}, nil, exemptNS)
	var policies []string
	for _, w := range hooks.Object["webhooks"].([]any) {
		policies = append(policies, w.(map[string]any)["failurePolicy"].(string))
	}
	if strings.Join(policies, ",") != "Fail,Ignore" {
		t.Errorf("failure policies %v; want the exempt namespace's webhook to fail closed still, the other to fail open", policies)
	}
}

func TestParkRestoreRoundTrip(t *testing.T) {
	ds := obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{"os": "linux"}}}}, nil)
	patch, _ := parkPatch(ds, nil)
	sel := patch["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["nodeSelector"]
	if diff := cmp.Diff(map[string]any{ParkedKey: ParkedValue, "os": nil}, sel); diff != "" {
		t.Errorf("park nodeSelector patch (-want +got):\n%s", diff)
	}
	parked := obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{ParkedKey: ParkedValue}}}},
		map[string]any{NodeSelectorAnnotation: `{"os":"linux"}`})
	patch, _, check := restorePatch(parked, nil)
	sel = patch["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["nodeSelector"]
	if diff := cmp.Diff(map[string]any{ParkedKey: nil, "os": "linux"}, sel); diff != "" {
		t.Errorf("restore nodeSelector patch (-want +got):\n%s", diff)
	}
	// Parked again as it was written (the mutating policy just removed, still
	// cached): the check fails and the write is retried.
	if check == nil || check(parked) {
		t.Errorf("check passes on a DaemonSet still parked")
	}
	if restored := obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{"os": "linux"}}}}, nil); !check(restored) {
		t.Errorf("check fails on a restored DaemonSet")
	}
	dep := obj("apps/v1", "Deployment", map[string]any{"replicas": int64(0)}, map[string]any{ReplicasAnnotation: "4"})
	patch, _, check = restorePatch(dep, nil)
	if r := patch["spec"].(map[string]any)["replicas"]; r != int64(4) {
		t.Errorf("restore replicas %v, want 4", r)
	}
	if check(dep) {
		t.Errorf("check passes on an object still at 0")
	}
}

// A record of the active form on an object no longer in standby form (a
// sync wrote it as it is once its namespace became exempt) is dropped, and
// the object's own spec kept: activate must not scale it to an old count.
func TestRestoreDropsAStaleRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		obj     *unstructured.Unstructured
		key     string
		running any
	}{
		{"scaled since", obj("apps/v1", "Deployment", map[string]any{"replicas": int64(2)}, map[string]any{ReplicasAnnotation: "5"}), ReplicasAnnotation,
			map[string]any{"replicas": int64(2)}},
		{"replicas unset", obj("apps/v1", "StatefulSet", map[string]any{}, map[string]any{ReplicasAnnotation: "5"}), ReplicasAnnotation,
			map[string]any{"replicas": int64(1)}},
		{"running CronJob", obj("batch/v1", "CronJob", map[string]any{"suspend": false}, map[string]any{SuspendAnnotation: "false"}), SuspendAnnotation,
			map[string]any{"suspend": false}},
		{"DaemonSet on its nodes", obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{"os": "linux"}}}},
			map[string]any{NodeSelectorAnnotation: `{"os":"windows"}`}), NodeSelectorAnnotation,
			map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{"os": "linux", ParkedKey: nil}}}}},
	} {
		patch, what, check := restorePatch(tc.obj, nil)
		if patch == nil {
			t.Fatalf("%s: no patch: the stale %s stays", tc.name, tc.key)
		}
		// The spec is written as it runs now (so that a retry after the
		// cached mutating policy parked it again puts it back), never parked.
		if diff := cmp.Diff(tc.running, patch["spec"]); diff != "" {
			t.Errorf("%s: patch %v (%s): spec (-want +got):\n%s", tc.name, patch, what, diff)
		}
		// Written again while the record comes back (the mutating policy,
		// removed but still cached, parking it again); done once it is gone.
		if check == nil || check(tc.obj) {
			t.Errorf("%s: the check passes on the object still carrying %s", tc.name, tc.key)
		}
		if dropped := tc.obj.DeepCopy(); check != nil {
			ann := dropped.GetAnnotations()
			delete(ann, tc.key)
			dropped.SetAnnotations(ann)
			if !check(dropped) {
				t.Errorf("%s: the check fails once %s is gone", tc.name, tc.key)
			}
		}
		ann := patch["metadata"].(map[string]any)["annotations"].(map[string]any)
		if v, ok := ann[tc.key]; !ok || v != nil {
			t.Errorf("%s: patch %v does not drop %s", tc.name, patch, tc.key)
		}
	}
	// Parked objects are restored, not merely cleaned.
	parked := obj("apps/v1", "Deployment", map[string]any{"replicas": int64(0)}, map[string]any{ReplicasAnnotation: "5"})
	if patch, _, _ := restorePatch(parked, nil); patch["spec"].(map[string]any)["replicas"] != int64(5) {
		t.Errorf("a parked Deployment: patch %v, want replicas 5", patch)
	}
}

func TestPolicy(t *testing.T) {
	for kind, want := range map[string]int{Mutating: 8, Validating: 6} {
		objs := Policy(kind, "v1", rollouts, false)
		if len(objs) != want {
			t.Fatalf("%s: %d objects, want %d policies (workloads, CronJobs, Jobs; DaemonSets when mutating) and their bindings", kind, len(objs), want/2)
		}
		// Custom kinds with /scale are held with the built-in ones.
		rules, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "matchConstraints", "resourceRules")
		if len(rules) != 2 || !slices.Contains(rules[1].(map[string]any)["resources"].([]any), "rollouts") {
			t.Errorf("%s workloads policy rules %v: want apps and argoproj.io rollouts", kind, rules)
		}
		// Cluster-wide: every namespace (those created later too) but the
		// system ones, tandem's own and exempt ones.
		b := objs[1]
		sel, _, _ := unstructured.NestedMap(b.Object, "spec", "matchResources", "namespaceSelector")
		if _, byLabel := sel["matchLabels"]; byLabel {
			t.Errorf("%s binding: namespaceSelector %v selects by label: a namespace created later would not be held", kind, sel)
		}
		exprs, _, _ := unstructured.NestedSlice(sel, "matchExpressions")
		var keys []string
		for _, e := range exprs {
			keys = append(keys, e.(map[string]any)["key"].(string))
		}
		if !slices.Contains(keys, ExemptLabel) || !slices.Contains(keys, "kubernetes.io/metadata.name") {
			t.Errorf("%s binding: namespaceSelector %v leaves out neither exempt nor system namespaces", kind, sel)
		}
		if kind == Validating {
			msg, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "validations")
			if !strings.Contains(msg[0].(map[string]any)["message"].(string), "run tandem activate") {
				t.Errorf("validating policy message: %v", msg)
			}
		}
	}
}

// The /scale guard covers the custom kinds' /scale too, for UPDATE only.
func TestScalePolicyCoversCustomKinds(t *testing.T) {
	objs := ScalePolicy("v1", rollouts, false)
	rules, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "matchConstraints", "resourceRules")
	var got []string
	for _, r := range rules {
		m := r.(map[string]any)
		if ops := m["operations"].([]any); len(ops) != 1 || ops[0] != "UPDATE" {
			t.Errorf("scale rule %v: operations %v, want UPDATE", m["apiGroups"], ops)
		}
		for _, res := range m["resources"].([]any) {
			got = append(got, res.(string))
		}
	}
	if !slices.Contains(got, "rollouts/scale") || !slices.Contains(got, "deployments/scale") {
		t.Fatalf("scale guard resources %v: want deployments/scale and rollouts/scale", got)
	}
}

// A Job running in a cluster being parked is suspended (its pods go) and
// comes back as it was on activate; a finished one is left alone.
func TestJobParkedAndRestored(t *testing.T) {
	running := obj("batch/v1", "Job", map[string]any{"parallelism": int64(1)}, nil)
	patch, _ := parkPatch(running, nil)
	if patch == nil || patch["spec"].(map[string]any)["suspend"] != true {
		t.Fatalf("park patch of a running Job: %v", patch)
	}
	parked := obj("batch/v1", "Job", map[string]any{"suspend": true}, map[string]any{SuspendAnnotation: "false"})
	if p, _ := parkPatch(parked, nil); p != nil {
		t.Fatalf("a parked Job parked again: %v", p)
	}
	restore, _, check := restorePatch(parked, nil)
	if restore == nil || restore["spec"].(map[string]any)["suspend"] != false || check(parked) {
		t.Fatalf("restore of a parked Job: %v", restore)
	}
	done := obj("batch/v1", "Job", map[string]any{}, nil)
	done.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}
	if p, _ := parkPatch(done, nil); p != nil {
		t.Fatalf("a finished Job parked: %v", p)
	}
}

// Activate restores a ReplicaSet through its Deployment (or a custom scaled
// kind that owns it), never by itself: its copied tandem.io/replicas would
// start an old revision's pods. What another controller owns, and what no
// controller owns, it restores.
func TestRestoredThroughOwner(t *testing.T) {
	kinds := ScaleKinds{{Group: "argoproj.io", Kind: "Rollout"}: {Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}}
	owned := func(kind, apiVersion, ownerAPIVersion, ownerKind string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion(apiVersion)
		o.SetKind(kind)
		o.SetName("x")
		if ownerKind != "" {
			yes := true
			o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: ownerAPIVersion, Kind: ownerKind, Name: "owner", UID: "u", Controller: &yes}})
		}
		return o
	}
	for _, c := range []struct {
		obj  *unstructured.Unstructured
		want bool
	}{
		{owned("ReplicaSet", "apps/v1", "apps/v1", "Deployment"), true},
		{owned("ReplicaSet", "apps/v1", "argoproj.io/v1alpha1", "Rollout"), true},
		{owned("ReplicaSet", "apps/v1", "", ""), false},
		{owned("StatefulSet", "apps/v1", "postgres.example.io/v1", "Cluster"), false},
		{owned("ReplicaSet", "apps/v1", "extensions.example.io/v1", "Deployment"), false}, // another group's Deployment
	} {
		if got := restoredThroughOwner(c.obj, kinds); got != c.want {
			t.Errorf("%s owned by %v: %v, want %v", c.obj.GetKind(), c.obj.GetOwnerReferences(), got, c.want)
		}
	}
}

// Deactivate leaves a Deployment's ReplicaSet to kube-controller-manager,
// which scales it with the Deployment; whatever else a controller owns is
// parked by itself: its controller (an operator, Argo Rollouts) is parked
// too and would never write it again.
func TestParkedThroughOwner(t *testing.T) {
	owned := func(apiVersion, kind string) *unstructured.Unstructured {
		o := obj("apps/v1", "StatefulSet", map[string]any{"replicas": int64(3)}, nil)
		if kind != "" {
			yes := true
			o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "owner", Controller: &yes}})
		}
		return o
	}
	for _, tc := range []struct {
		name string
		obj  *unstructured.Unstructured
		want bool
	}{
		{"a Deployment's", owned("apps/v1", "Deployment"), true},
		{"an operator's", owned("rabbitmq.com/v1beta1", "RabbitmqCluster"), false},
		{"an Argo Rollout's", owned("argoproj.io/v1alpha1", "Rollout"), false},
		{"a CronJob's", owned("batch/v1", "CronJob"), false},
		{"a custom kind named Deployment", owned("example.com/v1", "Deployment"), false},
		{"no controller", owned("", ""), false},
	} {
		if got := parkedThroughOwner(tc.obj); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A DaemonSet carrying a record but running on its nodes (the record is
// stale) is parked again, its selector now recorded; a parked one is left.
func TestParkDaemonSetWithAStaleRecord(t *testing.T) {
	running := obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{"os": "linux"}}}},
		map[string]any{NodeSelectorAnnotation: `{"os":"windows"}`})
	patch, _ := parkPatch(running, nil)
	if patch == nil {
		t.Fatalf("a DaemonSet on its nodes with a stale record is not parked")
	}
	if got := patch["metadata"].(map[string]any)["annotations"].(map[string]any)[NodeSelectorAnnotation]; got != `{"os":"linux"}` {
		t.Errorf("recorded selector %v, want the one it runs with", got)
	}
	parked := obj("apps/v1", "DaemonSet", map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": map[string]any{ParkedKey: ParkedValue}}}},
		map[string]any{NodeSelectorAnnotation: `{"os":"linux"}`})
	if patch, _ := parkPatch(parked, nil); patch != nil {
		t.Errorf("a parked DaemonSet parked again: %v", patch)
	}
}

// Only a restore that lets a CronJob run moves its schedule to now.
func TestUnsuspends(t *testing.T) {
	cj := obj("batch/v1", "CronJob", map[string]any{"suspend": true}, map[string]any{SuspendAnnotation: "false"})
	patch, _, _ := restorePatch(cj, nil)
	if !unsuspends(patch) {
		t.Errorf("restore of a CronJob recorded running: %v, want it unsuspended", patch)
	}
	held := obj("batch/v1", "CronJob", map[string]any{"suspend": true}, map[string]any{SuspendAnnotation: "true"})
	if patch, _, _ := restorePatch(held, nil); unsuspends(patch) {
		t.Errorf("restore of a CronJob recorded suspended: %v unsuspends it", patch)
	}
	if unsuspends(map[string]any{"metadata": map[string]any{}}) {
		t.Errorf("a patch of annotations only unsuspends")
	}
}

// A deactivate that names its namespaces holds only those (labelled
// tandem.io/standby=true): every binding, the guards' too, selects the label.
func TestPolicyOfNamedNamespacesHoldsOnlyThose(t *testing.T) {
	for _, onlyLabelled := range []bool{false, true} {
		objs := append(Policy(Mutating, "v1", nil, onlyLabelled), ScalePolicy("v1", nil, onlyLabelled)...)
		bindings := 0
		for _, o := range objs {
			if !strings.HasSuffix(o.GetKind(), "Binding") {
				continue
			}
			bindings++
			exprs, _, _ := unstructured.NestedSlice(o.Object, "spec", "matchResources", "namespaceSelector", "matchExpressions")
			labelled := slices.ContainsFunc(exprs, func(e any) bool {
				m := e.(map[string]any)
				return m["key"] == NamespaceLabel && m["operator"] == "In" && slices.Equal(m["values"].([]any), []any{"true"})
			})
			if labelled != onlyLabelled {
				t.Errorf("onlyLabelled %v: binding %s selects %v", onlyLabelled, o.GetName(), exprs)
			}
		}
		if bindings < 7 {
			t.Errorf("onlyLabelled %v: %d bindings, want every policy's", onlyLabelled, bindings)
		}
	}
}

// An aggregated API served from a namespace the standby parks would answer
// nothing there, and the cluster's discovery of it would fail: a standby
// holds it back (Skip, Held), saying why; served from kube-system or an
// exempt namespace, it runs, and is copied with nothing said.
func TestDecideHoldsBackTheAggregatedAPIsAStandbyStops(t *testing.T) {
	api := func(ns string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
			"metadata": map[string]any{"name": "v1beta1.external.metrics.k8s.io"},
			"spec": map[string]any{"group": "external.metrics.k8s.io", "version": "v1beta1",
				"service": map[string]any{"namespace": ns, "name": "keda-operator-metrics-apiserver"}}}}
	}
	exemptNS := func(ns string) bool { return ns == "agents" }
	for ns, want := range map[string]bool{"keda": true, "kube-system": false, "agents": false} {
		d := Decide(api(ns), sanitize.Decision{}, nil, exemptNS)
		said := strings.Contains(d.Reason, "held back until activate") && strings.Contains(d.Reason, "external.metrics.k8s.io/v1beta1 would answer nothing") &&
			strings.Contains(d.Reason, "label namespace "+ns+" "+ExemptLabel+"=true")
		if d.Skip != want || d.Held != want || said != want || len(d.Notes) > 0 {
			t.Errorf("served from %s: %+v; want it held back: %v", ns, d, want)
		}
	}
	local := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1.apps"}, "spec": map[string]any{"group": "apps", "version": "v1"}}}
	if d := Decide(local, sanitize.Decision{}, nil, exemptNS); len(d.Notes) > 0 {
		t.Errorf("a local APIService: %+v; want nothing said", d)
	}
}
