package syncer

import (
	"reflect"
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

// The compact copy reads back as plan.TargetOf reads the object, whatever
// form its UID and hash annotation take.
func TestTargetCopyReadsBackAsPlanReadsIt(t *testing.T) {
	in := newInterner()
	object := func(uid string, annotations map[string]any) *unstructured.Unstructured {
		md := map[string]any{"name": "web", "namespace": "shop", "uid": uid, "labels": map[string]any{"app": "web"},
			"managedFields": []any{map[string]any{"manager": "tandem", "operation": "Apply"}}}
		if annotations != nil {
			md["annotations"] = annotations
		}
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": md}}
	}
	for name, o := range map[string]*unstructured.Unstructured{
		"usual UID and hash": object("6f1c2c1e-8d6b-4a57-9e1f-3f2d8a1b0c9d", map[string]any{plan.HashAnnotation: "0123456789abcdef0123456789abcdef"}),
		"no annotations":     object("6f1c2c1e-8d6b-4a57-9e1f-3f2d8a1b0c9d", nil),
		"upper-case UID":     object("6F1C2C1E-8D6B-4A57-9E1F-3F2D8A1B0C9D", map[string]any{plan.HashAnnotation: "0123456789abcdef0123456789abcdef"}),
		"UID not a UUID":     object("uid-1", map[string]any{plan.HashAnnotation: "0123456789abcdef0123456789abcdef"}),
		"hash of another form": object("6f1c2c1e-8d6b-4a57-9e1f-3f2d8a1b0c9d",
			map[string]any{plan.HashAnnotation: "0123456789ABCDEF0123456789ABCDEF"}),
		"short hash": object("6f1c2c1e-8d6b-4a57-9e1f-3f2d8a1b0c9d", map[string]any{plan.HashAnnotation: "abc"}),
		"empty hash": object("6f1c2c1e-8d6b-4a57-9e1f-3f2d8a1b0c9d", map[string]any{plan.HashAnnotation: ""}),
		"other annotations": object("6f1c2c1e-8d6b-4a57-9e1f-3f2d8a1b0c9d", map[string]any{plan.HashAnnotation: "0123456789abcdef0123456789abcdef",
			"external-dns.alpha.kubernetes.io/set-identifier": "blue", plan.LastAppliedAnnotation: "{}"}),
		"being deleted": func() *unstructured.Unstructured {
			o := object("6f1c2c1e-8d6b-4a57-9e1f-3f2d8a1b0c9d", nil)
			o.Object["metadata"].(map[string]any)["deletionTimestamp"] = "2026-12-08T00:00:00Z"
			return o
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			c := targetOf(o, in)
			got, want := c.target("shop"), plan.TargetOf(o)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back %+v\nwant %+v", got, want)
			}
		})
	}
	if (targetCopy{}).target("shop") != nil {
		t.Error("no copy in the target reads back as a copy")
	}
}

// What a no-op sync holds per object until it is planned stays small: the
// UID and hash as bytes, the rest shared or behind one pointer.
func TestTargetCopyIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(targetCopy{}); n > 80 {
		t.Errorf("a target copy takes %d bytes, want at most 80", n)
	}
}
