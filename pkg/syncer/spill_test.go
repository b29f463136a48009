package syncer

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/pkg/plan"
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
			"annotations":     map[string]any{plan.LastAppliedAnnotation: `{"big":"copy"}`, "keep": "me"},
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
	sk := sketch(cm, newInterner(), refs[1])
	if sk.Content() != nil {
		t.Errorf("the sketch of a ConfigMap keeps its content %v: nothing the selection reads", sk.Content().Object)
	}
	if sk.GetLabels()["app"] != "web" || len(sk.GetOwnerReferences()) != 1 || sk.GetName() != "cfg" || sk.GetNamespace() != "shop" ||
		sk.GroupVersionKind() != cm.GroupVersionKind() || plan.KeyOf(sk) != plan.KeyOf(cm) || sk.ref != refs[1] {
		t.Errorf("sketch lost what names it, its labels, owners or place in the spill: %+v", sk)
	}
	if _, ok := cm.Object["data"]; !ok || cm.GetAnnotations()[plan.LastAppliedAnnotation] == "" {
		t.Error("sketch changed the object it was made from")
	}
	// A workload keeps what its pod template names (ConfigMaps, Secrets, a
	// ServiceAccount: plan.Essential), not its status, managedFields,
	// annotations or kubectl's copy.
	d := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop",
			"annotations":   map[string]any{plan.LastAppliedAnnotation: "{}", "keep": "me"},
			"managedFields": []any{map[string]any{"manager": "kubectl"}}},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{"spec": map[string]any{"serviceAccountName": "web"}}},
		"status": map[string]any{"replicas": int64(3)},
	}}
	dk := sketch(d, newInterner(), spillRef{}).Content()
	if sa, _, _ := unstructured.NestedString(dk.Object, "spec", "template", "spec", "serviceAccountName"); sa != "web" {
		t.Errorf("the sketch of a Deployment lost its pod template: %v", dk.Object)
	}
	if _, has, _ := unstructured.NestedFieldNoCopy(dk.Object, serviceSelector...); has {
		t.Errorf("the sketch of a Deployment keeps its selector (only a Service's is read): %v", dk.Object)
	}
	if dk.Object["status"] != nil || dk.GetManagedFields() != nil || dk.GetAnnotations() != nil || dk.GetName() != "web" {
		t.Errorf("the sketch of a Deployment: %v; want its name and pod template's references, no status, managedFields or annotations", dk.Object)
	}
	// A Service keeps its selector and clusterIP (the sanitizers' context).
	svc := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec":     map[string]any{"selector": map[string]any{"app": "web"}, "clusterIP": "10.0.0.9", "ports": []any{map[string]any{"port": int64(80)}}}}}
	sc := sketch(svc, newInterner(), spillRef{}).Content()
	if sel, _, _ := unstructured.NestedStringMap(sc.Object, serviceSelector...); sel["app"] != "web" || sourceClusterIPs([]plan.Object{sketch(svc, newInterner(), spillRef{})})["10.0.0.9"] != "shop/web" {
		t.Errorf("the sketch of a Service lost its selector or clusterIP: %v", sc.Object)
	}
	if _, has, _ := unstructured.NestedFieldNoCopy(sc.Object, "spec", "ports"); has {
		t.Errorf("the sketch of a Service keeps its ports: %v", sc.Object)
	}
	// A workload a controller owns is named only: its references come through its controller.
	yes := true
	d.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u", Controller: &yes}})
	if sketch(d, newInterner(), spillRef{}).Content() != nil {
		t.Error("the sketch of a controller-owned workload keeps its spec")
	}
	ref := refOf(cm)
	if ref.Name != "cfg" || ref.Namespace != "shop" || ref.Kind != "ConfigMap" || ref.APIVersion != "v1" || len(ref.Owners) != 1 || ref.Key() != plan.KeyOf(cm) {
		t.Errorf("refOf %+v: want the ConfigMap's identity and its owner", ref)
	}
}

// The selection works on sketches as on whole objects: a Deployment's
// sketch keeps the pod template that names its ConfigMap, the ConfigMaps'
// sketches keep only what names them and their labels — and the selection
// by label picks the Deployment, the ConfigMap it mounts, and nothing else.
func TestSelectionReadsSketches(t *testing.T) {
	in := newInterner()
	deploy := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "labels": map[string]any{"app": "web"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"volumes": []any{map[string]any{"name": "cfg", "configMap": map[string]any{"name": "web-config"}}}}}},
	}}
	cm := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "shop", "labels": map[string]any{"app": "other"}}, "data": map[string]any{"k": "v"}}}
	}
	raw := []plan.Object{sketch(deploy, in, spillRef{}), sketch(cm("web-config"), in, spillRef{}), sketch(cm("unrelated"), in, spillRef{})}
	got := plan.Select(raw, plan.Selector{Labels: labels.SelectorFromSet(labels.Set{"app": "web"})})
	want := map[plan.ObjectKey]string{
		{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}: "",
		{Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}:          "ConfigMap referenced by Deployment shop/web",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("selection over sketches: %v, want %v", got, want)
	}
}

// A stored object is sent as it was spilled, its hash stamped, and read
// back whole without the stamp: what it was before, with or without
// annotations of its own.
func TestStoredBodyCarriesTheHashLoadDoesNot(t *testing.T) {
	sp, err := newSpill()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	for _, ann := range []map[string]any{nil, {"keep": "me"}} {
		md := map[string]any{"name": "cfg", "namespace": "shop"}
		if ann != nil {
			md["annotations"] = ann
		}
		o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": map[string]any{"k": "v"}}}
		want := o.DeepCopy()
		hash := plan.Hash(o)
		st, err := sp.putStamped(o, hash)
		if err != nil {
			t.Fatal(err)
		}
		body, err := st.Body()
		if err != nil {
			t.Fatal(err)
		}
		sent := &unstructured.Unstructured{}
		if err := sent.UnmarshalJSON(body); err != nil {
			t.Fatal(err)
		}
		if got := sent.GetAnnotations()[plan.HashAnnotation]; got != hash || plan.Hash(sent) != hash {
			t.Errorf("body's hash annotation %q, want %q (and the body's content the same)", got, hash)
		}
		back, err := st.Load()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Object, want.Object) {
			t.Errorf("loaded %v, want the object as it was %v", back.Object, want.Object)
		}
	}
}
