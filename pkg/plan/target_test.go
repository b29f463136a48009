package plan

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A copy carries the hash, is written by tandem and has no controller: a
// Deployment's ReplicaSet carries its Deployment's annotations, the hash
// among them, and is the target's own — orphaned too.
func TestCopiedLeavesOutWhatAControllerOwns(t *testing.T) {
	yes := true
	hashed := map[string]string{HashAnnotation: "h"}
	byTandem := []metav1.ManagedFieldsEntry{{Manager: CreateManager}, {Manager: "kube-controller-manager", Subresource: "status"}}
	byController := []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}}
	for _, c := range []struct {
		name string
		meta metav1.ObjectMeta
		want bool
	}{
		{"a copy", metav1.ObjectMeta{Annotations: hashed, ManagedFields: byTandem}, true},
		{"a copy with an owner that is not its controller", metav1.ObjectMeta{Annotations: hashed, ManagedFields: byTandem,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "anchor"}}}, true},
		{"a Deployment's ReplicaSet", metav1.ObjectMeta{Annotations: hashed, ManagedFields: byController,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Controller: &yes}}}, false},
		{"a ReplicaSet orphaned by its Deployment's delete (--cascade=orphan)", metav1.ObjectMeta{Annotations: hashed, ManagedFields: byController}, false},
		{"the target's own", metav1.ObjectMeta{ManagedFields: byController}, false},
	} {
		if got := Copied(&c.meta); got != c.want {
			t.Errorf("%s: Copied = %v, want %v", c.name, got, c.want)
		}
	}
}

// An object of the target was written by tandem when it has its hash, or
// fields of one of tandem's field managers (apply takes an owner read from
// the target only then).
func TestWrittenByTandem(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    metav1.PartialObjectMetadata
		want bool
	}{
		{"hash", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{HashAnnotation: "0123"}}}, true},
		{"created by tandem", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}, {Manager: CreateManager}}}}, true},
		{"applied by tandem", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: FieldManager}}}}, true},
		{"the target's own", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-create"}}}}, false},
	} {
		if got := WrittenByTandem(&tc.o); got != tc.want {
			t.Errorf("%s: WrittenByTandem = %v, want %v", tc.name, got, tc.want)
		}
	}
}
