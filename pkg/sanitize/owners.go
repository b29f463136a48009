package sanitize

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// RemapOwners rewrites metadata.ownerReferences to the UIDs that the owners have in the target; references whose owner is not in the target are removed and described in the returned notes.
//
// A reference with the source's UID would point at nothing in the target, and
// the garbage collector deletes objects whose owners are all gone. A nil lookup
// finds nothing.
func RemapOwners(obj *unstructured.Unstructured, lookup func(apiVersion, kind, namespace, name string) (types.UID, bool)) (notes []string) {
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
		notes = append(notes, fmt.Sprintf("owner %s/%s is not in the target: reference dropped", kind, name))
	}
	if len(kept) == 0 {
		unstructured.RemoveNestedField(obj.Object, "metadata", "ownerReferences")
	} else {
		obj.Object["metadata"].(map[string]any)["ownerReferences"] = kept
	}
	return notes
}
