package plan

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// The hash stamped on a copy written without some owner references names
// which (in any order), so that apply can tell the same references left
// out again from an owner that came since; it is the content's hash with
// a mark, whichever were left out, so that the next plan writes it again.
func TestOwnersDroppedHashNamesWhatWasLeftOut(t *testing.T) {
	web := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	tenant := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Tenant", Name: "acme"}
	both := OwnersDroppedHash("h", []metav1.OwnerReference{web, tenant})
	if again := OwnersDroppedHash("h", []metav1.OwnerReference{tenant, web}); again != both {
		t.Errorf("the same references in another order: %q, want %q", again, both)
	}
	if at := OwnersDroppedHash("h", []metav1.OwnerReference{{APIVersion: "apps/v2", Kind: "Deployment", Name: "web"}, tenant}); at != both {
		t.Errorf("the same owners at another version: %q, want %q", at, both)
	}
	one := OwnersDroppedHash("h", []metav1.OwnerReference{web})
	if one == both {
		t.Errorf("one of the two left out stamps as both did: %q", one)
	}
	for _, stamp := range []string{both, one, "h+owners-dropped"} {
		if !ownersDroppedFrom(stamp, "h") {
			t.Errorf("%q is not taken for h with owners dropped", stamp)
		}
	}
	for _, stamp := range []string{"h", "other+owners-dropped", ""} {
		if ownersDroppedFrom(stamp, "h") {
			t.Errorf("%q is taken for h with owners dropped", stamp)
		}
	}
	if ownersDroppedFrom("+owners-dropped", "") {
		t.Error("an empty hash is taken for one with owners dropped")
	}
}
