package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// StandbyOptions are the flags of `tandem activate` and `tandem deactivate`.
type StandbyOptions struct {
	g          *Global
	verb       standby.Verb
	Cluster    string
	Namespaces []string
	Timeout    time.Duration
	JournalDir string
}

func newActivateCmd(g *Global) *cobra.Command {
	return newStandbyCmd(g, standby.VerbActivate, "Make a standby cluster active: remove the standby policy, restore replicas, CronJobs and DaemonSets exactly",
		`Removes tandem's standby admission policy, restores every parked workload
from its annotations (replicas from tandem.io/replicas, CronJob suspend from
tandem.io/suspend, DaemonSet nodeSelector from tandem.io/node-selector), then
waits until the workloads are available, and only then makes the admission
webhooks that failed open in standby fail closed again (failurePolicy from
tandem.io/failure-policies). The workloads behind the webhooks that mutate
pods as they are created (a mesh's sidecar injector) come first: activate
waits for them and makes those webhooks fail closed again before any other
workload starts a pod, which would otherwise run without its sidecar; if they
cannot run, activate fails and starts nothing else. A record on a workload
that is no longer parked (a sync wrote it as it is after its namespace became
standby-exempt, or it was scaled by hand) is dropped, and the workload kept
as it is. Each object is journaled: a re-run after an interruption resumes.

Exit codes: 0 active, 1 failed or timed out, 2 bad input (the cluster is not standby).`,
		`  tandem activate --cluster green --timeout 10m`)
}

func newDeactivateCmd(g *Global) *cobra.Command {
	return newStandbyCmd(g, standby.VerbDeactivate, "Make a cluster a standby: park its workloads at 0 and install the standby policy",
		`Records each workload's active form in annotations, scales Deployments,
StatefulSets and ReplicaSets to 0, suspends CronJobs, parks DaemonSets on a
nodeSelector no node matches, labels the namespaces tandem.io/standby=true and
installs the standby admission policy (a MutatingAdmissionPolicy that keeps
replicas at 0 where the cluster serves it, else a ValidatingAdmissionPolicy
that refuses replicas > 0). First, the admission webhooks served from those
namespaces are made to fail open (failurePolicy Ignore, the originals kept in
tandem.io/failure-policies): their backends go to 0, and a webhook failing
closed would refuse every write it matches, a mirror's included. Namespaces
or objects labelled tandem.io/standby-exempt=true are left alone; naming
such a namespace with --namespace (or a system one, or one that does not
exist) is refused before anything is written.

Exit codes: 0 standby, 1 failed, 2 bad input.`,
		`  tandem deactivate --cluster green
  tandem deactivate --cluster green --namespace shop,payments`)
}

func newStandbyCmd(g *Global, verb standby.Verb, short, long, example string) *cobra.Command {
	o := &StandbyOptions{g: g, verb: verb}
	cmd := &cobra.Command{
		Use: string(verb), Short: short, Long: long, Example: example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Cluster, "cluster", "", "context of the cluster to "+string(verb))
	timeoutHelp := "how long to wait for the restored workloads to be available"
	if verb == standby.VerbDeactivate {
		timeoutHelp = "how long to wait for the standby policy to be enforced"
	}
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, timeoutHelp)
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each run is kept")
	if verb == standby.VerbDeactivate {
		f.StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "only these namespaces (comma-separated); default: every non-system namespace")
	}
	return cmd
}

// Validate refuses missing or contradictory flags.
func (o *StandbyOptions) Validate() error {
	if o.Cluster == "" {
		return badInput("%s needs --cluster CONTEXT", o.verb)
	}
	if o.Timeout <= 0 {
		return badInput("--timeout %s: want a positive duration", o.Timeout)
	}
	return nil
}

// Run switches the cluster, journaled.
func (o *StandbyOptions) Run(ctx context.Context) error {
	started := time.Now()
	c, err := o.g.connect(o.Cluster, "cluster")
	if err != nil {
		return err
	}
	if _, err := c.Check(ctx); err != nil {
		return err
	}
	id, _ := c.Identity(ctx)
	opts := standby.Options{
		JournalPath: standby.JournalPath(o.JournalDir, o.verb, id), Timeout: o.Timeout,
		Resuming: func(run string, done int) {
			fmt.Fprintf(o.g.Err, "resuming interrupted %s %s (%d objects done before it stopped)\n", o.verb, run, done)
		},
		Progress: func(available, total int) {
			fmt.Fprintf(o.g.Err, "available %d/%d workloads\n", available, total)
		},
		Warn: func(w string) { fmt.Fprintf(o.g.Err, "warning: %s\n", w) },
	}
	var changes []standby.Change
	var policy string
	if o.verb == standby.VerbActivate {
		changes, err = standby.Activate(ctx, c, opts)
		if errors.Is(err, standby.ErrNotStandby) {
			return badInput("%s", trimSentinel(err, standby.ErrNotStandby))
		}
	} else {
		changes, policy, err = standby.Deactivate(ctx, c, o.Namespaces, opts)
		if errors.Is(err, standby.ErrNamespace) {
			return badInput("%s", err)
		}
	}
	if err != nil {
		return err
	}
	role := switchover.RoleActive
	if o.verb == standby.VerbDeactivate {
		role = switchover.RoleStandby
	}
	recordRole(ctx, o.g, c, role, string(o.verb))
	return o.print(c, changes, policy, time.Since(started))
}

func (o *StandbyOptions) print(c *cluster.Conn, changes []standby.Change, policy string, took time.Duration) error {
	out := struct {
		Cluster string           `json:"cluster"`
		Verb    string           `json:"verb"`
		Policy  string           `json:"policy,omitempty"`
		Changes []standby.Change `json:"changes"`
		Seconds float64          `json:"seconds"`
	}{c.Context, string(o.verb), policy, changes, took.Seconds()}
	if out.Changes == nil {
		out.Changes = []standby.Change{} // -o json: [] for none
	}
	return o.g.printObject(out, func(w io.Writer) {
		tw := newTable(w, "KIND", "NAMESPACE", "NAME", "CHANGE")
		for _, ch := range changes {
			row(tw, ch.Kind, dash(ch.Namespace), ch.Name, ch.What)
		}
		tw.Flush()
		state := "active"
		if o.verb == standby.VerbDeactivate {
			state = "standby (enforced by a " + policy + ")"
		}
		fmt.Fprintf(w, "\n%s is %s: %d objects changed in %s\n", c.Context, state, len(changes), took.Round(time.Millisecond))
	})
}

// trimSentinel drops "not standby: " from the front: the line already says it.
func trimSentinel(err, sentinel error) string {
	msg := err.Error()
	prefix := sentinel.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// installStandby installs the standby policy after `sync --standby`. said
// are the warnings printed of the source already: the target's of the same
// words (a custom kind the standby cannot hold, found in both clusters) are
// not printed again.
func installStandby(ctx context.Context, g *Global, target *cluster.Conn, said []string) error {
	saidOf := map[string]bool{}
	for _, w := range said {
		_, of, _ := strings.Cut(w, ": ") // past "<context>: "
		saidOf[of] = true
	}
	kind, err := standby.Install(ctx, target, time.Minute, func(w string) {
		if _, of, _ := strings.Cut(w, ": "); !saidOf[of] {
			fmt.Fprintf(g.Err, "warning: %s\n", w)
		}
	})
	if err != nil {
		return fmt.Errorf("standby policy: %w", err)
	}
	fmt.Fprintf(g.Err, "%s is standby: workloads kept at 0 by a %s (tandem activate --cluster %s to activate)\n", target.Context, kind, target.Context)
	recordRole(ctx, g, target, switchover.RoleStandby, "sync --standby")
	return nil
}

// holdAPIs holds back, in the standby target, the APIServices `sync
// --standby` left out as served from a parked namespace, and drops from
// the stash those it wrote (standby.HoldBack): activate writes the held
// ones back.
func holdAPIs(ctx context.Context, g *Global, target *cluster.Conn, prep *syncer.Prepared, results []apply.Result) error {
	said, err := standby.HoldBack(ctx, target, prep.Held, prep.UnheldWritten(results))
	for _, s := range said {
		fmt.Fprintln(g.Err, s)
	}
	return err
}

// recordRole keeps the cluster's record in step after a role change by hand
// (activate, deactivate, sync --standby), so `tandem status` and switchovers
// see it. The peer (for the epoch) is the other of --source/--target, else the
// one the record names; an unknown or unreachable peer only lowers the epoch's
// reach, and is said.
func recordRole(ctx context.Context, g *Global, c *cluster.Conn, role, reason string) {
	own, err := switchover.ReadRecord(ctx, c)
	if err != nil {
		own = nil
	}
	peerName := otherOf(g, c.Context)
	if own != nil && own.Role == role && (peerName == "" || peerName == own.PeerContext) {
		// The epoch counts role changes: saying the role again to the same peer is not one.
		fmt.Fprintf(g.Err, "%s already recorded %s at epoch %d\n", c.Context, role, own.Epoch)
		return
	}
	if peerName == "" && own != nil {
		peerName = own.PeerContext
	}
	var peer *cluster.Conn
	if peerName != "" && peerName != c.Context {
		if p, err := g.connect(peerName, "peer"); err == nil {
			if _, err := p.Check(ctx); err == nil {
				peer = p
			} else {
				fmt.Fprintf(g.Err, "note: peer %s unreachable; %s's record epoch is counted from its own\n", peerName, c.Context)
			}
		}
	}
	rec, err := switchover.SetRole(ctx, c, peer, role, reason)
	if err != nil {
		fmt.Fprintf(g.Err, "warning: %s's record not updated: %v\n", c.Context, err)
		return
	}
	fmt.Fprintf(g.Err, "%s recorded %s at epoch %d\n", c.Context, role, rec.Epoch)
}
