package apply

// A conflict that is only two Kubernetes versions writing the same value
// differently.

import (
	"context"
	"encoding/json"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

// atomicTemplates are the atomic lists of objects with their own metadata
// that a kind holds: the whole list is one field to server-side apply, so
// any difference in it is a conflict with the manager that owns it.
var atomicTemplates = map[string][]string{
	"apps/StatefulSet": {"spec", "volumeClaimTemplates"},
}

// alignOnConflict is alignToTarget when err is a conflict.
func (r *runner) alignOnConflict(ctx context.Context, s plan.Step, body []byte, err error) ([]byte, bool) {
	if err == nil || !apierrors.IsConflict(err) {
		return nil, false
	}
	return r.alignToTarget(ctx, s, body)
}

// alignToTarget answers a conflict on such a list when the target's list is
// ours but for how its version writes an embedded object's empty
// creationTimestamp (`null` in Kubernetes v1.30, absent in v1.37): copied
// between versions, the list differs from the one its owner in the target
// applied although it says the same, and the apply conflicts. The body is returned with the target's own form of the list
// (the same content), and true; false when anything else differs, or the
// target cannot be read.
func (r *runner) alignToTarget(ctx context.Context, s plan.Step, body []byte) ([]byte, bool) {
	gk := s.Ref.GroupVersionKind().GroupKind()
	path, ok := atomicTemplates[gk.Group+"/"+gk.Kind]
	if !ok {
		return nil, false
	}
	var ours map[string]any
	if err := json.Unmarshal(body, &ours); err != nil {
		return nil, false
	}
	mine, found, _ := unstructured.NestedSlice(ours, path...)
	if !found {
		return nil, false
	}
	live, err := r.resource(s).Get(ctx, s.Ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, false
	}
	theirs, found, _ := unstructured.NestedSlice(live.Object, path...)
	if !found || reflect.DeepEqual(mine, theirs) || !reflect.DeepEqual(withoutNullCreation(mine), withoutNullCreation(theirs)) {
		return nil, false
	}
	if err := unstructured.SetNestedSlice(ours, theirs, path...); err != nil {
		return nil, false
	}
	out, err := json.Marshal(ours)
	return out, err == nil
}

// withoutNullCreation is a copy of a list of objects without an empty
// metadata.creationTimestamp in any of them.
func withoutNullCreation(list []any) []any {
	out := make([]any, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			out[i] = item
			continue
		}
		c := (&unstructured.Unstructured{Object: m}).DeepCopy().Object
		if md, ok := c["metadata"].(map[string]any); ok {
			if ts, has := md["creationTimestamp"]; has && ts == nil {
				delete(md, "creationTimestamp")
			}
		}
		out[i] = c
	}
	return out
}
