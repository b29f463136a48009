package standby

// The merge patches a switch writes to one workload: to standby form
// (parkPatch, recording the active form in annotations) and back
// (restorePatch, from those annotations; a record on a workload no longer
// parked is dropped instead: staleRecord).

import (
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

// jobFinished says whether a Job has completed or failed (nothing left to park).
func jobFinished(obj *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if (m["type"] == "Complete" || m["type"] == "Failed") && m["status"] == "True" {
			return true
		}
	}
	return false
}

// annotations is a merge patch of annotations that also drops the sync hash,
// so the next sync sees the object changed.
func annotations(kv map[string]any) map[string]any {
	kv[plan.HashAnnotation] = nil
	return map[string]any{"annotations": kv}
}

// parkPatch is the merge patch that puts obj in standby form, or nil when it already is.
func parkPatch(obj *unstructured.Unstructured, kinds ScaleKinds) (map[string]any, string) {
	d := obj.DeepCopy()
	t := Transform(d, kinds)
	gk := obj.GroupVersionKind().GroupKind()
	a := d.GetAnnotations()
	switch {
	case kinds.Scaled(gk):
		if n, _, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas"); n == 0 {
			return nil, ""
		}
		return map[string]any{"metadata": annotations(map[string]any{ReplicasAnnotation: a[ReplicasAnnotation]}),
			"spec": map[string]any{"replicas": 0}}, t.Notes[0]
	case gk == CronJob:
		if s, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); s {
			return nil, ""
		}
		return map[string]any{"metadata": annotations(map[string]any{SuspendAnnotation: a[SuspendAnnotation]}),
			"spec": map[string]any{"suspend": true}}, t.Notes[0]
	case gk == Job:
		// Transform skips Jobs (a standby gets none); one that runs here is
		// suspended (its pods go), and activate lets it go on.
		if s, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); s || jobFinished(obj) {
			return nil, ""
		}
		return map[string]any{"metadata": annotations(map[string]any{SuspendAnnotation: "false"}),
			"spec": map[string]any{"suspend": true}}, "standby: suspended (original kept in " + SuspendAnnotation + ")"
	case gk == DaemonSet:
		if _, ok := a[NodeSelectorAnnotation]; !ok {
			return nil, ""
		}
		if v, _, _ := unstructured.NestedString(obj.Object, "spec", "template", "spec", "nodeSelector", ParkedKey); v == ParkedValue {
			return nil, "" // already parked (a record without the selector is stale: written anew)
		}
		sel := map[string]any{ParkedKey: ParkedValue}
		old, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "spec", "nodeSelector")
		for k := range old {
			if k != ParkedKey {
				sel[k] = nil // a merge patch merges maps: drop each old key
			}
		}
		return map[string]any{"metadata": annotations(map[string]any{NodeSelectorAnnotation: a[NodeSelectorAnnotation]}),
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": sel}}}}, t.Notes[0]
	}
	return nil, ""
}

// restorePatch is the merge patch back to the recorded active form, with a
// check of the result; nil when obj carries no record. A record on an object
// that is no longer in standby form is stale — a sync wrote the object as it
// is since (its namespace became standby-exempt), or someone restored it by
// hand — and the patch only drops the record: the object's own spec wins.
func restorePatch(obj *unstructured.Unstructured, kinds ScaleKinds) (map[string]any, string, func(*unstructured.Unstructured) bool) {
	gk := obj.GroupVersionKind().GroupKind()
	a := obj.GetAnnotations()
	if key, ok := staleRecord(obj, kinds); ok {
		// The patch also writes the object's running form as it is: the
		// mutating policy, removed but still cached, may park it again as
		// the record goes (recording it anew), and the write is retried
		// until the record is gone — then with the running form back.
		patch := map[string]any{"metadata": annotations(map[string]any{key: nil})}
		if spec := runningForm(obj, key); spec != nil {
			patch["spec"] = spec
		}
		return patch, "stale " + key + " dropped (not in standby form)",
			func(got *unstructured.Unstructured) bool {
				_, still := got.GetAnnotations()[key]
				return !still
			}
	}
	switch {
	case kinds.Scaled(gk):
		v, ok := a[ReplicasAnnotation]
		n, err := strconv.ParseInt(v, 10, 32)
		if !ok || err != nil {
			return nil, "", nil
		}
		return map[string]any{"metadata": annotations(map[string]any{ReplicasAnnotation: nil}), "spec": map[string]any{"replicas": n}},
			fmt.Sprintf("replicas 0 → %d", n), func(got *unstructured.Unstructured) bool {
				m, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas")
				return m == n
			}
	case gk == CronJob || gk == Job:
		v, ok := a[SuspendAnnotation]
		if !ok {
			return nil, "", nil
		}
		s := v == "true"
		return map[string]any{"metadata": annotations(map[string]any{SuspendAnnotation: nil}), "spec": map[string]any{"suspend": s}},
			fmt.Sprintf("suspend → %t", s), func(got *unstructured.Unstructured) bool {
				m, _, _ := unstructured.NestedBool(got.Object, "spec", "suspend")
				return m == s
			}
	case gk == DaemonSet:
		v, ok := a[NodeSelectorAnnotation]
		if !ok {
			return nil, "", nil
		}
		var orig map[string]string
		if err := json.Unmarshal([]byte(v), &orig); err != nil {
			return nil, "", nil
		}
		sel := map[string]any{ParkedKey: nil}
		for k, val := range orig {
			sel[k] = val
		}
		var selField any = sel
		if orig == nil {
			selField = nil
		}
		return map[string]any{"metadata": annotations(map[string]any{NodeSelectorAnnotation: nil}),
				"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": selField}}}}, "nodeSelector restored " + v,
			func(got *unstructured.Unstructured) bool {
				// The mutating policy, removed but still cached by the
				// apiserver for a moment, parks it again as it is written.
				_, parked, _ := unstructured.NestedString(got.Object, "spec", "template", "spec", "nodeSelector", ParkedKey)
				return !parked
			}
	}
	return nil, "", nil
}

// runningForm is the spec merge patch that keeps obj as it runs now, for
// the stale record key: its replicas (1 when unset), not suspended, or its
// own nodeSelector without the parking key.
func runningForm(obj *unstructured.Unstructured, key string) map[string]any {
	switch key {
	case ReplicasAnnotation:
		n, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		if !found {
			n = 1
		}
		return map[string]any{"replicas": n}
	case SuspendAnnotation:
		return map[string]any{"suspend": false}
	case NodeSelectorAnnotation:
		sel := map[string]any{ParkedKey: nil}
		cur, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "spec", "nodeSelector")
		for k, v := range cur {
			if k != ParkedKey {
				sel[k] = v
			}
		}
		return map[string]any{"template": map[string]any{"spec": map[string]any{"nodeSelector": sel}}}
	}
	return nil
}

// staleRecord is the annotation of obj that records an active form while obj
// is not parked: scaled but not to 0, not suspended, or its pods not held
// off every node.
func staleRecord(obj *unstructured.Unstructured, kinds ScaleKinds) (string, bool) {
	gk := obj.GroupVersionKind().GroupKind()
	a := obj.GetAnnotations()
	switch {
	case kinds.Scaled(gk):
		if _, ok := a[ReplicasAnnotation]; !ok {
			return "", false
		}
		n, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		return ReplicasAnnotation, !found || n != 0 // unset is 1
	case gk == CronJob || gk == Job:
		if _, ok := a[SuspendAnnotation]; !ok {
			return "", false
		}
		s, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend")
		return SuspendAnnotation, !s
	case gk == DaemonSet:
		if _, ok := a[NodeSelectorAnnotation]; !ok {
			return "", false
		}
		v, _, _ := unstructured.NestedString(obj.Object, "spec", "template", "spec", "nodeSelector", ParkedKey)
		return NodeSelectorAnnotation, v != ParkedValue
	}
	return "", false
}
