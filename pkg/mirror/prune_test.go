package mirror

import (
	"errors"
	"net/http"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
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

// What sync leaves behind because a copy would act (ExternalDNS, a
// binding, a run) is someone's in the target: it keeps its namespace from
// a prune, where the cluster's own objects do not.
func TestOthersInCountsWhatSyncLeavesBecauseItWouldAct(t *testing.T) {
	helm := []metav1.ManagedFieldsEntry{{Manager: "helm"}}
	externalDNS := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "external-dns", "namespace": "dns"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "external-dns", "image": "registry.k8s.io/external-dns/external-dns:v0.15.1", "args": []any{"--txt-owner-id=green"}}}}}}}}
	externalDNS.SetManagedFields(helm)
	binding := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
		"metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{"targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web-green/1"}}}
	binding.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl-create"}})
	caBundle := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "kube-root-ca.crt", "namespace": "shop"}}}
	caBundle.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}, {Manager: "someone"}})
	// The endpoints controller of a cluster whose controllers write under
	// another name (k3s) makes Endpoints without owners: theirs when the
	// target's Service selects pods, someone's when it does not.
	endpoints := func(name string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Endpoints",
			"metadata": map[string]any{"name": name, "namespace": "shop"}}}
		o.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "k3s"}})
		return o
	}
	target := sanitize.Context{ServiceHasSelector: func(ns, name string) bool { return ns == "shop" && name == "web" }}
	for _, c := range []struct {
		o    *unstructured.Unstructured
		sc   sanitize.Context
		want string
	}{
		{externalDNS, sanitize.Context{}, "written by helm"},
		{binding, sanitize.Context{}, "written by kubectl-create"},
		{caBundle, sanitize.Context{}, ""},
		{endpoints("web"), target, ""},
		{endpoints("external-db"), target, "written by k3s"},
	} {
		if got := othersIn(c.o, c.sc); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.o.GetKind(), c.o.GetName(), got, c.want)
		}
	}
}

// Only a NotFound that names the object says it is gone: a 404 for the
// resource (a version no longer served) says nothing of it.
func TestObjectGone(t *testing.T) {
	cm := schema.GroupResource{Resource: "configmaps"}
	if !objectGone(apierrors.NewNotFound(cm, "app"), "app") {
		t.Error("NotFound naming the object: not taken as gone")
	}
	if objectGone(apierrors.NewNotFound(cm, "other"), "app") {
		t.Error("NotFound naming another object taken as this one gone")
	}
	if objectGone(apierrors.NewGenericServerResponse(http.StatusNotFound, "get", schema.GroupResource{Group: "example.com", Resource: "widgets"}, "", "the server could not find the requested resource", 0, false), "app") {
		t.Error("a 404 for the resource taken as the object gone")
	}
	if objectGone(errors.New("connection refused"), "app") {
		t.Error("a transport error taken as the object gone")
	}
}
