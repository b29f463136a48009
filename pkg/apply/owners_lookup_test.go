package apply

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/plan"
)

// An owner read from the target is taken only when tandem wrote it: by its
// hash, or by one of tandem's field managers.
func TestOwnerWrittenByTandem(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    metav1.PartialObjectMetadata
		want bool
	}{
		{"hash", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{plan.HashAnnotation: "0123"}}}, true},
		{"created by tandem", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}, {Manager: plan.CreateManager}}}}, true},
		{"applied by tandem", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: plan.FieldManager}}}}, true},
		{"the target's own", metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-create"}}}}, false},
	} {
		if got := writtenByTandem(&tc.o); got != tc.want {
			t.Errorf("%s: writtenByTandem = %v, want %v", tc.name, got, tc.want)
		}
	}
}
