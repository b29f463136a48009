package syncer

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

func TestInternerSharesEqualSets(t *testing.T) {
	in := newInterner()
	a := in.stringMap(map[string]any{"app": "web", "tier": "front"})
	b := in.stringMap(map[string]any{"tier": "front", "app": "web"})
	c := in.stringMap(map[string]any{"app": "web", "tier": "back"})
	if reflect.ValueOf(a).Pointer() != reflect.ValueOf(b).Pointer() {
		t.Error("equal label sets are two maps, want one shared")
	}
	if reflect.ValueOf(a).Pointer() == reflect.ValueOf(c).Pointer() || c["tier"] != "back" {
		t.Errorf("different label sets were merged: %v", c)
	}
	// A key/value split must not collide with another: a=bc vs ab=c.
	if x, y := in.stringMap(map[string]any{"a": "bc"}), in.stringMap(map[string]any{"ab": "c"}); reflect.DeepEqual(x, y) {
		t.Errorf("%v and %v were taken for one set", x, y)
	}
	if got := in.stringMap(map[string]any{"n": int64(1)}); got != nil {
		t.Errorf("a map with a non-string value: %v, want nil (labels and annotations are strings)", got)
	}
}

func TestInternerTrimsManagers(t *testing.T) {
	in := newInterner()
	entry := func(mgr, sub, time string) any {
		e := map[string]any{"manager": mgr, "operation": "Apply", "time": time, "fieldsV1": map[string]any{"f:data": map[string]any{}}}
		if sub != "" {
			e["subresource"] = sub
		}
		return e
	}
	managers := func(entries ...any) []plan.ManagedEntry {
		return in.managers(plan.ManagersOf(&unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"managedFields": entries}}}))
	}
	a := managers(entry("tandem", "", "t1"), entry("kube-controller-manager", "status", "t1"))
	b := managers(entry("tandem", "", "t2"), entry("kube-controller-manager", "status", "t3"))
	want := []plan.ManagedEntry{{Manager: "tandem"}, {Manager: "kube-controller-manager", Subresource: "status"}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("managers = %v, want %v", a, want)
	}
	if &a[0] != &b[0] {
		t.Error("the same managers at other times are two lists, want one shared")
	}
	if c := managers(entry("helm", "", "t1")); reflect.DeepEqual(c, a) {
		t.Errorf("other managers were taken for the same: %v", c)
	}
}

// What a sync keeps of a target object is what plan.TargetOf reads of it
// whole — the hash, the GitOps and DNS marks, the managers — without
// kubectl's last-applied copy, and its labels shared with an equal object's.
func TestTargetOfKeepsWhatDecisionsRead(t *testing.T) {
	obj := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{
			"name": name, "namespace": "shop", "uid": "uid-" + name,
			"labels":      map[string]any{"app.kubernetes.io/managed-by": "Helm"},
			"annotations": map[string]any{plan.HashAnnotation: "h-" + name, plan.LastAppliedAnnotation: "{}", "meta.helm.sh/release-name": "web"},
			"managedFields": []any{map[string]any{"manager": "helm", "operation": "Update", "fieldsV1": map[string]any{}},
				map[string]any{"manager": "tandem", "operation": "Apply"}},
		}}}
	}
	in := newInterner()
	ca, cb := targetOf(obj("a"), in), targetOf(obj("b"), in)
	a, b := ca.target("shop"), cb.target("shop")
	want := plan.TargetOf(obj("a"))
	if !reflect.DeepEqual(a, want) {
		t.Errorf("targetOf = %+v, want %+v", a, want)
	}
	if a.Annotations[plan.LastAppliedAnnotation] != "" || a.Hash != "h-a" || !a.Hashed || a.UID != "uid-a" {
		t.Errorf("targetOf = %+v: want the hash and UID, no last-applied copy", a)
	}
	if reflect.ValueOf(a.Labels).Pointer() != reflect.ValueOf(b.Labels).Pointer() || reflect.ValueOf(a.Annotations).Pointer() != reflect.ValueOf(b.Annotations).Pointer() {
		t.Error("two objects' equal labels and annotations are held twice, want them shared")
	}
}
