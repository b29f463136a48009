package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/switchover"
)

// SwitchoverOptions are the flags of `tandem switchover`.
type SwitchoverOptions struct {
	g                 *Global
	To, From          string
	Sync              bool
	SourceUnreachable bool
	BreakLock         bool
	Rollback          bool
	Timeout           time.Duration
	JournalDir        string

	shift ShiftOptions // router, steps, pauses, gates: the same flags as `tandem shift`
	sync  SyncOptions  // the selection of the last sync pass
	via   viaController
}

func newSwitchoverCmd(g *Global) *cobra.Command {
	o := &SwitchoverOptions{g: g}
	o.shift.g, o.sync.g = g, g
	cmd := &cobra.Command{
		Use:   "switchover",
		Short: "Make the standby cluster active and the active one standby, under a lock, with a way back",
		Long: `Moves the active role from one cluster of the pair to the other, in the order
storage DR tools use:

  lock → pause the mirror → last sync pass (standby form) → activate the standby
  → shift traffic (gated steps, automatic rollback) → deactivate the old active
  → write both records at epoch+1 → unlock

The lock is a Lease in both clusters: a second switchover is refused with the
holder's name; a stale lock (its holder stopped renewing) is reported with its
holder and age and taken only with --break-lock; a lock left by a crashed run on
this machine is taken over. Every phase is journaled: re-running the same
command after a crash (kill -9) resumes; --rollback undoes an interrupted one.
Any failure undoes the phases already done, last first, and says so.

--source-unreachable is an emergency failover: the old active cluster cannot be
reached, so pausing the mirror, the last sync and deactivating it are skipped
(and recorded); only the new active's record is written, at a higher epoch, so
the old one loses when it comes back.

The router URL defaults to the one the records remember. Router cluster names
are the context names. The traffic shift takes the step and gate flags of
tandem shift.

` + gateHelp + `

Exit codes: 0 switched (or resumed to the end), 1 failed and rolled back, or
locked by another run, 2 bad input.`,
		Example: `  tandem switchover --source blue --target green --to green --router "$TANDEM_LAB_ROUTER" \
    --steps 0,25,50,100 --pause 10s --gate-http http://127.0.0.1:8080/ --gate-host app.example
  tandem switchover --source blue --target green --to green --router "$TANDEM_LAB_ROUTER" \
    --steps 0,25,50,100 --pause 10s \
    --gate-http 'url=http://127.0.0.1:8080/,host=app.example,maxP99=300ms' \
    --gate-http 'url=http://127.0.0.1:8080/healthz,host=api.example,requests=20,maxFailures=0.05' \
    --gate-command './check-orders.sh --since 1m'
  tandem switchover --source blue --target green --to green --rollback
  tandem switchover --source blue --target green --to green --source-unreachable --steps 100
  tandem switchover --via-controller --pair prod --to green --steps 0,25,50,100 --pause 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.via.On {
				if o.To == "" {
					return badInput("switchover needs --to CLUSTER (the standby to make active)")
				}
				return o.runViaController(cmd.Context(), cmd)
			}
			if err := o.Complete(cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context(), cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.To, "to", "", "context of the cluster to make active (the standby)")
	f.StringVar(&o.From, "from", "", "context of the active cluster (default: the other of --source/--target)")
	f.BoolVar(&o.Sync, "sync", true, "run a last sync pass from the active cluster into the standby before activating it")
	f.BoolVar(&o.SourceUnreachable, "source-unreachable", false, "emergency failover: the active cluster cannot be reached; skip every step that needs it")
	f.BoolVar(&o.BreakLock, "break-lock", false, "take a stale switchover lock (its holder stopped renewing it)")
	f.BoolVar(&o.Rollback, "rollback", false, "undo an interrupted switchover into --to (from its journal)")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long activation may wait for workloads, and the mirror for its in-flight pass")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each run is kept")
	addShiftStepFlags(cmd, &o.shift)
	o.sync.AddSelectionFlags(cmd)
	addViaControllerFlags(cmd, &o.via)
	return cmd
}

// addShiftStepFlags adds the flags a traffic shift is made of: router,
// steps, pauses, gates, smoke test (shared by shift, switchover and drill).
func addShiftStepFlags(cmd *cobra.Command, o *ShiftOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Router, "router", "", "router URL (see tandem shift --help); switchover and drill default to the one the records remember")
	f.StringVar(&o.Steps, "steps", "0,5,25,50,100", "the target's share at each step, in percent, increasing")
	f.StringVar(&o.Pause, "pause", "30s", "how long each step is held (and gated) before the next; one, or one per step")
	f.DurationVar(&o.VerifyTimeout, "verify-timeout", 0, "how long a step may take to show in the router (default: 2m for route53, whose changes take up to a minute to be INSYNC; 30s for the others)")
	f.BoolVar(&o.FixTTL, "fix-ttl", false, "route53: when the weighted records of a name have different TTLs (Route53 refuses changes to such a set), give them all the longest")
	f.DurationVar(&o.GateInterval, "gate-interval", 250*time.Millisecond, "how often the gates run during a pause")
	f.DurationVar(&o.GateGrace, "gate-grace", 30*time.Second, "how long a gate that cannot measure (its Prometheus unreachable, answering 5xx or 429) is tolerated before the step fails and rolls back; a step does not end while a gate cannot measure")
	f.StringVar(&o.Smoke, "smoke", "", "smoke test before any weight: URL of the target's own endpoint")
	f.StringVar(&o.SmokeHost, "smoke-host", "", "Host header of the smoke test (default --gate-host)")
	addGateFlags(cmd, o)
}

// Complete checks the flags that need no cluster.
func (o *SwitchoverOptions) Complete(cmd *cobra.Command) error {
	if o.To == "" {
		return badInput("switchover needs --to CONTEXT (the standby to make active)")
	}
	if o.From == "" {
		o.From = otherOf(o.g, o.To)
	}
	if o.From == "" {
		if o.g.Source != "" || o.g.Target != "" {
			return badInput("--to %q is neither --source (%s) nor --target (%s): pass --from CONTEXT for the active cluster", o.To, dash(o.g.Source), dash(o.g.Target))
		}
		return badInput("which cluster is active now? pass --from CONTEXT (or --source/--target with --to one of them)")
	}
	if o.From == o.To {
		return badInput("--from and --to are both %q: a switchover needs two clusters", o.To)
	}
	if o.Timeout <= 0 {
		return badInput("--timeout %s: want a positive duration", o.Timeout)
	}
	o.shift.From, o.shift.To = o.From, o.To
	if err := o.sync.Complete(); err != nil {
		return err
	}
	o.sync.Standby, o.sync.Workers = true, apply.DefaultWorkers
	return nil
}

// otherOf returns the context of --source/--target that is not ctx.
func otherOf(g *Global, ctx string) string {
	switch ctx {
	case g.Source:
		return g.Target
	case g.Target:
		return g.Source
	}
	return ""
}

// pairConns connects to both clusters of a switchover; from is nil when
// unreachable is set (and must then really be unreachable).
func (o *SwitchoverOptions) pairConns(ctx context.Context) (from, to *cluster.Conn, err error) {
	if to, err = o.g.connect(o.To, "to"); err != nil {
		return nil, nil, err
	}
	if _, err := to.Check(ctx); err != nil {
		return nil, nil, fmt.Errorf("%s cannot be reached, so it cannot become active: %w", o.To, err)
	}
	from, err = o.g.connect(o.From, "from")
	if err != nil {
		return nil, nil, err
	}
	if _, checkErr := from.Check(ctx); checkErr != nil {
		if o.SourceUnreachable {
			fmt.Fprintf(o.g.Err, "emergency failover: %s is unreachable (%v)\n", o.From, checkErr)
			return nil, to, nil
		}
		return nil, nil, fmt.Errorf("%w; if it is down for good, pass --source-unreachable for an emergency failover", checkErr)
	}
	if o.SourceUnreachable {
		return nil, nil, badInput("--source-unreachable, but %s answers: run a normal switchover (it deactivates %s, so both never take traffic)", o.From, o.From)
	}
	if err := cluster.Distinct(ctx, from, to); err != nil {
		return nil, nil, err
	}
	return from, to, nil
}

// Run switches over, resumes an interrupted switchover, or rolls it back.
func (o *SwitchoverOptions) Run(ctx context.Context, cmd *cobra.Command) error {
	from, to, err := o.pairConns(ctx)
	if err != nil {
		return err
	}
	rep, err := runSwitchover(ctx, o, cmd, from, to, "switchover")
	if perr := o.print(rep); perr != nil {
		return perr
	}
	return err
}

// runSwitchover is one switchover from o.From to o.To, shared with drill.
func runSwitchover(ctx context.Context, o *SwitchoverOptions, cmd *cobra.Command, from, to *cluster.Conn, reason string) (switchover.Report, error) {
	if o.shift.Router == "" {
		o.shift.Router = switchover.RememberedRouter(ctx, from, to)
	}
	if o.shift.Router == "" {
		return switchover.Report{}, badInput("no router: pass --router URL (no record remembers one yet)")
	}
	o.shift.JournalDir = o.JournalDir // the shift phase journals beside the switchover, as `tandem shift` would
	if err := o.shift.Complete(cmd); err != nil {
		return switchover.Report{}, err
	}
	if err := o.shift.Validate(); err != nil {
		return switchover.Report{}, err
	}

	move := o.trafficMove()
	inv := &switchover.Invocation{
		Switchover: switchover.Switchover{
			From: from, FromName: o.From, To: to, SourceUnreachable: o.SourceUnreachable,
			Router: o.shift.Router, Timeout: o.Timeout, Reason: switchoverReason(reason, o),
			Progress:  func(phase, msg string) { fmt.Fprintf(o.g.Err, "[%s] %s\n", phase, msg) },
			Shift:     move.Forward,
			ShiftBack: move.Back,
			Mirror:    switchover.MirrorHandshake{},
		},
		JournalDir: o.JournalDir, Rollback: o.Rollback, BreakLock: o.BreakLock,
		Validate: func(ctx context.Context) error { return o.validate(ctx, from, to) },
		Notice:   func(s string) { fmt.Fprintln(o.g.Err, s) },
	}
	if o.Sync && from != nil {
		inv.Sync = func(ctx context.Context) error { return o.lastSync(ctx, from, to) }
	}
	rep, err := switchover.Invoke(ctx, inv)
	switch {
	case errors.Is(err, switchover.ErrLocked):
		fmt.Fprintln(o.g.Err, "error: "+strings.TrimPrefix(err.Error(), switchover.ErrLocked.Error()+": "))
		return rep, errPartial
	case errors.Is(err, switchover.ErrFailed):
		fmt.Fprintln(o.g.Err, "error: "+strings.TrimPrefix(err.Error(), switchover.ErrFailed.Error()+": ")+"; undone: "+undoneText(rep))
		return rep, errPartial
	}
	return rep, err
}

func switchoverReason(reason string, o *SwitchoverOptions) string {
	if o.SourceUnreachable {
		return "emergency failover: " + o.From + " unreachable"
	}
	return reason
}

// validate checks, before anything changes, that the switchover makes sense.
func (o *SwitchoverOptions) validate(ctx context.Context, from, to *cluster.Conn) error {
	w, err := switchover.Check(ctx, from, o.From, to, o.shift.router)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.g.Err, "router %s now: %s\n", o.shift.Router, w)
	return nil
}
