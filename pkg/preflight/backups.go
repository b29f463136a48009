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
