package preflight

// What `plan` holds of each object it reads. Of the source: Every check reads the source's
// objects from one list (Env.Objects), held for the whole plan, so what a
// plan of a large cluster weighs is what that list keeps of each object.
// Most of an object's bytes are read by no check: the data of ConfigMaps
// and Secrets, the field sets of its managedFields, and kubectl's
// last-applied copy of the whole object. slim drops them as each object is
// listed; TestSlimKeepsWhatTheChecksRead runs the checks on whole and slim
// objects and compares. Of the target, the checks that read a resource
// whole (add-ons, networks) read it page by page and keep what they compare.

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/inventory"
)

// slim drops in place what no check reads of o:
//   - a ConfigMap's data and binaryData, a Secret's data and stringData
//     unless it is a Helm release (the apis check reads its manifest);
//   - each managedFields entry's field set and time (the apis check reads
//     its manager, subresource and apiVersion);
//   - kubectl's last-applied annotation, all but its apiVersion and kind
//     (the apis check's evidence), or whole when it has no apiVersion.
func slim(o *unstructured.Unstructured) {
	if o.GetAPIVersion() == "v1" {
		switch o.GetKind() {
		case "ConfigMap":
			delete(o.Object, "data")
			delete(o.Object, "binaryData")
		case "Secret":
			if t, _ := o.Object["type"].(string); t != HelmReleaseType {
				delete(o.Object, "data")
				delete(o.Object, "stringData")
			}
		}
	}
	md, _ := o.Object["metadata"].(map[string]any)
	if md == nil {
		return
	}
	if entries, ok := md["managedFields"].([]any); ok {
		for _, e := range entries {
			if m, ok := e.(map[string]any); ok {
				delete(m, "fieldsV1")
				delete(m, "time")
			}
		}
	}
	annotations, _ := md["annotations"].(map[string]any)
	raw, ok := annotations[LastAppliedAnnotation].(string)
	if !ok {
		return
	}
	head, ok := lastAppliedHead(raw)
	if !ok {
		delete(annotations, LastAppliedAnnotation)
		return
	}
	b, _ := json.Marshal(head) // two strings: cannot fail
	annotations[LastAppliedAnnotation] = string(b)
}

// appliedHead is what the apis check reads of kubectl's last-applied copy.
type appliedHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind,omitempty"`
}

// lastAppliedHead reads the apiVersion and kind of a last-applied copy; not
// ok when it is not JSON or names no apiVersion.
func lastAppliedHead(raw string) (appliedHead, bool) {
	var head appliedHead
	if err := json.Unmarshal([]byte(raw), &head); err != nil || head.APIVersion == "" {
		return appliedHead{}, false
	}
	return head, true
}

// eachTarget calls fn for each object of a built-in resource of the target,
// read page by page (inventory.List): a target that already runs a large
// platform is never read in one answer. fn's object is its own (not the
// page's), so fn may keep it.
func eachTarget(ctx context.Context, env *Env, group, version, resource, kind string, namespaced bool, fn func(*unstructured.Unstructured)) error {
	r := inventory.Resource{Group: group, Version: version, Resource: resource, Kind: kind, Namespaced: namespaced}
	err := inventory.List(ctx, env.Target, r, "", func(o *unstructured.Unstructured) error {
		// A new Unstructured around the same map: holding the page's own
		// would hold the whole page.
		fn(&unstructured.Unstructured{Object: o.Object})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s in the target: %w", resource, err)
	}
	return nil
}

// trimmed is o with its name and namespace and the fields at paths only:
// what a check keeps of each object of a large list.
func trimmed(o *unstructured.Unstructured, paths ...[]string) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{"apiVersion": o.GetAPIVersion(), "kind": o.GetKind()}}
	out.SetName(o.GetName())
	out.SetNamespace(o.GetNamespace())
	for _, p := range paths {
		if v, found, _ := unstructured.NestedFieldNoCopy(o.Object, p...); found {
			_ = unstructured.SetNestedField(out.Object, v, p...) // copies v: JSON values only, cannot fail
		}
	}
	return out
}
