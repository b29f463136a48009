package standby

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

// What a stash keeps of an APIService is what is written back: not what the
// apiserver sets, not its owners; a copy with tandem's hash (the sync after
// activate finds it unchanged), the cluster's own without one (no prune
// takes it for a copy).
func TestHeldForm(t *testing.T) {
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.external.metrics.k8s.io", "uid": "u", "resourceVersion": "7", "creationTimestamp": "2026-12-07T00:00:00Z",
			"managedFields":   []any{map[string]any{"manager": "helm"}},
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "src-uid"}},
			"annotations":     map[string]any{plan.HashAnnotation: "stale", "keep": "me"}},
		"spec":   map[string]any{"group": "external.metrics.k8s.io", "version": "v1beta1", "service": map[string]any{"namespace": "keda", "name": "m"}},
		"status": map[string]any{"conditions": []any{}},
	}}
	for _, copy := range []bool{true, false} {
		o := heldForm(live, copy)
		md := o.Object["metadata"].(map[string]any)
		for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "ownerReferences"} {
			if _, ok := md[f]; ok {
				t.Errorf("copy %v: metadata.%s kept", copy, f)
			}
		}
		if _, ok := o.Object["status"]; ok {
			t.Errorf("copy %v: status kept", copy)
		}
		a := o.GetAnnotations()
		if a["keep"] != "me" {
			t.Errorf("copy %v: annotations %v, want its own kept", copy, a)
		}
		switch h, ok := a[plan.HashAnnotation]; {
		case copy && h != plan.Hash(o):
			t.Errorf("copy: hash %q, want %q (its content's)", h, plan.Hash(o))
		case !copy && ok:
			t.Errorf("the cluster's own: hash %q kept, want none", h)
		}
	}
	if _, ok := live.Object["status"]; !ok {
		t.Error("heldForm changed the object it was given")
	}
}
