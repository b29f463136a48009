package sanitize

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// RemapOwners rewrites metadata.ownerReferences to the UIDs that the owners
// have in the target; references whose owner is not in the target are
// removed and returned (DroppedNotes says so to a user).
//
// A reference with the source's UID would point at nothing in the target, and
// the garbage collector deletes objects whose owners are all gone. A nil lookup
// finds nothing.
func RemapOwners(obj *unstructured.Unstructured, lookup func(apiVersion, kind, namespace, name string) (types.UID, bool)) (dropped []metav1.OwnerReference) {
	refs, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "metadata", "ownerReferences")
	list, ok := refs.([]any)
	if !ok {
		return nil
	}
	kept := list[:0:0]
	for _, r := range list {
		rm := asMap(r)
		apiVersion, _ := rm["apiVersion"].(string)
		kind, _ := rm["kind"].(string)
		name, _ := rm["name"].(string)
		if lookup != nil {
			if uid, found := lookup(apiVersion, kind, obj.GetNamespace(), name); found {
				rm["uid"] = string(uid)
				kept = append(kept, rm)
				continue
			}
		}
		dropped = append(dropped, metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name})
	}
	if len(kept) == 0 {
		unstructured.RemoveNestedField(obj.Object, "metadata", "ownerReferences")
	} else {
		obj.Object["metadata"].(map[string]any)["ownerReferences"] = kept
	}
	return dropped
}

// DroppedNotes are the notes that tell a user of the references RemapOwners dropped.
func DroppedNotes(dropped []metav1.OwnerReference) []string {
	var notes []string
	for _, ref := range dropped {
		notes = append(notes, fmt.Sprintf("owner %s/%s is not in the target: reference dropped", ref.Kind, ref.Name))
	}
	return notes
}
