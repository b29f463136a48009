package sanitize

// A finalizer is a promise that some controller cleans up before the object
// goes. The target keeps the promises its own controllers make; a copied
// promise whose controller the target lacks, or has parked (a standby),
// holds the copy forever once it is deleted there — the mirror's deletes
// and a prune included. So a finalizer a controller added is not copied:
// where the controller runs in the target it adds its own on its first
// reconcile. A finalizer the object's user wrote (in the manifest a deploy
// tool applied, or by hand with kubectl) is theirs, and is copied.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// controlPlaneFinalizers are added by the target's own control plane wherever
// they apply, as it does for the source.
var controlPlaneFinalizers = map[string]bool{
	"kubernetes.io/pvc-protection":                true, // StorageObjectInUseProtection admission, the pvc-protection controller
	"kubernetes.io/pv-protection":                 true, // the pv-protection controller
	"service.kubernetes.io/load-balancer-cleanup": true, // the service controller, before it makes a cloud load balancer
	"customresourcecleanup.apiextensions.k8s.io":  true, // the apiextensions apiserver, on every CRD
}

// dropControllerFinalizers removes the finalizers of obj that the cluster's
// control plane or a controller added, and says which, for a controller's.
// A controller's finalizer is one that managedFields show written only by
// managers that wrote nothing but the object's metadata (a reconciler's
// update adding its finalizer), other than kubectl and tandem. A finalizer
// no entry owns (an object without managedFields, one a webhook added to
// its user's request) is kept: nothing says it is not the user's.
func dropControllerFinalizers(obj *unstructured.Unstructured) string {
	fins := obj.GetFinalizers()
	if len(fins) == 0 {
		return ""
	}
	owners := finalizerOwners(obj)
	var kept []string
	var dropped []string
	by := map[string]bool{}
	for _, f := range fins {
		switch {
		case controlPlaneFinalizers[f]:
		case controllersOnly(owners[f]):
			dropped = append(dropped, f)
			for _, m := range owners[f] {
				by[m.manager] = true
			}
		default:
			kept = append(kept, f)
		}
	}
	if len(kept) == len(fins) {
		return ""
	}
	if len(kept) == 0 {
		unstructured.RemoveNestedField(obj.Object, "metadata", "finalizers")
	} else {
		obj.SetFinalizers(kept)
	}
	if len(dropped) == 0 {
		return ""
	}
	managers := make([]string, 0, len(by))
	for m := range by {
		managers = append(managers, m)
	}
	sort.Strings(managers)
	return fmt.Sprintf("finalizer %s dropped: a controller added it (field manager %s); where that controller runs in the target it adds its own, and a copy would hold the object there forever where none does",
		strings.Join(dropped, ", "), strings.Join(managers, ", "))
}

// finalizerWriter is one managedFields entry that owns a finalizer.
type finalizerWriter struct {
	manager      string
	metadataOnly bool // it owns nothing outside metadata's finalizers, labels, annotations and owner references
}

// controllersOnly says whether a finalizer's writers are all controllers:
// there is at least one, and none is a person's tool or tandem.
func controllersOnly(ws []finalizerWriter) bool {
	for _, w := range ws {
		if !w.metadataOnly || personsTool(w.manager) {
			return false
		}
	}
	return len(ws) > 0
}

// personsTool says whether a field manager is one a person drives (kubectl
// in all its verbs) or tandem's own (a copy made from a cluster tandem
// wrote: what it copied was the user's).
func personsTool(manager string) bool {
	return strings.HasPrefix(manager, "kubectl") || manager == "tandem" || manager == "tandem-create"
}

// controllerMetadata are the metadata fields a controller's update may own
// besides finalizers while still writing nothing of the object's content.
var controllerMetadata = map[string]bool{
	".":                 true,
	"f:finalizers":      true,
	"f:labels":          true,
	"f:annotations":     true,
	"f:ownerReferences": true,
}

// finalizerOwners maps each finalizer to the managedFields entries (of the
// main resource: finalizers have no subresource) that own it.
func finalizerOwners(obj *unstructured.Unstructured) map[string][]finalizerWriter {
	out := map[string][]finalizerWriter{}
	for _, e := range obj.GetManagedFields() {
		if e.Subresource != "" || e.FieldsV1 == nil {
			continue
		}
		var set map[string]json.RawMessage
		if json.Unmarshal(e.FieldsV1.Raw, &set) != nil {
			continue
		}
		var meta map[string]json.RawMessage
		if json.Unmarshal(set["f:metadata"], &meta) != nil {
			continue
		}
		var fins map[string]json.RawMessage
		if json.Unmarshal(meta["f:finalizers"], &fins) != nil {
			continue
		}
		only := len(set) == 1
		for k := range meta {
			if !controllerMetadata[k] {
				only = false
			}
		}
		for k := range fins {
			var name string
			if !strings.HasPrefix(k, "v:") || json.Unmarshal([]byte(k[len("v:"):]), &name) != nil {
				continue
			}
			out[name] = append(out[name], finalizerWriter{manager: e.Manager, metadataOnly: only})
		}
	}
	return out
}
