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
}

// NeedsManagedFields says whether sanitizing o reads its managedFields: a
// core Service's (who set its node ports), and an object's with a
// finalizer the control plane does not add (who added it). A reader that
// holds many objects may drop them from every other.
func NeedsManagedFields(o *unstructured.Unstructured) bool {
	if o.GetKind() == "Service" && o.GroupVersionKind().Group == "" {
		return true
	}
	for _, f := range o.GetFinalizers() {
		if !controlPlaneFinalizers[f] {
			return true
		}
	}
	return false
}

// dropControllerFinalizers removes the finalizers of obj that the cluster's
// control plane or a controller added, and says which, for a controller's.
// A controller's finalizer is one that managedFields show written only by
// managers that wrote nothing of the object's content (a reconciler's
// update adding its finalizer, with its labels or its status), other than
// kubectl and tandem, and that kubectl's last-applied copy of the manifest
// does not list (a client-side apply leaves a finalizer the controller
// added first to the controller). A finalizer no entry owns (an object
// without managedFields, one a webhook added to its user's request) is
// kept: nothing says it is not the user's.
func dropControllerFinalizers(obj *unstructured.Unstructured) string {
	fins := obj.GetFinalizers()
	if len(fins) == 0 {
		return ""
	}
	owners := finalizerOwners(obj)
	manifest := lastAppliedFinalizers(obj)
	var kept []string
	var dropped []string
	by := map[string]bool{}
	for _, f := range fins {
		switch {
		case controlPlaneFinalizers[f]:
		case controllersOnly(owners[f]) && !manifest[f]:
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
	metadataOnly bool // it owns nothing of the content: metadata's finalizers, labels, annotations and owner references, and status
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

// finalizerOwners maps each finalizer to the managedFields entries that own
// it: of the main resource, and of a subresource (the service controller
// patches its finalizer through status).
func finalizerOwners(obj *unstructured.Unstructured) map[string][]finalizerWriter {
	out := map[string][]finalizerWriter{}
	entries, _, _ := unstructured.NestedSlice(obj.Object, "metadata", "managedFields")
	for _, e := range entries {
		entry := asMap(e)
		set := asMap(entry["fieldsV1"])
		meta := asMap(set["f:metadata"])
		fins := asMap(meta["f:finalizers"])
		if len(fins) == 0 {
			continue
		}
		only := true
		for k := range set {
			only = only && (k == "f:metadata" || k == "f:status")
		}
		for k := range meta {
			only = only && controllerMetadata[k]
		}
		manager, _ := entry["manager"].(string)
		for k := range fins {
			var name string
			if raw, ok := strings.CutPrefix(k, "v:"); ok && json.Unmarshal([]byte(raw), &name) == nil {
				out[name] = append(out[name], finalizerWriter{manager: manager, metadataOnly: only})
			}
		}
	}
	return out
}

// lastAppliedFinalizers are the finalizers kubectl's last-applied copy of
// the manifest lists.
func lastAppliedFinalizers(obj *unstructured.Unstructured) map[string]bool {
	var applied struct {
		Metadata struct {
			Finalizers []string `json:"finalizers"`
		} `json:"metadata"`
	}
	s := obj.GetAnnotations()[lastApplied]
	if s == "" || json.Unmarshal([]byte(s), &applied) != nil {
		return nil
	}
	out := map[string]bool{}
	for _, f := range applied.Metadata.Finalizers {
		out[f] = true
	}
	return out
}
