package preflight

// What `plan` holds of each object it keeps. The checks read the objects of
// a few kinds one by one (Env.Objects; seen.go says which, and what is read
// of every other object as it is listed), held for the whole plan, so what
// a plan of a large cluster weighs is what it keeps of each of those. Most
// of their bytes are read by no check: the metadata the apiserver writes,
// the field sets of managedFields, kubectl's last-applied copy of the
// whole object. slim drops them as each object is listed and shares label
// sets and managedFields lists between objects;
// TestEnvKeepsWhatTheChecksRead runs the checks on whole and kept objects
// and compares. Of the target, the checks that read a resource whole
// (add-ons, networks) read it page by page and keep only what they compare.

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/share"
)

// slim drops in place what no check reads of o, a kept object (what the
// checks read of every object, managedFields and last-applied among it,
// Seen read as it was listed), and shares what many objects hold alike
// through s:
//   - the metadata the apiserver writes (uid, resourceVersion, generation,
//     creationTimestamp, selfLink; deletionTimestamp stays: a sync skips
//     what is being deleted), managedFields, and kubectl's last-applied
//     copy of the whole object;
//   - labels: one copy of each set.
func slim(o *unstructured.Unstructured, s *sharer) {
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := o.Object[k].(string); ok {
			o.Object[k] = share.String(v)
		}
	}
	md, _ := o.Object["metadata"].(map[string]any)
	if md == nil {
		return
	}
	for _, k := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "selfLink", "managedFields"} {
		delete(md, k)
	}
	if ns, ok := md["namespace"].(string); ok {
		md["namespace"] = share.String(ns)
	}
	if labels, ok := md["labels"].(map[string]any); ok {
		md["labels"] = s.labels(labels)
	}
	if annotations, ok := md["annotations"].(map[string]any); ok {
		delete(annotations, LastAppliedAnnotation)
		if len(annotations) == 0 {
			delete(md, "annotations")
		}
	}
}

// sharer keeps one copy of each label set of a plan's kept objects. They
// are read, never written: what it returns is shared, never to be
// modified. Load uses it from one goroutine.
type sharer struct {
	sets map[string]map[string]any
}

func newSharer() *sharer {
	return &sharer{sets: map[string]map[string]any{}}
}

// labels is the one copy of a set of labels (m itself when it holds
// anything but strings).
func (s *sharer) labels(m map[string]any) map[string]any {
	c, ok := share.Key(m)
	if !ok {
		return m
	}
	if shared, ok := s.sets[c]; ok {
		return shared
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[share.String(k)] = share.String(v.(string))
	}
	s.sets[c] = out
	return out
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

// targetObjects lists a resource of the target page by page
// (inventory.List: a target that already runs a large platform is never
// read in one answer) and keeps, of each object keep accepts (nil: every
// one), what trimmed keeps: nothing of the pages stays.
func targetObjects(ctx context.Context, env *Env, r inventory.Resource, keep func(*unstructured.Unstructured) bool, paths ...[]string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	err := inventory.List(ctx, env.Target, r, "", func(o *unstructured.Unstructured) error {
		if keep == nil || keep(o) {
			out = append(out, trimmed(o, paths...))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s in the target: %w", r.Resource, err)
	}
	return out, nil
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
