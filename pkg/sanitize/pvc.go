package sanitize

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pvcBindAnnotations are written by the source's PV controller and scheduler
// while binding; left in place they would make the target think the claim is bound.
var pvcBindAnnotations = []string{
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
}

// sanitizePVC unbinds the claim: the source's volume is not in the target, and
// `tandem handoff` binds the real one by claim UID later.
func sanitizePVC(obj *unstructured.Unstructured, _ Context) Decision {
	var d Decision
	if vn, _, _ := unstructured.NestedString(obj.Object, "spec", "volumeName"); vn != "" {
		unstructured.RemoveNestedField(obj.Object, "spec", "volumeName")
		d.Notes = append(d.Notes, fmt.Sprintf("volumeName %s dropped: the claim binds in the target; move the data with `tandem handoff`", vn))
	}
	removeAnnotations(obj, pvcBindAnnotations...)
	return d
}
