package volume

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The policy to give back is the one the retain step recorded: from its done
// record, or from its intent when the run crashed after the patch and before
// the done record (the PV then reads Retain: it must not be taken for the
// policy before).
func TestPolicyBeforeComesFromTheRetainStep(t *testing.T) {
	v := Volume{Namespace: "shop", Claim: "data-db-0", PV: "pv-1"}
	sk := StepKey(v.Key(), StepRetain)
	for _, tc := range []struct {
		name           string
		state, intents State
		want           corev1.PersistentVolumeReclaimPolicy
	}{
		{"done", State{sk: {DetailWas: "Delete"}}, State{sk: {DetailWas: "Delete"}}, corev1.PersistentVolumeReclaimDelete},
		{"crashed before the done record", State{}, State{sk: {DetailWas: "Delete"}}, corev1.PersistentVolumeReclaimDelete},
		{"Retain already", State{sk: {DetailWas: "Retain"}}, State{}, corev1.PersistentVolumeReclaimRetain},
		{"never ran", State{}, State{}, ""},
		{"another volume's", State{StepKey("shop/data-db-1", StepRetain): {DetailWas: "Delete"}}, State{}, ""},
	} {
		if got := policyBefore(tc.state[sk], tc.intents[sk]); got != tc.want {
			t.Errorf("%s: policyBefore = %q, want %q", tc.name, got, tc.want)
		}
	}
}
