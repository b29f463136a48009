package volume

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/tandem-io/tandem/pkg/journal"
)

// Per-volume steps, in order.
const (
	StepUnmounted     = "unmounted"      // no pod in the source mounts the claim
	StepDetached      = "detached"       // no VolumeAttachment for the PV in the source
	StepRetain        = "retain"         // the source PV's reclaim policy is Retain
	StepSnapshot      = "snapshot"       // the Snapshotter took a snapshot (none: nothing)
	StepSave          = "save"           // the PV and PVC definitions are in the journal
	StepClearTarget   = "clear-target"   // no other claim of the same name in the target
	StepCreatePVC     = "create-pvc"     // the PVC exists in the target, naming the PV
	StepCreatePV      = "create-pv"      // the PV exists in the target, pre-bound to the PVC's uid
	StepReleaseSource = "release-source" // the source PVC and PV are deleted (the disk is retained)
	StepVerify        = "verify"         // the target PVC is Bound to the PV, claimRef.uid matches
	// StepReclaimPolicy: the PV that holds the volume at the end (the
	// target's; after a recovery, the source's) has the reclaim policy the
	// source PV had before the retain step (Retain with KeepRetain).
	StepReclaimPolicy = "reclaim-policy"
)

// Per-owner steps, in order.
const (
	StepScaleSource = "scale-source" // source owner at 0 replicas; the old count is recorded
	StepScaleTarget = "scale-target" // target owner exists at 0 replicas; its count is recorded
	StepScaleUp     = "scale-up"     // target owner at the source's recorded replicas
)

// Steps is every step of a handoff in the order it runs: owner steps run for
// all owners at their place in the sequence, volume steps for every volume.
var Steps = []string{
	StepRetain,
	StepScaleSource,
	StepUnmounted, StepDetached, StepSnapshot, StepSave,
	StepScaleTarget,
	StepClearTarget, StepCreatePVC, StepCreatePV, StepReleaseSource, StepVerify, StepReclaimPolicy,
	StepScaleUp,
}

// IsOwnerStep says whether step runs once per owner rather than per volume.
func IsOwnerStep(step string) bool {
	return step == StepScaleSource || step == StepScaleTarget || step == StepScaleUp
}

// Journal detail keys.
const (
	DetailDirection     = "direction"     // "handoff" or "rollback"
	DetailSelection     = "selection"     // what the user selected, to match a resume
	DetailVolumes       = "volumes"       // JSON []Volume of the run
	DetailOwners        = "owners"        // JSON []Owner of the run
	DetailReplicas      = "replicas"      // an owner's recorded replicas
	DetailPV            = "pv"            // saved PV (JSON)
	DetailPVC           = "pvc"           // saved PVC (JSON)
	DetailUID           = "uid"           // uid of the PVC created in the target
	DetailSnapshot      = "snapshot"      // snapshot id, if any
	DetailSnapshotState = "snapshotState" // its state when the step ended (EBS: pending or completed)
	DetailReason        = "reason"
	DetailWas           = "was" // the retain step: the source PV's reclaim policy before it
)

// Owner is a workload whose pods mount a volume.
type Owner struct {
	Kind      string `json:"kind"` // StatefulSet or Deployment
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Key names the owner in the journal.
func (o Owner) Key() string { return "owner/" + o.Kind + "/" + o.Namespace + "/" + o.Name }

// String is the owner as "Kind namespace/name".
func (o Owner) String() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// Volume is one claim and its PV.
type Volume struct {
	Namespace string  `json:"namespace"`
	Claim     string  `json:"claim"`
	PV        string  `json:"pv"`
	Owners    []Owner `json:"owners,omitempty"`
}

// Key names the volume in the journal.
func (v Volume) Key() string { return "pvc/" + v.Namespace + "/" + v.Claim }

// String is the volume as its claim, "namespace/claim".
func (v Volume) String() string { return v.Namespace + "/" + v.Claim }

// StepKey is the journal key of step for the object with key.
func StepKey(key, step string) string { return key + "#" + step }

// State is what the journal says is done: step key → the done record's detail.
type State map[string]map[string]string

// Done says whether step of key is done.
func (s State) Done(key, step string) bool {
	_, ok := s[StepKey(key, step)]
	return ok
}

// Started says whether any volume step of v is done (so it is under way)
// but Retain, which leaves the source's objects as they were.
func (s State) Started(v Volume) bool {
	return slices.ContainsFunc(Steps, func(st string) bool { return !IsOwnerStep(st) && st != StepRetain && s.Done(v.Key(), st) })
}

// Resume is an interrupted run found in a journal.
type Resume struct {
	Run       string
	Direction string
	Selection string
	Volumes   []Volume
	Owners    []Owner
	State     State
	Intents   State   // first intent detail per step key
	Origin    *Origin // of a recovery: the handoff it undoes
}

// AsOrigin returns what a recovery of this interrupted handoff needs.
func (r *Resume) AsOrigin() *Origin {
	return &Origin{Run: r.Run, State: r.State, Intents: r.Intents}
}

// LastRun returns the last run of recs if it did not end; nil otherwise.
func LastRun(recs []journal.Record) (*Resume, error) {
	last, ended := journal.LastRun(recs)
	if len(last) == 0 || ended {
		return nil, nil
	}
	r := &Resume{Run: last[0].Run, State: State{}, Intents: State{}}
	for _, rec := range last {
		switch rec.Op {
		case journal.OpStart:
			r.Direction, r.Selection = rec.Detail[DetailDirection], rec.Detail[DetailSelection]
			if err := json.Unmarshal([]byte(rec.Detail[DetailVolumes]), &r.Volumes); err != nil {
				return nil, fmt.Errorf("journal: run %s: volumes: %w", r.Run, err)
			}
			if err := json.Unmarshal([]byte(rec.Detail[DetailOwners]), &r.Owners); err != nil {
				return nil, fmt.Errorf("journal: run %s: owners: %w", r.Run, err)
			}
			if o := rec.Detail[DetailOrigin]; o != "" {
				r.Origin = &Origin{}
				if err := json.Unmarshal([]byte(o), r.Origin); err != nil {
					return nil, fmt.Errorf("journal: run %s: origin: %w", r.Run, err)
				}
			}
		case journal.OpIntent:
			if _, seen := r.Intents[rec.Key]; !seen && rec.Detail != nil {
				r.Intents[rec.Key] = rec.Detail
			}
		case journal.OpDone:
			d := rec.Detail
			if d == nil {
				d = map[string]string{}
			}
			r.State[rec.Key] = d
		}
	}
	return r, nil
}

// ownersOf returns the owners of vols, each once, in first-seen order.
func ownersOf(vols []Volume) []Owner {
	var out []Owner
	for _, v := range vols {
		for _, o := range v.Owners {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}
