package switchover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
)

// ErrFailed says the switchover failed and what it had begun was undone; the
// report says which phase failed and what the undo did.
var ErrFailed = errors.New("switchover failed")

// Invocation is one switchover as asked for: the phases' work (the embedded
// Switchover, without its journal), where its journal lives, and whether to
// undo an interrupted one instead.
type Invocation struct {
	Switchover
	// JournalDir holds one journal per target cluster identity.
	JournalDir string
	// OpenJournal, when set, opens the journal instead (the controller keeps
	// it in the management cluster): the log and its records so far.
	OpenJournal func(ctx context.Context) (journal.Log, []journal.Record, error)
	// Holder names this run in the lock; default this user, host and process.
	// A lock held under the same Run is this run's own, left by a process
	// that is gone (a controller replica that lost its leadership), and is
	// taken over at once.
	Holder *Holder
	// Rollback undoes the interrupted switchover into To instead of finishing it.
	Rollback bool
	// BreakLock takes over a stale lock.
	BreakLock bool
	// Validate checks, before a fresh run changes anything, that it makes sense.
	Validate func(ctx context.Context) error
	// Notice is told what the user should know (a resumed run, a lock taken
	// over, a lock lost); may be nil.
	Notice func(string)
}

// Invoke runs the switchover: it finds an interrupted one in the journal
// (resumed, or undone with Rollback), takes the lock in every reachable
// cluster, runs the phases and releases the lock. An interrupted switchover
// of another direction, or a Rollback with nothing to undo, is bad input;
// a lock held by another run is ErrLocked; a failed run is ErrFailed with
// the report saying what was undone.
func Invoke(ctx context.Context, inv *Invocation) (Report, error) {
	notice := func(format string, args ...any) {
		if inv.Notice != nil {
			inv.Notice(fmt.Sprintf(format, args...))
		}
	}
	toID, err := inv.To.Identity(ctx)
	if err != nil {
		return Report{}, err
	}
	// The journal file is only read before the lock is held (a refused run
	// must not touch it), and opened — locked for this run — after.
	path := JournalPath(inv.JournalDir, toID)
	var j journal.Log
	var recs []journal.Record
	if inv.OpenJournal != nil {
		j, recs, err = inv.OpenJournal(ctx)
	} else if recs, err = journal.ReadFile(path); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return Report{}, fmt.Errorf("journal: %w", err)
	}
	if j != nil {
		defer j.Close()
	}
	to := inv.To.Context
	pending := FindPending(recs)
	if pending != nil && (pending.From != inv.FromName || pending.To != to) {
		return Report{}, fmt.Errorf("%w: an interrupted switchover %s → %s into this cluster is pending: re-run it, or undo it with --rollback --from %s --to %s",
			cluster.ErrBadInput, pending.From, pending.To, pending.From, pending.To)
	}
	if inv.Rollback && pending == nil {
		return Report{}, fmt.Errorf("%w: no interrupted switchover into %s to roll back; after a completed one, switch back with --to %s", cluster.ErrBadInput, to, inv.FromName)
	}

	conns := []*cluster.Conn{inv.To}
	if inv.From != nil {
		conns = append(conns, inv.From)
	}
	holder := Holder{Who: Who(), PID: os.Getpid(), Run: "-", What: inv.Reason + " to " + to}
	if inv.Holder != nil {
		holder = *inv.Holder
	}
	lock, err := Acquire(ctx, conns, holder, inv.BreakLock)
	if err != nil {
		return Report{}, err
	}
	defer lock.Release(context.WithoutCancel(ctx))
	if j == nil {
		jf, fresh, err := journal.Open(path)
		if err != nil {
			return Report{}, fmt.Errorf("journal: %w", err)
		}
		defer jf.Close()
		j = jf
		if p := FindPending(fresh); (p == nil) != (pending == nil) || (p != nil && p.Run != pending.Run) {
			return Report{}, fmt.Errorf("%w: the journal %s changed while the lock was taken: run again", ErrLocked, path)
		}
	}
	for _, t := range lock.TookOver {
		notice("took over the lock of a crashed run: %s", t)
	}
	// Fencing: a lost lock (taken, deleted, not renewed in time) cancels the
	// run before its next write; the phase it was in fails and what it began
	// is undone, as for any failure.
	ctx, fence := context.WithCancelCause(ctx)
	defer fence(nil)
	go func() {
		select {
		case <-lock.Done():
			fence(lockLost(lock))
		case <-ctx.Done():
		}
	}()

	s := &inv.Switchover
	s.Journal = j
	if pending != nil {
		s.Resume(pending)
		if inv.Rollback {
			notice("undoing interrupted switchover %s (%s → %s)", pending.Run, pending.From, pending.To)
			return s.rollback(ctx, pending)
		}
		notice("resuming interrupted switchover %s (%s → %s, epoch %d): %d of %d phases done", pending.Run, pending.From, pending.To, pending.Epoch, len(pending.Done), len(Phases))
	} else {
		if inv.Validate != nil {
			if err := inv.Validate(ctx); err != nil {
				return Report{}, err
			}
		}
		if err := s.Begin(ctx); err != nil {
			return Report{}, err
		}
	}
	rep, err := s.Run(ctx)
	if rep.Completed || rep.RolledBack {
		// The run has ended: its journal need not keep the runs before it.
		if cerr := journal.Compact(j, rep.Run); cerr != nil {
			notice("warning: %v", cerr)
		}
	}
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrLocked) {
		return rep, fmt.Errorf("%w: %v; stopped and undone", ErrLocked, cause)
	}
	if err != nil {
		return rep, fmt.Errorf("%w: %v", ErrFailed, err)
	}
	return rep, nil
}

// lockLost is why lock was lost, as an ErrLocked.
func lockLost(lock *Lock) error {
	if err := lock.Lost(); err != nil {
		if errors.Is(err, ErrLocked) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrLocked, err)
	}
	return fmt.Errorf("%w: the switchover lock was lost", ErrLocked)
}

// rollback undoes the begun phases of the interrupted run p, last first.
func (s *Switchover) rollback(ctx context.Context, p *Pending) (Report, error) {
	rep := Report{From: s.FromName, To: s.To.Context, Run: p.Run, Epoch: p.Epoch, Started: time.Now(), RolledBack: true}
	rep.Undo = s.Undo(ctx)
	rep.Took = time.Since(rep.Started)
	for _, u := range rep.Undo {
		if u.Err != "" {
			rep.Err = "undo " + u.Phase + ": " + u.Err
		}
	}
	if rep.Err != "" {
		return rep, fmt.Errorf("rollback incomplete: %s (re-run --rollback)", rep.Err)
	}
	return rep, s.Finish("rolled back by hand")
}

// shortID is the start of a cluster identity, enough to tell journals apart.
// JournalPath is the journal, in dir, of the switchovers into the cluster
// of identity toID.
func JournalPath(dir, toID string) string {
	return filepath.Join(dir, "switchover-"+shortID(toID)+".jsonl")
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
