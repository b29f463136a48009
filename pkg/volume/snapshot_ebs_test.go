package volume_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/volume"
	"github.com/tandem-io/tandem/pkg/volume/ec2fake"
)

func ebsPV(name, handle string, csi bool) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if csi {
		pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: handle}
	} else {
		pv.Spec.AWSElasticBlockStore = &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: handle}
	}
	return pv
}

func TestEBSSnapshotIsTakenOnceAndWaitedFor(t *testing.T) {
	fake := ec2fake.New()
	defer fake.Close()
	fake.AddVolume("vol-0123456789abcdef0", 8)
	fake.AddVolume("vol-0fedcba987654321", 20)
	ctx := context.Background()
	e, err := volume.NewEBS(ctx, "eu-west-1", fake.URL, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	e.WaitCompleted = true
	var states []string
	e.Progress = func(_, state, _ string) { states = append(states, state) }
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "shop"}}
	// Another account's snapshot with the very tags a re-run looks for is never taken for ours.
	foreign := fake.AddSnapshot("vol-0123456789abcdef0", "999999999999", map[string]string{"tandem.io/pv": "pv-a", "tandem.io/handoff": "run-1"})
	id, err := e.Snapshot(ctx, nil, pvc, ebsPV("pv-a", "vol-0123456789abcdef0", true))
	if err != nil {
		t.Fatal(err)
	}
	if id == foreign {
		t.Fatalf("the handoff took another account's snapshot %s for its own", foreign)
	}
	if !strings.HasPrefix(id, "snap-") || states[len(states)-1] != "completed" || states[0] != "pending" {
		t.Fatalf("snapshot %q, states %v: want a snap- id waited for from pending to completed", id, states)
	}
	// A re-run (after a crash) finds the same snapshot instead of taking another.
	again, err := e.Snapshot(ctx, nil, pvc, ebsPV("pv-a", "vol-0123456789abcdef0", true))
	if err != nil || again != id || len(fake.Snapshots("vol-0123456789abcdef0")) != 2 || fake.Calls["CreateSnapshot"] != 1 {
		t.Fatalf("re-run: %q %v, snapshots %v, %d CreateSnapshot calls", again, err, fake.Snapshots("vol-0123456789abcdef0"), fake.Calls["CreateSnapshot"])
	}
	// In-tree ids with the zone prefix.
	if _, err := e.Snapshot(ctx, nil, pvc, ebsPV("pv-b", "aws://eu-west-1a/vol-0fedcba987654321", false)); err != nil {
		t.Fatal(err)
	}
	// Not EBS, and an unknown volume: clear errors, EC2's code passed on.
	host := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-h"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}}
	if _, err := e.Snapshot(ctx, nil, pvc, host); err == nil || !strings.Contains(err.Error(), "not an EBS volume") {
		t.Fatalf("hostPath PV: %v", err)
	}
	if _, err := e.Snapshot(ctx, nil, pvc, ebsPV("pv-c", "vol-00000000000000000", true)); err == nil || !strings.Contains(err.Error(), "InvalidVolume.NotFound") {
		t.Fatalf("unknown volume: %v", err)
	}
}

func TestEBSSnapshotWaitTimesOutWithProgress(t *testing.T) {
	fake := ec2fake.New()
	defer fake.Close()
	fake.CompleteAfter = time.Hour
	fake.AddVolume("vol-0123456789abcdef0", 8)
	ctx := context.Background()
	e, err := volume.NewEBS(ctx, "eu-west-1", fake.URL, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	e.Timeout, e.WaitCompleted = time.Second, true
	calls := 0
	e.Progress = func(_, state, _ string) { calls++ }
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "shop"}}
	_, err = e.Snapshot(ctx, nil, pvc, ebsPV("pv-a", "vol-0123456789abcdef0", true))
	if err == nil || !strings.Contains(err.Error(), "not completed after 1s (50%)") {
		t.Fatalf("got %v, want a timeout naming the last progress", err)
	}
	if calls < 2 {
		t.Errorf("Progress heard %d attempts, want one per attempt", calls)
	}
}

// EBS takes the point in time at CreateSnapshot: without --wait-snapshots the
// handoff goes on while the snapshot is pending (a large first snapshot
// completes hours later), and says it is pending.
func TestEBSSnapshotGoesOnWhilePending(t *testing.T) {
	fake := ec2fake.New()
	defer fake.Close()
	fake.CompleteAfter = 60 * time.Second
	fake.AddVolume("vol-0123456789abcdef0", 500)
	ctx := context.Background()
	e, err := volume.NewEBS(ctx, "eu-west-1", fake.URL, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "shop"}}
	id, err := e.Snapshot(ctx, nil, pvc, ebsPV("pv-a", "vol-0123456789abcdef0", true))
	if err != nil {
		t.Fatal(err)
	}
	if st := e.State(id); st != "pending" {
		t.Fatalf("snapshot %s state %q when Snapshot returned, want pending (not waited for)", id, st)
	}
	if n := fake.Calls["DescribeSnapshots"]; n != 2 {
		t.Errorf("%d DescribeSnapshots calls, want 2 (the re-run lookup and one check)", n)
	}
}
