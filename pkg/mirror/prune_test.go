package mirror

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

func TestMadeByOthers(t *testing.T) {
	obj := func(kind, name string, hash bool, managers ...string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: map[string]any{"kind": kind, "metadata": map[string]any{"name": name}}}
		if hash {
			o.SetAnnotations(map[string]string{plan.HashAnnotation: "h"})
		}
		var mfs []metav1.ManagedFieldsEntry
		for _, m := range managers {
			mfs = append(mfs, metav1.ManagedFieldsEntry{Manager: m})
		}
		o.SetManagedFields(mfs)
		return o
	}
	tests := []struct {
		name string
		o    *unstructured.Unstructured
		want string
	}{
		{"tandem's", obj("ConfigMap", "a", true, plan.FieldManager), ""},
		{"the default service account", obj("ServiceAccount", "default", false, "kube-controller-manager"), ""},
		{"written by the cluster", obj("Endpoints", "svc", false, "kube-controller-manager"), ""},
		{"a user's", obj("ConfigMap", "theirs", false, "kubectl-create"), "written by kubectl-create"},
		{"tandem's, changed by helm", obj("ConfigMap", "b", true, plan.FieldManager, "helm"), "written by helm"},
		{"no trace of anyone", obj("ConfigMap", "c", false), "not created by tandem"},
	}
	for _, tt := range tests {
		if got := madeByOthers(tt.o); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
