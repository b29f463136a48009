// Package volume hands persistent volumes over from one cluster to another
// without copying data: the disk stays where it is and only the PV/PVC objects
// move.
//
// Each volume goes through a journaled state machine (Steps, in the order of
// the seed's manual procedure): reclaim policy Retain, owners scaled to 0 in
// the source, no pod mounting the claim, no VolumeAttachment left, an
// optional snapshot, the PV/PVC definitions saved in the journal, owners at 0
// in the target, the target's empty claim of the same name removed, the PVC
// created in the target, the PV created pre-bound to that PVC's UID, the
// source objects deleted (Retain keeps the disk), the binding verified, the
// target PV given the reclaim policy the source PV had (reclaim.go), and the
// owners scaled back to the source's replicas.
//
// The core rule: a PV is never bindable by name alone. It is created with
// claimRef {namespace, name, uid}, so another claim that names it through
// spec.volumeName cannot get it, and it is never Available.
//
// Every step writes an intent record before it acts and a done record (with
// what later steps need, e.g. replicas or the saved definitions) after; a
// re-run resumes at the first step not done, and every step is idempotent.
// A rollback is the same machine in the other direction.
package volume
