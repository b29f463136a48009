package syncer

import (
	"reflect"
	"testing"
)

func TestInternerSharesEqualSets(t *testing.T) {
	in := newInterner()
	a := in.set(map[string]any{"app": "web", "tier": "front"})
	b := in.set(map[string]any{"tier": "front", "app": "web"})
	c := in.set(map[string]any{"app": "web", "tier": "back"})
	if reflect.ValueOf(a).Pointer() != reflect.ValueOf(b).Pointer() {
		t.Error("equal label sets are two maps, want one shared")
	}
	if reflect.ValueOf(a).Pointer() == reflect.ValueOf(c).Pointer() || c["tier"] != "back" {
		t.Errorf("different label sets were merged: %v", c)
	}
	// A key/value split must not collide with another: a=bc vs ab=c.
	if x, y := in.set(map[string]any{"a": "bc"}), in.set(map[string]any{"ab": "c"}); reflect.DeepEqual(x, y) {
		t.Errorf("%v and %v were taken for one set", x, y)
	}
	odd := map[string]any{"n": int64(1)}
	if got := in.set(odd); reflect.ValueOf(got).Pointer() != reflect.ValueOf(odd).Pointer() {
		t.Error("a map with a non-string value was changed, want it returned as it is")
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
	a := in.managers([]any{entry("tandem", "", "t1"), entry("kube-controller-manager", "status", "t1")})
	b := in.managers([]any{entry("tandem", "", "t2"), entry("kube-controller-manager", "status", "t3")})
	want := []any{map[string]any{"manager": "tandem"}, map[string]any{"manager": "kube-controller-manager", "subresource": "status"}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("managers = %v, want %v", a, want)
	}
	if &a[0] != &b[0] {
		t.Error("the same managers at other times are two lists, want one shared")
	}
	if c := in.managers([]any{entry("helm", "", "t1")}); reflect.DeepEqual(c, a) {
		t.Errorf("other managers were taken for the same: %v", c)
	}
}
