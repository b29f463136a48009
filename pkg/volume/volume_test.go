package volume

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/pkg/journal"
)

func TestOrdinalClaim(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		want         bool
	}{
		{"data-vault-0", "data-vault-", true},
		{"data-vault-12", "data-vault-", true},
		{"data-vault-x", "data-vault-", false},
		{"data-vault-", "data-vault-", false},
		{"data-vaulty-0", "data-vault-", false},
	} {
		if got := ordinalClaim(tc.name, tc.prefix); got != tc.want {
			t.Errorf("ordinalClaim(%q, %q) = %v, want %v", tc.name, tc.prefix, got, tc.want)
		}
	}
}

func TestMatchesSelector(t *testing.T) {
	zone := func(op corev1.NodeSelectorOperator, vals ...string) *corev1.NodeSelector {
		return &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: "topology.kubernetes.io/zone", Operator: op, Values: vals}}}}}
	}
	a := map[string]string{"topology.kubernetes.io/zone": "a"}
	for _, tc := range []struct {
		name string
		sel  *corev1.NodeSelector
		lbls map[string]string
		want bool
	}{
		{"in", zone(corev1.NodeSelectorOpIn, "a", "b"), a, true},
		{"not in", zone(corev1.NodeSelectorOpIn, "b"), a, false},
		{"notin", zone(corev1.NodeSelectorOpNotIn, "b"), a, true},
		{"exists missing", zone(corev1.NodeSelectorOpExists), map[string]string{}, false},
		{"does not exist", zone(corev1.NodeSelectorOpDoesNotExist), map[string]string{}, true},
		{"gt unchecked", zone(corev1.NodeSelectorOpGt, "1"), a, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchesSelector(tc.lbls, tc.sel); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLastRunResumes(t *testing.T) {
	start := journal.Record{Run: "r1", Op: journal.OpStart, Detail: map[string]string{
		DetailDirection: DirectionHandoff, DetailSelection: "s",
		DetailVolumes: `[{"namespace":"ns","claim":"c","pv":"p","owners":[{"kind":"StatefulSet","namespace":"ns","name":"x"}]}]`,
		DetailOwners:  `[{"kind":"StatefulSet","namespace":"ns","name":"x"}]`}}
	o := Owner{Kind: "StatefulSet", Namespace: "ns", Name: "x"}
	recs := []journal.Record{start,
		{Run: "r1", Op: journal.OpIntent, Key: StepKey(o.Key(), StepScaleSource), Detail: map[string]string{DetailReplicas: "3"}},
		{Run: "r1", Op: journal.OpIntent, Key: StepKey(o.Key(), StepScaleSource), Detail: map[string]string{DetailReplicas: "0"}},
		{Run: "r1", Op: journal.OpDone, Key: StepKey(o.Key(), StepScaleSource), Detail: map[string]string{DetailReplicas: "3"}},
	}
	r, err := LastRun(recs)
	if err != nil || r == nil {
		t.Fatalf("LastRun: %v %v", r, err)
	}
	if d := cmp.Diff([]Volume{{Namespace: "ns", Claim: "c", PV: "p", Owners: []Owner{o}}}, r.Volumes); d != "" {
		t.Errorf("volumes (-want +got):\n%s", d)
	}
	if got := r.Intents[StepKey(o.Key(), StepScaleSource)][DetailReplicas]; got != "3" {
		t.Errorf("first intent's replicas %q, want 3 (a re-run must not record the 0 it scaled to)", got)
	}
	if !r.State.Done(o.Key(), StepScaleSource) || r.State.Done(o.Key(), StepScaleUp) {
		t.Errorf("state %v", r.State)
	}
	if r, _ := LastRun(append(recs, journal.Record{Run: "r1", Op: journal.OpEnd})); r != nil {
		t.Errorf("ended run resumed: %+v", r)
	}
}
