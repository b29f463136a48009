package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/statedir"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// SyncOptions are the flags of `tandem sync`.
type SyncOptions struct {
	g             *Global
	Namespaces    []string
	AllNamespaces bool
	Selector      string
	Stack         string
	IncludeKinds  []string
	ExcludeKinds  []string
	IncludeSystem bool
	IncludePVCs   bool
	DryRun        bool
	Diff          bool
	Force         bool
	Recreate      bool
	Workers       int
	JournalDir    string
	Standby       bool

	labels labels.Selector
	// writes says the plan is for writing into the target (sync, not an
	// export's archive): the target must be able to take it.
	writes bool
}

func newSyncCmd(g *Global) *cobra.Command {
	o := &SyncOptions{g: g}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Copy every object of the source into the target, minus what the cluster generates itself",
		Long: `Reads every listable resource of the source (CRDs and their custom resources
included) at a version both clusters serve, removes what a cluster generates
itself (uids, status, clusterIPs, token Secrets, controller-owned children,
the finalizers its controllers added — managedFields name who wrote each;
the manifest's own are kept…), and server-side-applies the rest into the target in waves: CRDs → namespaces →
classes → RBAC → config → services → workloads → policies → routes → custom
resources → admission webhooks → API services. A webhook that fails closed and
an aggregated APIService are written only once the Service they call has a
ready endpoint in the target (waited for up to a minute; otherwise failed:
the webhook would refuse what it matches, the API would break the target's
discovery and with it namespace deletion), and an APIService still not
Available 20 s after it is written is a warning.

With --namespace, --selector or --stack, what the selected objects need comes
along too, each with its reason in --dry-run: their namespaces; the
ConfigMaps, Secrets, PVCs, ServiceAccounts and Priority/RuntimeClasses their
pods name; the roles bound to those ServiceAccounts (with the ClusterRoles an
aggregated one gathers) and the CRDs the roles grant on; the CRDs of custom
resources; Storage/IngressClasses; what an
extension's resource names by kind and name (a Certificate's ClusterIssuer, an
HTTPRoute's Gateway); and the admission webhooks and APIServices that call the
selected Services — in any namespace: what the selection needs in a namespace
it does not name is read object by object. A namespace named with --namespace
alone also brings the cluster-scoped objects of the Helm releases installed in
it (Helm's meta.helm.sh/release-namespace annotation): an ingress controller's
IngressClass, an operator's ClusterRoles, though nothing in the namespace
names them; and, from a manifest without Helm's annotations, the
Ingress/GatewayClasses and the ClusterRoles gathered into view, edit or admin
(rbac.authorization.k8s.io/aggregate-to-* labels) that are labelled as the
same app instance as a workload there (app.kubernetes.io/instance, and its
name or part-of).

An object in the target whose fields another field manager owns is reported
as a conflict and left alone unless --force. A copy the target is deleting
(its deletionTimestamp set, a finalizer holding it; a Terminating namespace)
is not written over, as the write would go with it: it fails, and a run
after it is gone creates it. A second run with no change in
the source writes nothing. An interrupted run (even kill -9) is said when the
next one starts, and the next one finishes the job: it writes only what differs
from the source (content hashes), so nothing is written twice. PersistentVolumeClaims and PersistentVolumes move with 'tandem handoff'.

Two copies that would park production are refused (exit 2) unless --force:
--standby into the cluster the records say is active (or, without a record,
out of a standby into a cluster that runs workloads), and a plain copy out
of a standby (its workloads are parked at 0). --dry-run says it would be
refused and shows the plan.

Exit codes: 0 all copied, 1 some objects failed or conflicted (see the table),
2 bad input, 3 a resource of the source could not be read past its retries
(a warning names it; the rest was copied: run again once it answers).`,
		Example: `  tandem sync --source blue --target green --dry-run
  tandem sync --source blue --target green --namespace shop,shop-data
  tandem sync --source blue --target green --stack shop --dry-run -o json
  tandem sync --source blue --target green --exclude-kinds Secret,CronJob.batch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddSelectionFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.DryRun, "dry-run", false, "print the plan (create/update/unchanged/skip per object, with reasons) and write nothing")
	f.BoolVar(&o.Diff, "diff", false, "with --dry-run: print a unified diff per object: the target's copy against what the write would make of it (a server-side dry run: fields other managers own stay)")
	f.BoolVar(&o.Force, "force", false, "take over fields that another field manager owns in the target, and copy whatever the clusters' roles")
	f.BoolVar(&o.Recreate, "recreate", false, "delete and create objects whose immutable fields changed (Job template, PVC spec, …)")
	f.BoolVar(&o.Standby, "standby", false, "make the target a standby: workloads at 0 replicas (count kept in tandem.io/replicas), CronJobs suspended, DaemonSets parked, Jobs not copied, admission webhooks served from those namespaces failing open (policy kept in tandem.io/failure-policies); what a namespace labelled tandem.io/standby-exempt=true in the source holds is copied as it is and runs; installs the standby admission policy")
	f.IntVar(&o.Workers, "workers", apply.DefaultWorkers, "parallel writes to the target")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each run is kept")
	return cmd
}

// AddSelectionFlags adds the flags that choose objects (shared with export).
func (o *SyncOptions) AddSelectionFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "only these namespaces (comma-separated); default: every non-system namespace")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "every non-system namespace (the default)")
	f.StringVarP(&o.Selector, "selector", "l", "", "label selector for namespaced objects, e.g. app=web,tier!=cache")
	f.StringVar(&o.Stack, "stack", "", "an app stack: objects labelled app.kubernetes.io/part-of=NAME in any namespace, plus what they depend on")
	f.StringSliceVar(&o.IncludeKinds, "include-kinds", nil, "only these kinds (Kind or Kind.group, comma-separated)")
	f.StringSliceVar(&o.ExcludeKinds, "exclude-kinds", nil, "leave out these kinds (Kind or Kind.group)")
	f.BoolVar(&o.IncludeSystem, "include-system", false, "also copy kube-system, kube-public and kube-node-lease, minus what the control plane, its installer or EKS keep there about the cluster (extension-apiserver-authentication, cluster-info, kubeadm-config, kubelet-config, aws-auth) (without it, only an app's RoleBinding there, whose every subject is a ServiceAccount outside them, and the Role it binds)")
	f.BoolVar(&o.IncludePVCs, "include-pvcs", false, "also create PersistentVolumeClaims (empty: data moves with 'tandem handoff')")
}

// Complete parses what needs parsing.
func (o *SyncOptions) Complete() error {
	o.labels = labels.Everything()
	if o.Selector != "" {
		sel, err := labels.Parse(o.Selector)
		if err != nil {
			return badInput("--selector %q: %v", o.Selector, err)
		}
		o.labels = sel
	}
	for _, ns := range o.Namespaces {
		// Naming a system namespace is asking for it.
		if plan.SystemNamespace(ns) {
			o.IncludeSystem = true
		}
	}
	return o.validateKinds()
}

// Validate refuses contradictory flags.
func (o *SyncOptions) Validate() error {
	if o.AllNamespaces && len(o.Namespaces) > 0 {
		return badInput("--namespace and --all-namespaces exclude each other")
	}
	if o.Workers < 1 || o.Workers > 256 {
		return badInput("--workers %d: want 1..256", o.Workers)
	}
	if o.Diff && !o.DryRun {
		return badInput("--diff needs --dry-run")
	}
	return nil
}

// validateKinds refuses a kind both included and left out.
func (o *SyncOptions) validateKinds() error {
	for _, k := range o.IncludeKinds {
		if slices.ContainsFunc(o.ExcludeKinds, func(x string) bool { return strings.EqualFold(x, k) }) {
			return badInput("--include-kinds and --exclude-kinds both name %s", k)
		}
	}
	return nil
}

// prepare runs the pipeline up to the plan; early, when set, applies the
// plan's cluster-scoped start while the rest is read (syncer.Request.Early),
// and stream, when set, writes the rest as it is planned
// (syncer.Request.Stream: the plan returned is then empty).
func (o *SyncOptions) prepare(ctx context.Context, source, target *cluster.Conn, early func(context.Context, plan.Plan) error, stream func() (syncer.Sink, error)) (*syncer.Prepared, error) {
	start := time.Now()
	resources, err := inventory.DiscoverCopy(ctx, source, target)
	if err != nil {
		return nil, err
	}
	o.g.Log.Info("discovered", "resources", len(resources), "took", time.Since(start).Round(time.Millisecond))
	include, err := syncer.ResolveKinds(resources, o.IncludeKinds, "--include-kinds")
	if err != nil {
		return nil, err
	}
	exclude, err := syncer.ResolveKinds(resources, o.ExcludeKinds, "--exclude-kinds")
	if err != nil {
		return nil, err
	}
	if err := syncer.CheckNamespaces(ctx, source, o.Namespaces); err != nil {
		return nil, err
	}
	sel := plan.Selector{Namespaces: o.Namespaces, IncludeSystem: o.IncludeSystem, Labels: o.labels, Stack: o.Stack, IncludeKinds: include, ExcludeKinds: exclude}
	if o.writes {
		if err := syncer.CheckTargetNamespaces(ctx, target, sel); err != nil {
			return nil, err
		}
	}
	return syncer.Prepare(ctx, syncer.Request{
		Source: source, Target: target, IncludePVCs: o.IncludePVCs, Force: o.Force, Standby: o.Standby, OnDisk: true, Log: o.g.Log, Early: early, Stream: stream,
		Selector: sel,
	}, resources)
}

// Run syncs.
func (o *SyncOptions) Run(ctx context.Context) error {
	started := time.Now()
	source, target, err := o.g.connectPair(ctx)
	if err != nil {
		return err
	}
	o.g.Log.Info("connected", "took", time.Since(started).Round(time.Millisecond))
	if err := o.guardRoles(ctx, source, target); err != nil {
		return err
	}
	o.writes = true // this run's plan is for the target (an export's is for an archive)
	if o.DryRun {
		prep, err := o.prepare(ctx, source, target, nil, nil)
		if err != nil {
			return err
		}
		defer prep.Close()
		o.printWarnings(prep)
		if err := o.printPlan(ctx, target, prep, syncer.UnsharedResults(prep)); err != nil {
			return err
		}
		o.warnEmpty(prep.Plan.Len() + len(prep.Unshared))
		if o.Standby {
			fmt.Fprintf(o.g.Err, "dry run: with --standby, the run would also install the standby admission policy in %s and record it as standby (ConfigMap %s/%s)\n", target.Context, standby.MarkerNamespace, switchover.RecordName)
		}
		return unreadErr(prep)
	}

	// The journal's run begins with the first write: bad input found while
	// preparing leaves no interrupted run behind.
	srcID, _ := source.Identity(ctx)
	dstID, _ := target.Identity(ctx)
	// Begun at the first write, which may come from the early start's
	// goroutine or from the stream's: one run either way.
	run := syncer.Defer(source.Context, target, syncer.Options{
		JournalPath: syncer.JournalPath(o.JournalDir, srcID, dstID),
		Apply:       apply.Options{Workers: o.Workers, Force: o.Force, Recreate: o.Recreate, CheckAvailable: true, Events: newProgress(o.g.Err), Log: o.g.Log},
		Resuming: func(run string, written int) {
			fmt.Fprintf(o.g.Err, "resuming interrupted sync %s (%d objects written before it stopped)\n", run, written)
		},
	})
	defer run.Close()
	// The cluster-scoped start of the plan (namespaces first) is written
	// while the namespaced objects are read, and the rest as it is planned.
	prep, err := o.prepare(ctx, source, target, func(ctx context.Context, p plan.Plan) error {
		w, err := run.Writer()
		if err != nil {
			return err
		}
		return w.Apply(ctx, p)
	}, func() (syncer.Sink, error) {
		w, err := run.Writer()
		if err != nil {
			return nil, err
		}
		return w.Stream(), nil
	})
	if err != nil {
		return err
	}
	defer prep.Close()
	o.printWarnings(prep)
	w, err := run.Writer()
	if err != nil {
		return err
	}
	results, err := w.Finish(ctx, prep)
	if err != nil {
		return err
	}
	prep.Plan = plan.Plan{} // written: the report needs only the results
	summary, total := apply.Summarize(results)
	if err := o.g.printResults(results, summary, total, time.Since(started)); err != nil {
		return err
	}
	if o.Standby {
		if err := installStandby(ctx, o.g, target, prep.Warnings); err != nil {
			return err
		}
		if err := holdAPIs(ctx, o.g, target, prep, results); err != nil {
			return err
		}
	} else {
		// A sidecar injector copied along came after the workloads it injects into.
		said, err := syncer.Unmutated(ctx, target, results)
		if err != nil {
			said = append(said, fmt.Sprintf("which workloads were created before the pod-mutating webhooks this sync created is not known: %v", err))
		}
		for _, s := range said {
			fmt.Fprintln(o.g.Err, "warning: "+s)
		}
	}
	for _, s := range apply.Unavailable(results) {
		fmt.Fprintln(o.g.Err, "warning: "+s)
	}
	o.warnEmpty(len(results))
	if total[apply.Failed]+total[apply.Conflict] > 0 {
		return errPartial
	}
	return unreadErr(prep)
}

func stateDir() string { return statedir.Root() }

func (o *SyncOptions) printWarnings(prep *syncer.Prepared) { printPrepared(o.g.Err, prep) }

// printPrepared says, once each, what reading the source warned of.
func printPrepared(w io.Writer, prep *syncer.Prepared) {
	seen := map[string]bool{}
	for _, msg := range prep.Warnings {
		if !seen[msg] { // a kind's warning comes from each pass that met it
			seen[msg] = true
			fmt.Fprintln(w, "warning: "+msg)
		}
	}
}

// unreadErr is the error of a copy that left out what it could not read
// of the source (nil when it read everything): exit 3, after the report.
func unreadErr(prep *syncer.Prepared) error {
	if len(prep.Unread) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of the source's resources or objects could not be read (the warnings above say why) and are not copied; run the same command again once they can be", errIncomplete, len(prep.Unread))
}

// unreadWarnings are the warnings of what prep could not read.
func unreadWarnings(prep *syncer.Prepared) []string {
	var out []string
	for _, u := range prep.Unread {
		out = append(out, u.Warning)
	}
	return out
}

// guardRoles refuses the two syncs (and mirrors) that would park
// production: --standby into the cluster the records say is active, and a
// plain copy out of a standby (its workloads are parked at 0). --force
// writes anyway; a dry run writes nothing, and says it would be refused.
func (o *SyncOptions) guardRoles(ctx context.Context, source, target *cluster.Conn) error {
	if !o.Standby {
		warnActiveFormIntoStandby(ctx, o.g, target)
	}
	if o.Force {
		return nil
	}
	err := o.roleRefusal(ctx, source, target)
	switch {
	case err == nil || !o.DryRun:
		return err
	case errors.Is(err, cluster.ErrBadInput):
		fmt.Fprintf(o.g.Err, "warning: without --dry-run this would be refused: %s\n", message(err))
	default:
		fmt.Fprintf(o.g.Err, "warning: the clusters' roles could not be checked (a run without --dry-run would stop here): %v\n", err)
	}
	return nil
}

// warnActiveFormIntoStandby says so when a copy in active form (a sync or
// mirror without --standby, an import) writes into a standby. Its policy
// still parks the workloads at admission (or, a validating one, refuses
// them), but what only the standby form changes comes in as the source
// has it: webhooks served from parked namespaces fail closed, refusing the
// standby's own writes, and aggregated APIs with parked backends answer
// nothing, which stops its namespace deletion. A narrowed standby
// (deactivate --namespace) may take such a copy of other namespaces on
// purpose: it is said, not refused.
func warnActiveFormIntoStandby(ctx context.Context, g *Global, target *cluster.Conn) {
	if sb, err := standby.IsStandby(ctx, target); err == nil && sb {
		fmt.Fprintf(g.Err, "warning: %s is standby, and this copy writes the source's form: its policy parks or refuses the workloads, but webhooks and aggregated APIs served from parked namespaces come in as the source has them (failing closed, unanswered); to keep it a standby, sync with --standby (import has no standby form: sync from the source instead)\n", target.Context)
	}
}

// roleRefusal is guardRoles' refusal, nil when the roles allow the copy.
func (o *SyncOptions) roleRefusal(ctx context.Context, source, target *cluster.Conn) error {
	var rec *switchover.Record
	if o.Standby {
		var err error
		if rec, err = switchover.ReadRecord(ctx, target); err != nil {
			return err
		}
		if rec != nil && rec.Role == switchover.RoleActive {
			if src, err := switchover.ReadRecord(ctx, source); err == nil && (src == nil || src.Epoch <= rec.Epoch || src.Role != switchover.RoleActive) {
				return badInput("%s is the active cluster (its record, epoch %d): --standby would park its workloads; switch over first (tandem switchover --to %s), or pass --force", target.Context, rec.Epoch, source.Context)
			}
		}
		if rec != nil {
			return nil
		}
	}
	srcStandby, err := standby.IsStandby(ctx, source)
	if err != nil {
		return err
	}
	tgtStandby, err := standby.IsStandby(ctx, target)
	if err != nil {
		return err
	}
	switch {
	case !srcStandby || tgtStandby:
		return nil
	case !o.Standby:
		return badInput("%s is standby: its workloads are parked at 0, and copying them would park %s's; sync from the active cluster, or pass --standby or --force", source.Context, target.Context)
	}
	// --standby out of a standby into a cluster without a record: one that
	// runs the workloads it would write over is the active cluster (a new
	// cluster's own add-ons are not parked by the copy).
	n, err := pair.AvailableOfShared(ctx, target, source)
	if err != nil {
		return err
	}
	if n > 0 {
		return badInput("%s is standby and %s runs %d replicas of the workloads it would write over: --standby from the standby would park them; sync from the active cluster into the standby, or pass --force", source.Context, target.Context, n)
	}
	return nil
}

// warnEmpty says when a selection by stack or labels picked nothing of the
// source: a typo would otherwise read as a sync with nothing left to do.
func (o *SyncOptions) warnEmpty(objects int) {
	switch {
	case objects > 0:
	case o.Stack != "":
		fmt.Fprintf(o.g.Err, "warning: nothing was selected: no object of the source labelled %s=%s (--stack) that the namespaces and kind filters let through\n", plan.PartOfLabel, o.Stack)
	case o.Selector != "":
		fmt.Fprintf(o.g.Err, "warning: nothing was selected: no object of the source matching --selector %s that the namespaces and kind filters let through\n", o.Selector)
	}
}
