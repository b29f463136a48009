package drain

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseTaint(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    corev1.Taint
		wantErr bool
	}{
		{in: DefaultTaint, want: corev1.Taint{Key: "migration", Value: "migration", Effect: corev1.TaintEffectNoSchedule}},
		{in: "retire:PreferNoSchedule", want: corev1.Taint{Key: "retire", Effect: corev1.TaintEffectPreferNoSchedule}},
		{in: "retire:NoExecute", want: corev1.Taint{Key: "retire", Effect: corev1.TaintEffectNoExecute}}, // parsed; a drain refuses it (--undo may remove one)
		{in: "migration=migration", wantErr: true},
		{in: "k=v:Sometimes", wantErr: true},
		{in: "=v:NoSchedule", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTaint(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseTaint(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("ParseTaint(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// What kubectl's drain helper says of an eviction it will try again becomes
// one retrying event per pod and reason, said again once a minute at most.
func TestRetryLinesSayEachRefusalOnce(t *testing.T) {
	var got []Event
	w := &retryLines{phase: "drain", node: "n1", emit: func(e Event) { got = append(got, e) }}
	pdb := `error when evicting pods/"web-1" -n "shop" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`
	for range 3 {
		if _, err := w.Write([]byte(pdb + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	other := `error when evicting pods/"db-0" -n "shop" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`
	_, _ = w.Write([]byte(other + "\n\n"))
	if len(got) != 2 || got[0].Error != pdb || got[1].Error != other || got[0].Kind != EventRetrying || got[0].Node != "n1" {
		t.Fatalf("events %+v: want one retrying event for each pod", got)
	}
	w.last[pdb] = w.last[pdb].Add(-retryEvery) // a minute later: said again
	_, _ = w.Write([]byte(pdb + "\n"))
	if len(got) != 3 {
		t.Fatalf("a refusal still coming a minute later is not said again: %d events", len(got))
	}
}

// A drain puts each node back the way it found it: a node cordoned before the
// drain is marked so when tainted, and --undo leaves it cordoned.
func TestUndoLeavesANodeCordonedBeforeTheDrainCordoned(t *testing.T) {
	taint := corev1.Taint{Key: "migration", Value: "migration", Effect: corev1.TaintEffectNoSchedule}
	other := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	node := func(cordoned bool, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: cordoned, Taints: taints}}
	}
	for _, tc := range []struct {
		name                   string
		before                 *corev1.Node
		wantMarked             bool
		afterUndoUnschedulable bool
	}{
		{"schedulable", node(false, other), false, false},
		{"cordoned before", node(true, other), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.before.DeepCopy()
			if !retaint(n, taint, true) {
				t.Fatal("tainting an untainted node changed nothing")
			}
			if _, ok := n.Annotations[CordonedBefore]; ok != tc.wantMarked || !n.Spec.Unschedulable || len(n.Spec.Taints) != 2 {
				t.Fatalf("tainted: marked %v (want %v), unschedulable %v, taints %v", ok, tc.wantMarked, n.Spec.Unschedulable, n.Spec.Taints)
			}
			// A resumed drain taints again: nothing changes, and a node the
			// drain cordoned is not taken for one cordoned before.
			if retaint(n, taint, true) {
				t.Fatalf("tainting again changed the node: %+v", n)
			}
			if !retaint(n, taint, false) {
				t.Fatal("undo changed nothing")
			}
			if _, ok := n.Annotations[CordonedBefore]; ok || n.Spec.Unschedulable != tc.afterUndoUnschedulable || len(n.Spec.Taints) != 1 || n.Spec.Taints[0] != other {
				t.Fatalf("after undo: marked %v, unschedulable %v (want %v), taints %v", ok, n.Spec.Unschedulable, tc.afterUndoUnschedulable, n.Spec.Taints)
			}
			if retaint(n, taint, false) {
				t.Fatalf("undo again changed the node: %+v", n)
			}
		})
	}
	// A cordoned node the drain never tainted (another --taint, or cordoned
	// since) is not the drain's to uncordon.
	n := node(true, other)
	if retaint(n, taint, false) || !n.Spec.Unschedulable {
		t.Fatalf("undo uncordoned a node the drain did not taint: %+v", n)
	}
	// An undo with another taint than the drain's leaves the mark: the right
	// undo after it still leaves the node cordoned.
	n = node(true)
	retaint(n, taint, true)
	if retaint(n, corev1.Taint{Key: "typo", Effect: corev1.TaintEffectNoSchedule}, false) {
		t.Fatalf("undo with a taint the node does not have changed it: %+v", n)
	}
	if retaint(n, taint, false); !n.Spec.Unschedulable {
		t.Fatalf("the mark was spent by an undo with another taint: the node was uncordoned")
	}
	// A mark left behind (a drain given up by hand: uncordoned, untainted)
	// is not taken for a cordon before the next drain.
	n = node(false)
	metav1.SetMetaDataAnnotation(&n.ObjectMeta, CordonedBefore, "true")
	retaint(n, taint, true)
	if _, ok := n.Annotations[CordonedBefore]; ok {
		t.Fatalf("a stale mark was kept on a node that was schedulable when tainted")
	}
	if retaint(n, taint, false); n.Spec.Unschedulable {
		t.Fatalf("undo left cordoned a node the drain cordoned (stale mark)")
	}
}

// A taint of the drain's key and effect that a node had before the drain
// (a maintenance taint of the same name) is given back by --undo, with its
// own value; one someone else set on a node the drain never tainted is no
// undo's to remove.
func TestUndoGivesBackATaintTheNodeHadBefore(t *testing.T) {
	taint := corev1.Taint{Key: "retiring", Value: "tandem", Effect: corev1.TaintEffectNoSchedule}
	for _, before := range []string{"maintenance", "tandem"} {
		n := &corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "retiring", Value: before, Effect: corev1.TaintEffectNoSchedule}}}}
		if !retaint(n, taint, true) {
			t.Fatalf("before %q: tainting changed nothing (the node is not cordoned yet)", before)
		}
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Value != "tandem" || n.Annotations[TaintedBefore] != before || n.Annotations[Tainted] != "retiring:NoSchedule" {
			t.Fatalf("before %q: tainted %v, annotations %v", before, n.Spec.Taints, n.Annotations)
		}
		if retaint(n, taint, true) {
			t.Fatalf("before %q: tainting again changed the node: %+v", before, n)
		}
		if !retaint(n, taint, false) {
			t.Fatalf("before %q: undo changed nothing", before)
		}
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Value != before || n.Spec.Unschedulable || len(n.Annotations) != 0 {
			t.Fatalf("before %q: after undo taints %v, unschedulable %v, annotations %v; want the taint as it was", before, n.Spec.Taints, n.Spec.Unschedulable, n.Annotations)
		}
	}
	theirs := &corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{taint}}}
	if retaint(theirs, taint, false) || len(theirs.Spec.Taints) != 1 {
		t.Fatalf("undo removed a taint the drain never set: %+v", theirs)
	}
}
