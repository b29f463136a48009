package switchover

// The work of the phases that reuse other verbs' machinery — the traffic
// shift (shift's Shifter and journal), the last sync pass (sync's pipeline),
// the mirror's pause handshake — built once for the CLI and the controller.

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/mirror"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/syncer"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// TrafficMove is the shift phase and its undo, for Switchover.Shift and
// ShiftBack: the same Shifter and journal as `tandem shift`, so an
// interrupted one resumes at its step, never jumping ahead.
type TrafficMove struct {
	Router        traffic.Router
	RouterURL     string // names the shift's journal
	From, To      string
	Steps         []int
	Pauses        []time.Duration
	VerifyTimeout time.Duration
	GateEvery     time.Duration
	GateGrace     time.Duration // traffic.Shifter.GateGrace
	Gates, Smoke  []traffic.Gate
	JournalDir    string
	// OpenJournal, when set, opens the shift's step journal instead of a
	// file in JournalDir (traffic.Shifter.OpenJournal).
	OpenJournal func() (journal.Log, []journal.Record, error)
	// Observer hears the Shifter's events; Say is told the rest. Both may be nil.
	Observer traffic.Observer
	Say      func(msg string)
}

func (t *TrafficMove) say(format string, args ...any) {
	if t.Say != nil {
		t.Say(fmt.Sprintf(format, args...))
	}
}

func (t *TrafficMove) plan(ctx context.Context) (traffic.Plan, traffic.Weights, error) {
	current, err := t.Router.Observe(ctx)
	if err != nil {
		return traffic.Plan{}, nil, fmt.Errorf("router: %w", err)
	}
	p, err := traffic.NewPlan(current.Routes(), t.From, t.To, t.Steps)
	return p, current, err
}

// Forward moves the traffic From → To in the steps, gated.
func (t *TrafficMove) Forward(ctx context.Context) error {
	plan, current, err := t.plan(ctx)
	if err != nil {
		return err
	}
	if final := plan.Steps[len(plan.Steps)-1].Weights; final.Covers(current) {
		t.say("the router already sends %s: nothing to shift", final)
		return nil
	}
	s := &traffic.Shifter{
		Router: t.Router, Plan: plan, Pauses: t.Pauses, VerifyTimeout: t.VerifyTimeout, GateEvery: t.GateEvery, GateGrace: t.GateGrace,
		Gates: t.Gates, Smoke: t.Smoke, Observer: t.Observer,
	}
	t.journal(s)
	rep, err := s.Shift(ctx)
	if rep.RolledBack && rep.Rollback != nil {
		t.say("traffic back on %s in %s", t.From, rep.Rollback.Verified.Round(time.Millisecond))
	}
	return err
}

// Back sends all traffic to From again and verifies it (the undo of Forward).
func (t *TrafficMove) Back(ctx context.Context) error {
	plan, _, err := t.plan(ctx)
	if err != nil {
		return err
	}
	s := &traffic.Shifter{Router: t.Router, Plan: plan, VerifyTimeout: t.VerifyTimeout}
	t.journal(s)
	// The shift's own journal run, if one was interrupted, ends with the verified rollback.
	if _, err := s.Undo(ctx, "switchover undone"); err != nil {
		return fmt.Errorf("traffic back to %s: %w", t.From, err)
	}
	return nil
}

// journal points s at the step journal.
func (t *TrafficMove) journal(s *traffic.Shifter) {
	if t.OpenJournal != nil {
		s.OpenJournal = t.OpenJournal
		return
	}
	s.JournalPath = traffic.JournalPath(t.JournalDir, t.RouterURL)
}

// SyncPass is the sync phase: sync's own pipeline, as prepare builds it
// (in standby form), written by syncer.Run into target as a sync writes —
// one writer, one place that ends a run; say hears the counts. An object no
// API version of target can hold is said, not failed: the standby has
// lacked it since it was made, and sync and plan name it. So is a resource
// of the source that could not be read.
func SyncPass(ctx context.Context, source, target *cluster.Conn, prepare func(context.Context) (*syncer.Prepared, error), workers int, log *slog.Logger, say func(string)) error {
	prep, err := prepare(ctx)
	if err != nil {
		return err
	}
	defer prep.Close()
	results, err := syncer.Run(ctx, source, target, prep, syncer.Options{Apply: apply.Options{Workers: workers, Log: log}})
	if err != nil {
		return err
	}
	// The APIServices the standby holds back, as sync --standby holds them.
	said, err := standby.HoldBack(ctx, target, prep.Held, prep.UnheldWritten(results))
	for _, s := range said {
		say(s)
	}
	if err != nil {
		return err
	}
	unshared := len(prep.Unshared)
	results = results[:len(results)-unshared] // syncer.Run puts them last
	_, total := apply.Summarize(results)
	say(fmt.Sprintf("%d created, %d updated, %d unchanged, %d conflicts, %d failed",
		total[apply.Created], total[apply.Updated], total[apply.Unchanged], total[apply.Conflict], total[apply.Failed]))
	if total[apply.Failed] > 0 {
		for _, r := range results {
			if r.Status == apply.Failed {
				return fmt.Errorf("%d objects failed to copy, e.g. %s %s/%s: %s", total[apply.Failed], r.Kind, r.Namespace, r.Name, r.Reason)
			}
		}
	}
	if total[apply.Conflict] > 0 {
		say(fmt.Sprintf("warning: %d objects in %s are owned by another field manager and were left as they are (see tandem sync --dry-run)", total[apply.Conflict], target.Context))
	}
	if len(prep.Unread) > 0 {
		// Not a failure: the standby keeps what the last copy wrote of
		// it, and a switchover away from an ailing source must go on.
		say(fmt.Sprintf("warning: %d reads of %s failed, so their latest changes are not in %s: %s", len(prep.Unread), source.Context, target.Context, prep.Unread[0].Warning))
	}
	if unshared > 0 {
		u := prep.Unshared[0].Object
		say(fmt.Sprintf("warning: %d objects have no API version %s serves and are not in it, e.g. %s %s/%s (see tandem plan)", unshared, target.Context, u.GetKind(), u.GetNamespace(), u.GetName()))
	}
	return nil
}

// MirrorHandshake pauses and resumes the mirror writing into the standby
// through pkg/mirror's lease handshake, whoever runs that mirror.
type MirrorHandshake struct{}

// Pause implements Mirror.
func (MirrorHandshake) Pause(ctx context.Context, target *cluster.Conn, timeout time.Duration) error {
	return mirror.Pause(ctx, target, timeout)
}

// Resume implements Mirror.
func (MirrorHandshake) Resume(ctx context.Context, target *cluster.Conn) error {
	return mirror.Resume(ctx, target)
}

// Running implements Mirror.
func (MirrorHandshake) Running(ctx context.Context, target *cluster.Conn) (bool, error) {
	st, err := mirror.Status(ctx, target)
	return st != nil && st.Live, err
}
