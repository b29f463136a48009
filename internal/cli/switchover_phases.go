package cli

// The phases of a switchover that reuse other verbs' machinery: the traffic
// shift (shift's Shifter and journal), the last sync pass (sync's pipeline)
// and the mirror's pause handshake.

import (
	"context"
	"fmt"
	"time"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/mirror"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// shiftTraffic is the shift phase: the same Shifter and journal as `tandem
// shift`, so an interrupted one resumes at its step, never jumping ahead.
func (o *SwitchoverOptions) shiftTraffic(ctx context.Context) error {
	so := &o.shift
	current, err := so.router.Observe(ctx)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	plan, err := traffic.NewPlan(current.Routes(), so.From, so.To, so.steps)
	if err != nil {
		return err
	}
	if final := plan.Steps[len(plan.Steps)-1].Weights; final.Covers(current) {
		fmt.Fprintf(o.g.Err, "[shift] the router already sends %s: nothing to shift\n", final)
		return nil
	}
	s := &traffic.Shifter{
		Router: so.router, Plan: plan, Pauses: so.pauses, VerifyTimeout: so.VerifyTimeout, GateEvery: so.GateInterval,
		Gates: so.gates, Smoke: so.smokeGates(), Observer: &shiftProgress{w: o.g.Err, n: len(plan.Steps), gates: len(so.gates), ttl: so.router.TTL(ctx)},
		JournalPath: traffic.JournalPath(so.JournalDir, so.Router),
	}
	rep, err := s.Shift(ctx)
	if rep.RolledBack && rep.Rollback != nil {
		fmt.Fprintf(o.g.Err, "[shift] traffic back on %s in %s\n", so.From, rep.Rollback.Verified.Round(time.Millisecond))
	}
	return err
}

// shiftBack sends all traffic to From and verifies it (the undo of shift).
func (o *SwitchoverOptions) shiftBack(ctx context.Context) error {
	so := &o.shift
	current, err := so.router.Observe(ctx)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	plan, err := traffic.NewPlan(current.Routes(), so.From, so.To, so.steps)
	if err != nil {
		return err
	}
	s := &traffic.Shifter{Router: so.router, Plan: plan, VerifyTimeout: so.VerifyTimeout, JournalPath: traffic.JournalPath(so.JournalDir, so.Router)}
	// The shift's own journal run, if one was interrupted, ends with the verified rollback.
	if _, err := s.Undo(ctx, "switchover undone"); err != nil {
		return fmt.Errorf("traffic back to %s: %w", so.From, err)
	}
	return nil
}

// lastSync is the sync phase: sync's own pipeline, standby form.
func (o *SwitchoverOptions) lastSync(ctx context.Context, from, to *cluster.Conn) error {
	prep, err := o.sync.prepare(ctx, from, to)
	if err != nil {
		return err
	}
	results, err := apply.Run(ctx, to, prep.Plan, apply.Options{Workers: o.sync.Workers, Log: o.g.Log})
	if err != nil {
		return err
	}
	_, total := apply.Summarize(results)
	fmt.Fprintf(o.g.Err, "[sync] %d created, %d updated, %d unchanged, %d conflicts, %d failed\n",
		total[apply.Created], total[apply.Updated], total[apply.Unchanged], total[apply.Conflict], total[apply.Failed])
	if total[apply.Failed] > 0 {
		for _, r := range results {
			if r.Status == apply.Failed {
				return fmt.Errorf("%d objects failed to copy, e.g. %s %s/%s: %s", total[apply.Failed], r.Kind, r.Namespace, r.Name, r.Reason)
			}
		}
	}
	if total[apply.Conflict] > 0 {
		fmt.Fprintf(o.g.Err, "[sync] warning: %d objects in %s are owned by another field manager and were left as they are (see tandem sync --dry-run)\n", total[apply.Conflict], to.Context)
	}
	return nil
}

// mirrorControl pauses and resumes the mirror writing into the standby
// (pkg/mirror's lease handshake). After a switchover the paused mirror stays
// paused: it would now copy into the active cluster; the mirror the other way
// is started by hand (the report says how).
type mirrorControl struct{}

func (mirrorControl) Pause(ctx context.Context, target *cluster.Conn, timeout time.Duration) error {
	return mirror.Pause(ctx, target, timeout)
}

func (mirrorControl) Resume(ctx context.Context, target *cluster.Conn) error {
	return mirror.Resume(ctx, target)
}

func (mirrorControl) Running(ctx context.Context, target *cluster.Conn) (bool, error) {
	st, err := mirror.Status(ctx, target)
	return st != nil && st.Live, err
}
