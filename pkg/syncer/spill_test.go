package syncer

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSpillRoundTripAndSketch(t *testing.T) {
	sp, err := newSpill()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "cfg", "namespace": "shop", "labels": map[string]any{"app": "web"},
			"annotations":     map[string]any{lastApplied: `{"big":"copy"}`, "keep": "me"},
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u1"}}},
		"data":   map[string]any{"k": "v", "n": "1"},
		"status": map[string]any{"x": int64(1)},
	}}
	var refs []spillRef
	for i := 0; i < 3; i++ {
		ref, err := sp.put(cm)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	for _, ref := range refs {
		back, err := sp.get(ref)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Object, cm.Object) {
			t.Fatalf("read back %v, want %v", back.Object, cm.Object)
		}
	}
	sk := sketch(cm)
	if _, ok := sk.Object["data"]; ok {
		t.Error("the sketch of a ConfigMap keeps its data")
	}
	if _, ok := sk.Object["status"]; ok {
		t.Error("the sketch keeps status")
	}
	if a := sk.GetAnnotations(); a[lastApplied] != "" || a["keep"] != "me" {
		t.Errorf("sketch annotations %v: want last-applied dropped, the rest kept", a)
	}
	if sk.GetLabels()["app"] != "web" || len(sk.GetOwnerReferences()) != 1 {
		t.Errorf("sketch lost labels or owners: %v", sk.Object["metadata"])
	}
	if _, ok := cm.Object["data"]; !ok || cm.GetAnnotations()[lastApplied] == "" {
		t.Error("sketch changed the object it was made from")
	}
	st := stub(cm)
	if st.GetName() != "cfg" || st.GetNamespace() != "shop" || st.GetKind() != "ConfigMap" || len(st.GetOwnerReferences()) != 1 || st.Object["data"] != nil {
		t.Errorf("stub %v: want identity and owners only", st.Object)
	}
}
