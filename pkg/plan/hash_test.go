package plan

import (
	"testing"
)

func TestHash(t *testing.T) {
	const base = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  ownerReferences:
  - {apiVersion: v1, kind: Secret, name: owner, uid: aaa}
data: {k: v}
`
	cases := []struct {
		name  string
		other string
		same  bool
	}{
		{"identical", base, true},
		{"key order", `
kind: ConfigMap
apiVersion: v1
data: {k: v}
metadata:
  namespace: shop
  name: app
  ownerReferences:
  - {name: owner, kind: Secret, apiVersion: v1, uid: aaa}
`, true},
		{"hash annotation ignored", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  annotations: {tandem.io/source-hash: 0123}
  ownerReferences:
  - {apiVersion: v1, kind: Secret, name: owner, uid: aaa}
data: {k: v}
`, true},
		{"owner uid ignored", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  ownerReferences:
  - {apiVersion: v1, kind: Secret, name: owner, uid: bbb}
data: {k: v}
`, true},
		{"server metadata ignored", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  uid: x
  resourceVersion: "42"
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
  ownerReferences:
  - {apiVersion: v1, kind: Secret, name: owner, uid: aaa}
data: {k: v}
`, true},
		{"data changed", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  ownerReferences:
  - {apiVersion: v1, kind: Secret, name: owner, uid: aaa}
data: {k: w}
`, false},
		{"other annotation counts", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  annotations: {team: a}
  ownerReferences:
  - {apiVersion: v1, kind: Secret, name: owner, uid: aaa}
data: {k: v}
`, false},
		{"owner name counts", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  ownerReferences:
  - {apiVersion: v1, kind: Secret, name: other, uid: aaa}
data: {k: v}
`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := parse(t, base), parse(t, tc.other)
			before := b.DeepCopy()
			ha, hb := Hash(a), Hash(b)
			if len(ha) != 32 {
				t.Errorf("Hash = %q, want 32 hex digits", ha)
			}
			if (ha == hb) != tc.same {
				t.Errorf("Hash equal = %v, want %v (%s vs %s)", ha == hb, tc.same, ha, hb)
			}
			if Hash(b) != hb {
				t.Errorf("Hash is not stable")
			}
			if b.GetAnnotations()[HashAnnotation] != before.GetAnnotations()[HashAnnotation] ||
				len(b.GetOwnerReferences()) > 0 && b.GetOwnerReferences()[0].UID != before.GetOwnerReferences()[0].UID {
				t.Errorf("Hash changed its argument")
			}
		})
	}
}
