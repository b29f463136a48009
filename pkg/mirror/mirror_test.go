package mirror

import (
	"testing"

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
