package volume

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// Snapshotter takes a point-in-time copy of a volume before it moves, in
// case something goes wrong.
type Snapshotter interface {
	// Name is what --snapshot calls it.
	Name() string
	// Snapshot copies the volume of pvc/pv in c and returns an id to find it by
	// ("" when there is nothing to find). It must be safe to call again for the
	// same volume after a crash.
	Snapshot(ctx context.Context, c *cluster.Conn, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) (string, error)
}

// SnapshotChecker is a Snapshotter that can tell, before anything
// changes, a volume it cannot snapshot (problem, with its fix; "" when it
// can): the handoff's check names it as a blocker.
type SnapshotChecker interface {
	CanSnapshot(ctx context.Context, c *cluster.Conn, pv *corev1.PersistentVolume) (problem, fix string, err error)
}

// StateReporter is a Snapshotter whose snapshots go on after Snapshot
// returns (an EBS snapshot completes in the background): State is what a
// snapshot was last seen as, for the report.
type StateReporter interface {
	State(id string) string
}

// None takes no snapshot.
type None struct{}

// Name implements Snapshotter.
func (None) Name() string { return "none" }

// Snapshot implements Snapshotter: nothing to do.
func (None) Snapshot(context.Context, *cluster.Conn, *corev1.PersistentVolumeClaim, *corev1.PersistentVolume) (string, error) {
	return "", nil
}
