package preflight

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// veleroSchedules says what a copied Velero Schedule does in the target.
// Sync copies a Schedule and its BackupStorageLocation (the user's
// configuration), not the Backups and Restores (runs, pkg/sanitize). Once
// the target's Velero runs it, both clusters take a backup at the same
// times into the same storage location under the same name
// (<schedule>-<time of the schedule>): the second is refused as one that
// already exists, so one cluster's backups fail, whichever is slower.
// Velero's own guide for a migration sets the second cluster's location
// read-only (https://velero.io/docs/main/migration-case/).
func veleroSchedules(env *Env) []Finding {
	var out []Finding
	for _, o := range env.Of("velero.io", "Schedule") {
		if paused, _, _ := unstructured.NestedBool(o.Object, "spec", "paused"); paused {
			continue
		}
		loc, _, _ := unstructured.NestedString(o.Object, "spec", "template", "storageLocation")
		if loc == "" {
			loc = "the default storage location"
		} else {
			loc = "storage location " + loc
		}
		out = append(out, Finding{Severity: Warning, Object: Ref(o),
			Message: fmt.Sprintf("a Velero Schedule: copied, the target's Velero backs up on the same schedule into %s, which the source's writes too; backups of the same name collide and one cluster's are refused", loc),
			Fix:     "in the target, until it is the active cluster: set its BackupStorageLocation read-only (kubectl -n " + o.GetNamespace() + ` patch backupstoragelocation NAME --type merge -p '{"spec":{"accessMode":"ReadOnly"}}') or pause the Schedule there (spec.paused: true; velero schedule pause ` + o.GetName() + ")"})
	}
	return out
}

// snapshots says what becomes of the source's VolumeSnapshots: sync does
// not copy them (pkg/sanitize: each is a record of the source's, and a
// copy would take a new snapshot or manage the source's), so a claim that
// restores from one cannot provision in the target by itself; its data
// comes with `tandem handoff`.
func snapshots(env *Env) []Finding {
	var out []Finding
	if n := env.Seen.Count("snapshot.storage.k8s.io", "VolumeSnapshot"); n > 0 {
		out = append(out, Finding{Severity: Info, Object: "VolumeSnapshots",
			Message: fmt.Sprintf("%d VolumeSnapshots in the source: sync does not copy them (each records a snapshot of the source's; a copy would take a new one, or manage the source's)", n),
			Fix:     "import a snapshot the target needs by hand: a VolumeSnapshotContent with deletionPolicy Retain and the snapshot's snapshotHandle, and a VolumeSnapshot bound to it"})
	}
	for _, o := range env.Of("", "PersistentVolumeClaim") {
		for _, field := range []string{"dataSource", "dataSourceRef"} {
			kind, _, _ := unstructured.NestedString(o.Object, "spec", field, "kind")
			name, _, _ := unstructured.NestedString(o.Object, "spec", field, "name")
			if kind != "VolumeSnapshot" {
				continue
			}
			out = append(out, Finding{Severity: Warning, Object: Ref(o),
				Message: fmt.Sprintf("restores from VolumeSnapshot %s, which sync does not copy: a copy of the claim cannot provision in the target", name),
				Fix:     "move its volume with `tandem handoff`, which binds the target's claim to the same volume"})
			break
		}
	}
	return out
}
