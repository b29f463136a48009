package preflight

import (
	"strings"
	"testing"
)

// A Velero Schedule the target would run into the source's storage
// location is a warning with the way out; a paused one is not.
func TestStatefulFlagsVeleroSchedulesBothClustersWouldRun(t *testing.T) {
	env := envOf(
		map[string]any{"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": meta("nightly", "velero", nil, nil),
			"spec": map[string]any{"schedule": "0 1 * * *", "template": map[string]any{"storageLocation": "s3-main"}}},
		map[string]any{"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": meta("paused", "velero", nil, nil),
			"spec": map[string]any{"schedule": "0 2 * * *", "paused": true}},
	)
	fs := veleroSchedules(env)
	if len(fs) != 1 {
		t.Fatalf("findings %+v: want the running schedule alone", fs)
	}
	f := fs[0]
	if f.Severity != Warning || f.Object != "Schedule.velero.io velero/nightly" || !strings.Contains(f.Message, "storage location s3-main") ||
		!strings.Contains(f.Fix, `"accessMode":"ReadOnly"`) || !strings.Contains(f.Fix, "velero schedule pause nightly") {
		t.Errorf("finding %+v", f)
	}
}

// The source's snapshots are said not to be copied, and a claim restoring
// from one is a warning: its copy could not provision.
func TestStatefulSaysSnapshotsStay(t *testing.T) {
	env := envOf(
		map[string]any{"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": meta("db-nightly", "shop", nil, nil)},
		map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("db-restored", "shop", nil, nil),
			"spec": map[string]any{"dataSource": map[string]any{"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "db-nightly"}}},
		map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("plain", "shop", nil, nil), "spec": map[string]any{}},
	)
	fs := snapshots(env)
	if len(fs) != 2 || fs[0].Severity != Info || !strings.Contains(fs[0].Message, "1 VolumeSnapshots") ||
		fs[1].Severity != Warning || fs[1].Object != "PersistentVolumeClaim shop/db-restored" || !strings.Contains(fs[1].Message, "VolumeSnapshot db-nightly") {
		t.Errorf("findings %+v", fs)
	}
}
