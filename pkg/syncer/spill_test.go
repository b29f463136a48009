package syncer

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	sk := sketch(cm, newInterner())
	if _, ok := sk.Object["data"]; ok {
		t.Error("the sketch of a ConfigMap keeps its data")
	}
	if sk.GetAnnotations() != nil {
		t.Errorf("the sketch of a ConfigMap keeps annotations %v: nothing the selection reads", sk.GetAnnotations())
	}
	if sk.GetLabels()["app"] != "web" || len(sk.GetOwnerReferences()) != 1 || sk.GetName() != "cfg" || sk.GetNamespace() != "shop" {
		t.Errorf("sketch lost what names it, its labels or owners: %v", sk.Object["metadata"])
	}
	if _, ok := cm.Object["data"]; !ok || cm.GetAnnotations()[lastApplied] == "" {
		t.Error("sketch changed the object it was made from")
	}
	// A workload keeps its spec (its pod template names ConfigMaps,
	// Secrets, a ServiceAccount), without status, managedFields or kubectl's copy.
	d := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop",
			"annotations":   map[string]any{lastApplied: "{}", "keep": "me"},
			"managedFields": []any{map[string]any{"manager": "kubectl"}}},
		"spec":   map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccountName": "web"}}},
		"status": map[string]any{"replicas": int64(3)},
	}}
	dk := sketch(d, newInterner())
	if sa, _, _ := unstructured.NestedString(dk.Object, "spec", "template", "spec", "serviceAccountName"); sa != "web" {
		t.Errorf("the sketch of a Deployment lost its pod template: %v", dk.Object)
	}
	if dk.Object["status"] != nil || dk.GetManagedFields() != nil || dk.GetAnnotations()[lastApplied] != "" || dk.GetAnnotations()["keep"] != "me" {
		t.Errorf("the sketch of a Deployment: %v; want no status, managedFields or last-applied, other annotations kept", dk.Object)
	}
	// A workload a controller owns is named only: its references come through its controller.
	yes := true
	d.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u", Controller: &yes}})
	if sketch(d, newInterner()).Object["spec"] != nil {
		t.Error("the sketch of a controller-owned workload keeps its spec")
	}
	st := stub(cm)
	if st.GetName() != "cfg" || st.GetNamespace() != "shop" || st.GetKind() != "ConfigMap" || len(st.GetOwnerReferences()) != 1 || st.Object["data"] != nil {
		t.Errorf("stub %v: want identity and owners only", st.Object)
	}
}
