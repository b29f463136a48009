package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/mirror"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// MirrorOptions are the flags of `tandem mirror`.
type MirrorOptions struct {
	sync        SyncOptions // selection, --standby, --force: the same as sync
	Prune       bool
	MetricsAddr string
	Workers     int
	Duration    time.Duration
	Every       time.Duration
}

func newMirrorCmd(g *Global) *cobra.Command {
	o := &MirrorOptions{sync: SyncOptions{g: g}}
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "Keep the target in step with the source from watches: create, update and (with --prune) delete, continuously",
		Long: `Copies everything once (the same as tandem sync), then watches every resource
of the source (an informer each) and applies each change to the target through
the same pipeline: selection, sanitizing, the standby form with --standby,
server-side apply as field manager "tandem". A kind the source serves since the
mirror started (a CRD made there: its CRD is mirrored as any object, then its
objects) is watched from then on, as is a new served version of a watched one
whose old version goes; a kind the source no longer serves stops being watched.
The source's API is read again a moment after a CRD changes, and every minute.
Not watched: what the cluster makes of nearly every object (Pods, Events,
ControllerRevisions…); of Endpoints and EndpointSlices only those a person
wrote for a Service without a selector (an external database's address) are
watched, not those the cluster's controllers write.

With --namespace, -l or --stack the mirror follows what the selection brings
along outside itself, as sync copies it: a change to a ClusterRole a binding
names, to a ClusterIssuer a Certificate names, to a webhook configuration that
calls a selected Service is mirrored; an object a change names for the first
time (or that appears after the change named it), a new binding of a selected
ServiceAccount (in any namespace), a new webhook configuration calling a
selected Service and a new cluster-scoped part of a Helm release in a named
namespace are brought along (the log says "brought along" and why). Objects
the selection neither picks nor brings along are neither mirrored nor pruned.

Deletions reach the target only with --prune, and only for objects tandem
created there (they carry tandem.io/source-hash and tandem's field managers,
and no controller owns them: a Deployment's ReplicaSets carry its annotations
and are the target's own); anything else in the target is left alone. A watch that breaks, or a source apiserver that restarts, is
relisted by the informers; unchanged objects are not written again. Changes to
immutable fields are applied by delete + create only for ConfigMaps, Secrets,
RoleBindings and ClusterRoleBindings (nothing runs from them); for any other
kind they are reported as failed, for a person to decide (tandem sync --recreate).

The mirror holds the Lease tandem-system/tandem-mirror in the target: a second
mirror into the same target is refused while it is live; tandem mirror status
reads it; a switchover pauses the mirror through it (tandem mirror pause|resume).
Prometheus metrics on --metrics-addr at /metrics: tandem_mirror_events_total,
tandem_mirror_applied_total, tandem_mirror_failed_total, tandem_mirror_lag_seconds,
tandem_mirror_not_in_step (objects not in step now, no grace: alert on it staying
above 0), each with a cluster label. Progress goes to stderr every --progress-every.
Stops on Ctrl-C / SIGTERM (releasing the lease), or after --duration.

Like sync, a mirror out of a standby into a cluster that is not one, or
--standby into the active cluster, is refused unless --force.

A mirror runs on past the objects it could not write: each is logged and
counted (tandem_mirror_failed_total). One whose failure can pass by itself (a
webhook or the apiserver down, the namespace not there yet, throttled) is
tried again with backoff until it goes through, including what the initial
pass could not write (once a cluster that did not answer answers again,
what waited for it is tried at once, not when its backoff ends); one refused for a reason that does not pass (a policy,
another field manager) is tried again every 2 minutes, in case it was fixed.
The progress lines, mirror status and tandem status say how many objects have
been out of step for 30 s or more; when the mirror stops it lists every one
(-o json: notInStep).

Exit codes: 0 stopped with every object's last write through (changes still
queued at the stop are counted in the summary, not here: the next run's
initial pass copies them), 1 failed (lost the lease, the initial pass could
not run) or stopped with objects not in step, 2 bad input (same cluster
twice, a live mirror already writes into the target, the clusters' roles,
bad flags).`,
		Example: `  tandem mirror --source blue --target green --standby --prune --metrics-addr 127.0.0.1:9464
  tandem mirror --source blue --target green --namespace shop,payments --duration 10m
  tandem mirror status --target green -o json
  tandem mirror pause --target green`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.sync.Complete(); err != nil {
				return err
			}
			switch {
			case o.Workers < 1 || o.Workers > 64:
				return badInput("--workers %d: want 1..64", o.Workers)
			case o.Duration < 0:
				return badInput("--duration %s: want ≥ 0 (0 runs until stopped)", o.Duration)
			case o.Every <= 0:
				return badInput("--progress-every %s: want > 0", o.Every)
			case o.sync.AllNamespaces && len(o.sync.Namespaces) > 0:
				return badInput("--namespace and --all-namespaces exclude each other")
			}
			return o.Run(cmd.Context(), g)
		},
	}
	o.sync.AddSelectionFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.sync.Standby, "standby", false, "write the standby form (replicas 0, CronJobs suspended, DaemonSets parked), as sync --standby")
	f.BoolVar(&o.sync.Force, "force", false, "take over fields another field manager owns in the target, and mirror whatever the clusters' roles")
	f.BoolVar(&o.Prune, "prune", false, "delete from the target what tandem created there once it is deleted in the source")
	f.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464)")
	f.IntVar(&o.Workers, "workers", mirror.DefaultWorkers, "changes applied in parallel")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: until Ctrl-C or SIGTERM)")
	f.DurationVar(&o.Every, "progress-every", 10*time.Second, "how often a progress line is written to stderr")
	cmd.AddCommand(newMirrorStatusCmd(g), newMirrorPauseCmd(g, true), newMirrorPauseCmd(g, false))
	return cmd
}

// Run mirrors until stopped.
func (o *MirrorOptions) Run(ctx context.Context, g *Global) error {
	source, target, err := g.connectPair(ctx)
	if err != nil {
		return err
	}
	if err := syncer.CheckNamespaces(ctx, source, o.sync.Namespaces); err != nil {
		return err
	}
	if err := o.sync.guardRoles(ctx, source, target); err != nil {
		return err
	}
	sel := plan.Selector{Namespaces: o.sync.Namespaces, IncludeSystem: o.sync.IncludeSystem, Labels: o.sync.labels, Stack: o.sync.Stack}
	if len(o.sync.IncludeKinds)+len(o.sync.ExcludeKinds) > 0 {
		resources, err := inventory.DiscoverCopy(ctx, source, target)
		if err != nil {
			return err
		}
		if sel.IncludeKinds, err = syncer.ResolveKinds(resources, o.sync.IncludeKinds, "--include-kinds"); err != nil {
			return err
		}
		if sel.ExcludeKinds, err = syncer.ResolveKinds(resources, o.sync.ExcludeKinds, "--exclude-kinds"); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	m := &mirror.Mirror{
		Source: source, Target: target, Prune: o.Prune, Workers: o.Workers, Log: g.Log, ProgressEvery: o.Every,
		Request: syncer.Request{Standby: o.sync.Standby, Force: o.sync.Force, IncludePVCs: o.sync.IncludePVCs, Selector: sel},
		Progress: func(st mirror.Stats) {
			fmt.Fprintf(g.Err, "%s mirror %s → %s: %d events, %d applied, %d deleted, %d unchanged, %d failed, %d not in step, queue %d, lag p50 %.3fs p99 %.3fs\n",
				time.Now().Format("15:04:05"), source.Context, target.Context, st.Events, st.Applied, st.Deleted, st.Unchanged, st.Failed, st.OutOfStep, st.Queue, st.LagP50, st.LagP99)
		},
	}
	if o.MetricsAddr != "" {
		m.Metrics = mirror.NewMetrics()
		ln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			return badInput("--metrics-addr %s: %v", o.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Metrics.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Fprintf(g.Err, "metrics: http://%s/metrics\n", ln.Addr())
	}
	fmt.Fprintf(g.Err, "mirroring %s → %s (initial pass first)%s%s\n", source.Context, target.Context, onOff(o.sync.Standby, ", standby form"), onOff(o.Prune, ", pruning"))
	err = m.Run(ctx)
	st := m.Stats()
	if errors.Is(err, mirror.ErrRunning) {
		return badInput("%v", err)
	}
	if err != nil {
		return err
	}
	off := m.NotInStep()
	st.OutOfStep = len(off) // one reading: the workers may still be ending
	fmt.Fprintf(g.Err, "mirror stopped: %d events, %d applied, %d deleted, %d failed, %d not in step, %d changes still queued, %d read from the source, lag p50 %.3fs p99 %.3fs\n", st.Events, st.Applied, st.Deleted, st.Failed, st.OutOfStep, st.Queue, st.SourceReads, st.LagP50, st.LagP99)
	const shown = 20
	for i, o := range off {
		if i == shown {
			fmt.Fprintf(g.Err, "  … and %d more (-o json lists them all)\n", len(off)-shown)
			break
		}
		fmt.Fprintf(g.Err, "  not in step: %s: %s\n", o.Object, o.Why)
	}
	if err := g.printObject(mirrorResult{Stats: st, NotInStep: off}, func(io.Writer) {}); err != nil {
		return err
	}
	if len(off) > 0 {
		return fmt.Errorf("%w: %d objects of %s are not in step in %s (their last write failed or waits to be tried again; listed above): fix what they name, then run the mirror or tandem sync again", errNotInStep, len(off), source.Context, target.Context)
	}
	return nil
}

// mirrorResult is what a stopped mirror prints with -o json|yaml.
type mirrorResult struct {
	mirror.Stats
	NotInStep []mirror.NotInStep `json:"notInStep"`
}

func onOff(on bool, s string) string {
	if on {
		return s
	}
	return ""
}

func newMirrorStatusCmd(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the mirror writing into --target: who, from where, live or not, paused, counts and lag",
		Long: `Reads the mirror's Lease in the target (tandem-system/tandem-mirror). A held
lease is watched until its mirror renews it (live) or for the lease duration
(15s) when it does not (not running): liveness is judged by when this process
sees the lease change, never by comparing clocks. -o json gives the state,
or null when no mirror ever wrote into the target.

Exit codes: 0 answered (whatever the state), 1 the target could not be read,
2 bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := g.connect(g.Target, "target")
			if err != nil {
				return err
			}
			if _, err := target.Check(cmd.Context()); err != nil {
				return err
			}
			st, err := mirror.Status(cmd.Context(), target)
			if err != nil {
				return err
			}
			return g.printObject(st, func(w io.Writer) { fmt.Fprintf(w, "mirror into %s: %s\n", target.Context, st) })
		},
	}
}

func newMirrorPauseCmd(g *Global, pause bool) *cobra.Command {
	use, short := "resume", "Let a paused mirror into --target go on"
	long := `Clears the pause request on the mirror's Lease in the target; the mirror
notices it within its renew period (2s) and goes on. Says what it found: a
live mirror resumed, or none running (nothing to resume).`
	if pause {
		use, short = "pause", "Ask the mirror writing into --target to finish its in-flight work and hold (waits for it)"
		long = `Sets a pause request on the mirror's Lease in the target and waits (up to
--timeout) until the mirror says it holds: its in-flight writes are done and
it takes no new change until resumed (tandem mirror resume). A switchover
does the same. Says what it found: a live mirror paused, or none running
(nothing to pause; a mirror started later starts unpaused).`
	}
	long += `

-o json gives the mirror's state afterwards (null when none ever ran).

Exit codes: 0 done (or nothing to do), 1 the mirror did not answer within
--timeout or the target could not be written, 2 bad input.`
	var timeout time.Duration
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := g.connect(g.Target, "target")
			if err != nil {
				return err
			}
			if _, err := target.Check(cmd.Context()); err != nil {
				return err
			}
			if pause {
				err = mirror.Pause(cmd.Context(), target, timeout)
			} else {
				err = mirror.Resume(cmd.Context(), target)
			}
			if err != nil {
				return err
			}
			st, err := mirror.Status(cmd.Context(), target)
			// A live mirror takes a resume at its next renewal: the state
			// said is the one after it (bounded: a mirror renews every 2s).
			for deadline := time.Now().Add(20 * time.Second); err == nil && !pause && st != nil && st.Live && st.Paused && time.Now().Before(deadline); {
				st, err = mirror.Status(cmd.Context(), target)
			}
			if err != nil {
				return err
			}
			line := fmt.Sprintf("mirror into %s: %sd", target.Context, use)
			if st == nil || !st.Live {
				line = fmt.Sprintf("mirror into %s: none is running, nothing to %s", target.Context, use)
			}
			fmt.Fprintln(g.Err, line)
			return g.printObject(st, func(io.Writer) {})
		},
	}
	if pause {
		cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the mirror to finish its in-flight work")
	}
	return cmd
}
