package preflight

// What `plan` holds of each object it reads. Every check reads the
// source's objects from one list (Env.Objects), held for the whole plan, so
// what a plan of a large cluster weighs is what that list keeps of each
// object. Most of an object's bytes are read by no check: the data of
// ConfigMaps and Secrets, the metadata the apiserver writes, the field sets
// of its managedFields, kubectl's last-applied copy of the whole object.
// slim drops them as each object is listed and shares label sets and
// managedFields lists between objects; TestSlimKeepsWhatTheChecksRead runs
// the checks on whole and slim objects and compares. Of the target, the
// checks that read a resource whole (add-ons, networks) read it page by
// page and keep only what they compare.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/share"
)

// slim drops in place what no check reads of o, and shares what many
// objects hold alike through s:
//   - a ConfigMap's data and binaryData, a Secret's data and stringData
//     unless it is a Helm release (the apis check reads its manifest);
//   - the metadata the apiserver writes (uid, resourceVersion, generation,
//     creationTimestamp, selfLink; deletionTimestamp stays: a sync skips
//     what is being deleted);
//   - of each managedFields entry all but its manager, subresource and
//     apiVersion (the apis check's evidence), the whole list shared
//     between objects that have the same;
//   - kubectl's last-applied annotation, all but its apiVersion and kind
//     (the apis check's evidence), or whole when it has no apiVersion;
//   - labels: one copy of each set.
func slim(o *unstructured.Unstructured, s *sharer) {
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
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := o.Object[k].(string); ok {
			o.Object[k] = share.String(v)
		}
	}
	md, _ := o.Object["metadata"].(map[string]any)
	if md == nil {
		return
	}
	for _, k := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "selfLink"} {
		delete(md, k)
	}
	if ns, ok := md["namespace"].(string); ok {
		md["namespace"] = share.String(ns)
	}
	if entries, ok := md["managedFields"].([]any); ok {
		md["managedFields"] = s.managedFields(entries)
	}
	if labels, ok := md["labels"].(map[string]any); ok {
		md["labels"] = s.labels(labels)
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

// sharer keeps one copy of what many objects of a plan hold alike: label
// sets and managedFields lists. A plan's objects are read, never written:
// what it returns is shared, never to be modified.
type sharer struct {
	mu     sync.Mutex
	sets   map[string]map[string]any
	fields map[string][]any
}

func newSharer() *sharer {
	return &sharer{sets: map[string]map[string]any{}, fields: map[string][]any{}}
}

// labels is the one copy of a set of labels (m itself when it holds
// anything but strings).
func (s *sharer) labels(m map[string]any) map[string]any {
	c, ok := share.Key(m)
	if !ok {
		return m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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

// managedFields is the one copy of a managedFields list as slim keeps it:
// each entry's manager, subresource and apiVersion.
func (s *sharer) managedFields(entries []any) []any {
	var b strings.Builder
	for _, e := range entries {
		m, _ := e.(map[string]any)
		for _, k := range managedKept {
			v, _ := m[k].(string)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if shared, ok := s.fields[b.String()]; ok {
		return shared
	}
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		m, _ := e.(map[string]any)
		kept := map[string]any{}
		for _, k := range managedKept {
			if v, ok := m[k].(string); ok {
				kept[k] = share.String(v)
			}
		}
		out = append(out, kept)
	}
	s.fields[b.String()] = out
	return out
}

// managedKept are the fields of a managedFields entry the apis check reads.
var managedKept = []string{"manager", "subresource", "apiVersion"}

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
