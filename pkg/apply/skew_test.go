package apply

import (
	"reflect"
	"testing"
)

// Two claim templates that differ only by an empty creationTimestamp (how
// Kubernetes v1.30 writes it, v1.37 leaves it out) are the same; any other difference,
// or a creationTimestamp that is set, is not.
func TestWithoutNullCreation(t *testing.T) {
	tmpl := func(md map[string]any) []any {
		return []any{map[string]any{"metadata": md, "spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}}}}
	}
	older := tmpl(map[string]any{"name": "data", "creationTimestamp": nil})
	newer := tmpl(map[string]any{"name": "data"})
	if !reflect.DeepEqual(withoutNullCreation(older), withoutNullCreation(newer)) {
		t.Errorf("null creationTimestamp against none: want the same")
	}
	if _, has := older[0].(map[string]any)["metadata"].(map[string]any)["creationTimestamp"]; !has {
		t.Errorf("withoutNullCreation changed its argument")
	}
	for name, other := range map[string][]any{
		"another name":    tmpl(map[string]any{"name": "logs"}),
		"a set timestamp": tmpl(map[string]any{"name": "data", "creationTimestamp": "2026-12-06T00:00:00Z"}),
		"a label more":    tmpl(map[string]any{"name": "data", "labels": map[string]any{"a": "b"}}),
		"a template more": append(tmpl(map[string]any{"name": "data"}), map[string]any{"metadata": map[string]any{"name": "x"}}),
	} {
		if reflect.DeepEqual(withoutNullCreation(older), withoutNullCreation(other)) {
			t.Errorf("%s: want a difference", name)
		}
	}
}
