package mirror

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	got := out.(*metav1.PartialObjectMetadata)
	want := &metav1.PartialObjectMetadata{TypeMeta: in.TypeMeta, ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cfg", UID: "u1", ResourceVersion: "42"}}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("identity(%+v) = %+v, want %+v", in, got, want)
	}
	if in.Labels["app"] != "web" || len(in.ManagedFields) != 1 {
		t.Error("identity changed the object it was given")
	}
}
