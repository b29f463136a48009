package mirror

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

func TestNotOurs(t *testing.T) {
	obj := func(annotated bool, managers ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "n"}}}
		if annotated {
			o.SetAnnotations(map[string]string{"tandem.io/source-hash": "abc"})
		}
		o.SetManagedFields(managers)
		return o
	}
	tandem := metav1.ManagedFieldsEntry{Manager: "tandem", Operation: metav1.ManagedFieldsOperationApply}
	kubectl := metav1.ManagedFieldsEntry{Manager: "kubectl-create", Operation: metav1.ManagedFieldsOperationUpdate}
	status := metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"}
	for _, c := range []struct {
		o    *unstructured.Unstructured
		want string
	}{
		{obj(true, tandem), ""},
		{obj(true, tandem, status), ""},
		{obj(false, kubectl), "not created by tandem"},
		{obj(true, kubectl, tandem), "also managed by kubectl-create"},
	} {
		if got := notOurs(c.o); got != c.want {
			t.Errorf("notOurs(%v) = %q, want %q", c.o.GetManagedFields(), got, c.want)
		}
	}
}

// The informers' cache keeps what names an object and its resourceVersion,
// nothing of its labels, annotations or managers.
func TestIdentityKeepsOnlyWhatNamesTheObject(t *testing.T) {
	in := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cfg", UID: "u1", ResourceVersion: "42",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"big": "copy"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}, Finalizers: []string{"f"}},
	}
	out, err := identity(in)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := out.(metav1.Object)
	if !ok {
		t.Fatalf("identity(%+v) = %T, not a metav1.Object: the cache cannot key it", in, out)
	}
	if got.GetNamespace() != "shop" || got.GetName() != "cfg" || got.GetResourceVersion() != "42" {
		t.Errorf("identity kept %s/%s at %s, want shop/cfg at 42", got.GetNamespace(), got.GetName(), got.GetResourceVersion())
	}
	if len(got.GetLabels()) != 0 || len(got.GetAnnotations()) != 0 || len(got.GetManagedFields()) != 0 || len(got.GetFinalizers()) != 0 {
		t.Errorf("identity kept more than what names the object: %+v", got)
	}
	if key, err := cache.MetaNamespaceKeyFunc(out); err != nil || key != "shop/cfg" {
		t.Errorf("the cache keys it %q (%v), want shop/cfg", key, err)
	}
	if ns, err := cache.MetaNamespaceIndexFunc(out); err != nil || len(ns) != 1 || ns[0] != "shop" {
		t.Errorf("the namespace index reads %v (%v), want [shop]", ns, err)
	}
	if in.Labels["app"] != "web" || len(in.ManagedFields) != 1 {
		t.Error("identity changed the object it was given")
	}
}
