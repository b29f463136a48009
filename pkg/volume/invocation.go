package volume

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
)

// Options are one invocation of a handoff as the user asked for it.
type Options struct {
	// Source and Target in the handoff's direction (a rollback moves towards Source).
	Source, Target *cluster.Conn
	Selection      Selection
	Rollback       bool
	// ReplaceTargetClaims lets the handoff delete a claim of the same name
	// that it did not make in the target (one the target's owner provisioned
	// for itself); without it such a claim blocks the handoff.
	ReplaceTargetClaims bool
	// KeepRetain leaves the moved volumes' PVs Retain (see Handoff).
	KeepRetain  bool
	Journal     string // the journal file of this pair and selection
	Snapshot    string // auto, csi, ebs or none
	AWSRegion   string // --snapshot ebs
	AWSEndpoint string // --snapshot ebs: another EC2 endpoint
	Parallel    int
	Timeout     time.Duration
	Observer    Observer
	// Notice is told what the user should know before anything runs
	// (resuming, the snapshot chosen and why); may be nil.
	Notice func(string)
	// WaitSnapshots waits until each EBS snapshot is completed, not only taken.
	WaitSnapshots bool
	// EBSProgress is told each EBS snapshot's state as it is seen; may be nil.
	EBSProgress func(pv, state, progress string)
}

// JournalPath is the journal file, under dir, of the handoffs of sel from
// the cluster with identity sourceID to targetID; a rollback shares it.
// It is keyed by the clusters' identities, not their context names: a
// context renamed (or reused for another cluster) never resumes the wrong
// run. A journal an older tandem keyed by the context names (sourceCtx,
// targetCtx) is still found when the new one does not exist.
func JournalPath(dir, sourceID, targetID, sourceCtx, targetCtx string, sel Selection) string {
	name := func(a, b string) string {
		sum := sha256.Sum256([]byte(a + "\x00" + b + "\x00" + sel.String()))
		return filepath.Join(dir, "handoff-"+hex.EncodeToString(sum[:8])+".jsonl")
	}
	path, old := name(sourceID, targetID), name(sourceCtx, targetCtx)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if _, err := os.Stat(old); err == nil {
			return old
		}
	}
	return path
}

// Invocation is what one invocation will run: a fresh handoff or rollback,
// the resume of an interrupted one, or the recovery of a handoff that did
// not finish. Close it when done.
type Invocation struct {
	Handoff  *Handoff
	Volumes  []Volume
	Blockers []Blocker // every reason the run would fail, found before any change (none for a recovery)
	Warnings []string  // what the checks cannot judge (a volume whose data may be out of the target's reach)
	journal  *journal.Journal
}

// Close closes the journal.
func (inv *Invocation) Close() error { return inv.journal.Close() }

// Begin opens the journal, finds an interrupted run in it and decides what
// this invocation runs: `--rollback` of an interrupted handoff recovers it
// from wherever each volume got to; any other interrupted run is resumed,
// or refused (bad input) when the direction asked for is the other one.
func Begin(ctx context.Context, o Options) (*Invocation, error) {
	j, recs, err := journal.Open(o.Journal)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	inv := &Invocation{journal: j}
	if err := inv.begin(ctx, o, recs); err != nil {
		j.Close()
		return nil, err
	}
	return inv, nil
}

func (inv *Invocation) begin(ctx context.Context, o Options, recs []journal.Record) error {
	resume, err := LastRun(recs)
	if err != nil {
		return err
	}
	notice := func(format string, args ...any) {
		if o.Notice != nil {
			o.Notice(fmt.Sprintf(format, args...))
		}
	}
	h := &Handoff{Source: o.Source, Target: o.Target, Journal: inv.journal, Direction: DirectionHandoff,
		Selection: o.Selection.String(), Parallel: o.Parallel, Timeout: o.Timeout, Observer: o.Observer, ReplaceTargetClaims: o.ReplaceTargetClaims, KeepRetain: o.KeepRetain}
	inv.Handoff = h
	back := backAlready(recs)
	if o.Rollback {
		h.Direction, h.Source, h.Target = DirectionRollback, o.Target, o.Source
	}
	switch {
	case resume != nil && o.Rollback && resume.Direction == DirectionHandoff:
		// The handoff did not finish: undo it from wherever each volume got to.
		h.Direction, h.Source, h.Target = DirectionRecover, o.Source, o.Target
		h.Run, h.Origin, inv.Volumes = journal.NewRunID(), resume.AsOrigin(), resume.Volumes
		notice("rolling back interrupted handoff %s (%d steps done): every volume back to %s", resume.Run, len(resume.State), o.Source.Context)
		return nil
	case resume != nil && resume.Direction == DirectionRecover:
		if !o.Rollback {
			return fmt.Errorf("%w: an interrupted rollback of this selection is in the journal %s: run the command with --rollback to finish it first", cluster.ErrBadInput, o.Journal)
		}
		if resume.Origin == nil {
			return fmt.Errorf("journal %s: rollback %s does not say which handoff it undoes", o.Journal, resume.Run)
		}
		h.Direction, h.Source, h.Target = DirectionRecover, o.Source, o.Target
		h.Run, h.State, h.Intents, h.Origin, inv.Volumes = resume.Run, resume.State, resume.Intents, resume.Origin, resume.Volumes
		notice("resuming interrupted rollback %s of handoff %s: %d steps already done", resume.Run, resume.Origin.Run, len(resume.State))
		return nil
	case resume != nil && resume.Direction != h.Direction:
		other := "without --rollback"
		if resume.Direction == DirectionRollback {
			other = "with --rollback"
		}
		return fmt.Errorf("%w: an interrupted %s of this selection is in the journal %s: run the command %s to finish it first", cluster.ErrBadInput, resume.Direction, o.Journal, other)
	case resume != nil:
		h.Run, h.State, h.Intents, inv.Volumes = resume.Run, resume.State, resume.Intents, resume.Volumes
		notice("resuming interrupted %s %s: %d steps already done", h.Direction, h.Run, len(h.State))
	case o.Rollback && back != "":
		// A rollback moves what a finished handoff moved. After a rollback the
		// claims in the target are the target's own again (empty, or someone
		// else's), and the source's are the volumes: moving anything now would
		// replace the source's claims.
		return fmt.Errorf("%w: nothing to roll back: the last run of this selection (%s) already brought the volumes back to %s (journal %s)",
			cluster.ErrBadInput, back, o.Source.Context, o.Journal)
	default:
		inv.Volumes, err = Discover(ctx, h.Source, o.Selection)
		if run := handedOver(recs); (err != nil || len(inv.Volumes) == 0) && !o.Rollback && run != "" {
			// The same command again after it finished: the source has
			// nothing of the selection's left to move, by design.
			return fmt.Errorf("%w: nothing to hand over: the last run of this selection (%s) already moved its volumes to %s (journal %s); --rollback brings them back",
				cluster.ErrBadInput, run, o.Target.Context, o.Journal)
		}
		if err != nil {
			return err
		}
		if len(inv.Volumes) == 0 {
			return fmt.Errorf("%w: no bound claims in %s match %s", cluster.ErrBadInput, h.Source.Context, o.Selection)
		}
		h.Run = journal.NewRunID()
	}
	if h.Snapshotter, err = o.snapshotter(ctx, h.Source, inv.Volumes, h.Run, notice); err != nil {
		return err
	}
	inv.Blockers, inv.Warnings, err = Check(ctx, h.Source, h.Target, inv.Volumes, h.State, h.ReplaceTargetClaims, h.Snapshotter)
	return err
}

// snapshotter builds the Snapshotter --snapshot names, once the run id (the
// snapshots' name and tag) and the volumes are known.
func (o Options) snapshotter(ctx context.Context, source *cluster.Conn, vols []Volume, run string, notice func(string, ...any)) (Snapshotter, error) {
	switch o.Snapshot {
	case "auto":
		sn, why, err := ChooseSnapshotter(ctx, source, vols, run)
		if err != nil {
			return nil, err
		}
		if why != "" {
			notice("no CSI snapshot: %s", why)
		}
		return sn, nil
	case "csi":
		return &CSI{Run: run, Timeout: o.Timeout}, nil
	case "ebs":
		e, err := NewEBS(ctx, o.AWSRegion, o.AWSEndpoint, run)
		if err != nil {
			return nil, fmt.Errorf("%w: --snapshot ebs: %v", cluster.ErrBadInput, err)
		}
		e.Progress, e.WaitCompleted = o.EBSProgress, o.WaitSnapshots
		return e, nil
	case "none", "":
		return None{}, nil
	}
	return nil, fmt.Errorf("%w: --snapshot %q: want auto, csi, ebs or none", cluster.ErrBadInput, o.Snapshot)
}

// backAlready names the last run in recs when it is a finished rollback or
// recovery ("rollback RUN"), else "".
func backAlready(recs []journal.Record) string {
	last, ended := journal.LastRun(recs)
	if !ended {
		return ""
	}
	for _, r := range last {
		if d := r.Detail[DetailDirection]; r.Op == journal.OpStart && (d == DirectionRollback || d == DirectionRecover) {
			return d + " " + r.Run
		}
	}
	return ""
}

// handedOver is the run id of the last run in recs when it is a handoff
// that finished (its end record), "" otherwise.
func handedOver(recs []journal.Record) string {
	last, ended := journal.LastRun(recs)
	if !ended {
		return ""
	}
	for _, r := range last {
		if r.Op == journal.OpStart && r.Detail[DetailDirection] == DirectionHandoff {
			return r.Run
		}
	}
	return ""
}
