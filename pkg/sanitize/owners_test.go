package sanitize

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/types"
)

func TestRemapOwners(t *testing.T) {
	// The target knows app/Gadget g as uid target-g; nothing else.
	lookup := func(apiVersion, kind, namespace, name string) (types.UID, bool) {
		if apiVersion == "example.com/v1" && kind == "Gadget" && namespace == "app" && name == "g" {
			return "target-g", true
		}
		return "", false
	}
	cases := []struct {
		name   string
		lookup func(apiVersion, kind, namespace, name string) (types.UID, bool)
		in     string
		want   string
		notes  []string
	}{
		{
			name:   "found owner remapped, missing one dropped",
			lookup: lookup,
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: app
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Gadget, name: g, uid: source-g, blockOwnerDeletion: true}
  - {apiVersion: example.com/v1, kind: Gadget, name: gone, uid: source-gone}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: app
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Gadget, name: g, uid: target-g, blockOwnerDeletion: true}
`,
			notes: []string{"owner Gadget/gone is not in the target: reference dropped"},
		},
		{
			name:   "all dropped removes the field",
			lookup: lookup,
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: app
  ownerReferences: [{apiVersion: v1, kind: Secret, name: s, uid: source-s}]
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: app}
`,
			notes: []string{"owner Secret/s is not in the target: reference dropped"},
		},
		{
			name: "nil lookup finds nothing",
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: app
  ownerReferences: [{apiVersion: example.com/v1, kind: Gadget, name: g, uid: source-g}]
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: app}
`,
			notes: []string{"owner Gadget/g is not in the target: reference dropped"},
		},
		{
			name:   "no owners",
			lookup: lookup,
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: app}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: app}
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := parse(t, tc.in)
			notes := DroppedNotes(RemapOwners(obj, tc.lookup))
			if diff := cmp.Diff(tc.notes, notes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(parse(t, tc.want).Object, obj.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
		})
	}
}
