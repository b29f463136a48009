package volume

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

func TestAnyNodeMatches(t *testing.T) {
	expr := func(key string, op corev1.NodeSelectorOperator, vals ...string) *corev1.NodeSelector {
		return &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: key, Operator: op, Values: vals}}}}}
	}
	zone := func(op corev1.NodeSelectorOperator, vals ...string) *corev1.NodeSelector {
		return expr("topology.kubernetes.io/zone", op, vals...)
	}
	node := func(name string, lbls map[string]string) []corev1.Node {
		return []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}}
	}
	a := node("n1", map[string]string{"topology.kubernetes.io/zone": "a", "example.com/gen": "5"})
	for _, tc := range []struct {
		name  string
		sel   *corev1.NodeSelector
		nodes []corev1.Node
		want  bool
	}{
		{"in", zone(corev1.NodeSelectorOpIn, "a", "b"), a, true},
		{"not in", zone(corev1.NodeSelectorOpIn, "b"), a, false},
		{"notin", zone(corev1.NodeSelectorOpNotIn, "b"), a, true},
		{"exists missing", zone(corev1.NodeSelectorOpExists), node("n2", nil), false},
		{"does not exist", zone(corev1.NodeSelectorOpDoesNotExist), node("n2", nil), true},
		{"gt", expr("example.com/gen", corev1.NodeSelectorOpGt, "4"), a, true},
		{"lt", expr("example.com/gen", corev1.NodeSelectorOpLt, "4"), a, false},
		{"match fields", &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}}}, a, true},
		{"match fields other node", &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n9"}}}}}}, a, false},
		{"terms are ORed", &corev1.NodeSelector{NodeSelectorTerms: append(zone(corev1.NodeSelectorOpIn, "b").NodeSelectorTerms,
			zone(corev1.NodeSelectorOpIn, "a").NodeSelectorTerms...)}, a, true},
		{"no nodes", zone(corev1.NodeSelectorOpExists), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AnyNodeMatches(tc.sel, tc.nodes); got != tc.want {
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

// The journal is keyed by the clusters' identities; one an older tandem
// keyed by context names is found only while the new one does not exist.
func TestJournalPathKeyedByIdentity(t *testing.T) {
	dir := t.TempDir()
	sel := Selection{Namespace: "shop", StatefulSet: "db"}
	p := JournalPath(dir, "id-a", "id-b", "blue", "green", sel)
	if p == JournalPath(dir, "id-c", "id-b", "blue", "green", sel) || p == JournalPath(dir, "id-a", "id-b", "blue", "green", Selection{Namespace: "shop"}) {
		t.Fatal("another cluster or selection shares the journal")
	}
	if p != JournalPath(dir, "id-a", "id-b", "renamed", "green", sel) {
		t.Fatal("a renamed context changed the journal")
	}
	old := JournalPath(dir, "blue", "green", "", "", sel) // the name keyed by context names
	if err := os.WriteFile(old, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := JournalPath(dir, "id-a", "id-b", "blue", "green", sel); got != old {
		t.Fatalf("the older journal is not found: %s", got)
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := JournalPath(dir, "id-a", "id-b", "blue", "green", sel); got != p {
		t.Fatalf("with both, %s; want the identity-keyed %s", got, p)
	}
}

// A hostPath PV ties its data to a node only through its node affinity:
// without one, nothing says where the data is.
func TestNodeLocalIsAHostPathWithoutNodeAffinity(t *testing.T) {
	hostPath := corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/pv1"}}
	pinned := &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}}}}
	for _, tc := range []struct {
		name string
		spec corev1.PersistentVolumeSpec
		want bool
	}{
		{"hostPath", corev1.PersistentVolumeSpec{PersistentVolumeSource: hostPath}, true},
		{"hostPath with node affinity", corev1.PersistentVolumeSpec{PersistentVolumeSource: hostPath, NodeAffinity: pinned}, false},
		{"CSI", corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-1"}}}, false},
	} {
		path, got := NodeLocal(&corev1.PersistentVolume{Spec: tc.spec})
		if got != tc.want || (got && path != "/data/pv1") {
			t.Errorf("%s: NodeLocal = %q, %v; want %v", tc.name, path, got, tc.want)
		}
	}
}
