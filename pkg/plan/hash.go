package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// serverMeta are metadata fields the apiserver writes; they are not content, so
// a sanitized object and the same object as read back hash alike.
var serverMeta = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"}

// Hash returns a stable hash (hex sha256, first 16 bytes fine) of an object's content, ignoring the HashAnnotation itself and ownerReferences' uid fields.
//
// Owner UIDs differ per cluster (sanitize remaps them), so they are not content
// either. Server-written metadata (uid, resourceVersion, generation,
// creationTimestamp, managedFields, selfLink) is ignored too. obj is not changed.
func Hash(obj *unstructured.Unstructured) string {
	if obj == nil {
		return ""
	}
	// Copy only the maps we edit: DeepCopy would panic on non-JSON values and
	// copy the whole object for nothing.
	top := make(map[string]any, len(obj.Object))
	for k, v := range obj.Object {
		top[k] = v
	}
	if meta, ok := obj.Object["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(meta))
		for k, v := range meta {
			m[k] = v
		}
		for _, f := range serverMeta {
			delete(m, f)
		}
		if ann, ok := meta["annotations"].(map[string]any); ok {
			a := make(map[string]any, len(ann))
			for k, v := range ann {
				if k != HashAnnotation {
					a[k] = v
				}
			}
			if len(a) == 0 {
				delete(m, "annotations")
			} else {
				m["annotations"] = a
			}
		}
		if refs, ok := meta["ownerReferences"].([]any); ok {
			rs := make([]any, len(refs))
			for i, r := range refs {
				rs[i] = r
				if rm, ok := r.(map[string]any); ok {
					c := make(map[string]any, len(rm))
					for k, v := range rm {
						if k != "uid" {
							c[k] = v
						}
					}
					rs[i] = c
				}
			}
			m["ownerReferences"] = rs
		}
		top["metadata"] = m
	}
	// encoding/json writes map keys sorted, so equal content gives equal bytes.
	b, err := json.Marshal(top)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ownersDropped is what the hash stamped on a copy written without some
// of its owner references (apply: their owners were not in the target)
// has after the content's hash, before a digest of the references left
// out.
const ownersDropped = "+owners-dropped"

// OwnersDroppedHash is what apply stamps, instead of hash, on a copy
// written without some of the owner references its source has (dropped):
// their owners were not in the target then (one in a later wave, or not
// copied). It differs from hash, so the next run decides to write the
// copy again (Step.OwnersDropped), and names what was left out, so that
// apply leaves the copy as it is when it would leave out the same again
// (an owner that is never copied costs no write on every run).
func OwnersDroppedHash(hash string, dropped []metav1.OwnerReference) string {
	names := make([]string, len(dropped))
	for i, ref := range dropped {
		gv, _ := schema.ParseGroupVersion(ref.APIVersion)
		names[i] = gv.Group + "/" + ref.Kind + "/" + ref.Name
	}
	slices.Sort(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hash + ownersDropped + "-" + hex.EncodeToString(sum[:4])
}

// ownersDroppedFrom says whether last, a copy's hash, is hash with some
// owner references dropped (OwnersDroppedHash, or an earlier tandem's
// stamp without the digest).
func ownersDroppedFrom(last, hash string) bool {
	return hash != "" && strings.HasPrefix(last, hash+ownersDropped)
}

// StampHash sets obj's HashAnnotation to hash: what tandem writes with
// every object, so that the next run sees it unchanged.
func StampHash(obj *unstructured.Unstructured, hash string) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[HashAnnotation] = hash
	obj.SetAnnotations(ann)
}
