package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/drain"
)

// DrainOptions are the flags of `tandem drain`.
type DrainOptions struct {
	g          *Global
	Cluster    string
	Nodes      string
	Taint      string
	First      string
	Parallel   int
	Timeout    time.Duration
	DryRun     bool
	Undo       bool
	JournalDir string

	nodes      labels.Selector
	firstGiven bool // --first was passed: its selector only ("" for none)
	first      labels.Selector
	taint      corev1.Taint
}

// firstDefault is how --help shows the default of --first, which is found in the cluster.
const firstDefault = "(default: the pods of every ingress/gateway controller found: IngressClass/GatewayClass controllers and the common controllers' labels)"

func newDrainCmd(g *Global) *cobra.Command {
	o := &DrainOptions{g: g}
	cmd := &cobra.Command{
		Use:   "drain",
		Short: "Retire a node pool: taint it, evict the ingress controllers first, then drain respecting PodDisruptionBudgets",
		Long: `Taints and cordons every selected node first (so nothing lands back on
them), evicts the --first pods through the Eviction API, then drains the
nodes --parallel at a time with kubectl's drain logic, respecting
PodDisruptionBudgets. DaemonSet pods stay (but an ingress controller's,
which go first); pods without a controller block the node. Pods with
emptyDir volumes are evicted (kubectl drain's --delete-emptydir-data): that
scratch data would go with the node anyway; tandem plan names such pods. An
eviction a budget refuses is tried again every 5 s, and said on stderr (once
a minute). Progress (nodes done, pods evicted, ETA) goes to stderr. A
--nodes selector that matches no node is bad input (for --undo: nothing to
undo).

Without --first, the pods that go first are those of every ingress or gateway
controller found: the controllers named by the cluster's IngressClasses
(spec.controller) and GatewayClasses (spec.controllerName), mapped to their
pods' labels, plus the labels of the common controllers (ingress-nginx,
Traefik, Contour and Envoy, HAProxy, Envoy Gateway, Istio gateways, Kong) even
without a class. --dry-run says which pods go first and why, and names the
classes whose controller tandem does not know (their pods are drained as
ordinary pods: name them with --first).

When pods are still there at --timeout, the PodDisruptionBudgets that allow no
disruption are named with their pods, and so is every other error that held
a node, and every pod deleted on a node that is not Ready (its kubelet cannot
confirm it stopped). Each node is journaled: a re-run skips nodes already
drained. --undo puts each node back the way the drain found it: the drain
marks each node it taints (annotation tandem.io/drain-tainted), with the
value of a taint of the same key and effect the node had before
(tandem.io/drain-tainted-before: given back, not removed) and whether it was
cordoned before (tandem.io/drain-cordoned-before: maintenance, a node
problem; it stays cordoned). A node the drain did not taint (no mark, or
another --taint) is left as it is.

Exit codes: 0 drained, 1 stuck or timed out (blockers named; with --dry-run,
a blocker found), 2 bad input.`,
		Example: `  tandem drain --cluster blue --nodes tandem.io/pool=default --dry-run
  tandem drain --cluster blue --nodes tandem.io/pool=default --parallel 5 --timeout 4h
  tandem drain --cluster blue --nodes tandem.io/pool=default --undo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.firstGiven = cmd.Flags().Changed("first")
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Cluster, "cluster", "", "context of the cluster to drain")
	f.StringVar(&o.Nodes, "nodes", "", "label selector of the nodes to drain (required)")
	f.StringVar(&o.Taint, "taint", drain.DefaultTaint, "taint put on every selected node first (key=value:Effect; NoSchedule or PreferNoSchedule: NoExecute would delete the pods past their budgets, and is taken only by --undo)")
	f.StringVar(&o.First, "first", "", "label selector of the pods evicted before any node is drained (\"\" for none) "+firstDefault)
	f.IntVar(&o.Parallel, "parallel", 1, "nodes drained at once")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "how long the whole drain may take before it stops and names the blockers")
	f.BoolVar(&o.DryRun, "dry-run", false, "list the nodes and the pods that would be evicted, change nothing")
	f.BoolVar(&o.Undo, "undo", false, "put the selected nodes back as the drain found them: its taint removed (or a same-named taint they had before given back), uncordoned unless cordoned before")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each drain is kept")
	return cmd
}

// Complete parses the selectors and the taint.
func (o *DrainOptions) Complete() error {
	var err error
	if o.Nodes != "" {
		if o.nodes, err = labels.Parse(o.Nodes); err != nil {
			return badInput("--nodes %q: %v", o.Nodes, err)
		}
	}
	if o.firstGiven {
		if o.first, err = labels.Parse(o.First); err != nil {
			return badInput("--first %q: %v", o.First, err)
		}
	}
	if o.taint, err = drain.ParseTaint(o.Taint); err != nil {
		return badInput("--taint: %v", err)
	}
	if o.taint.Effect == corev1.TaintEffectNoExecute && !o.Undo {
		// Every node is tainted before anything is evicted: the taint
		// manager would delete their pods at once, past the budgets and the
		// ingress-first order. (--undo may remove such a taint.)
		return badInput("--taint %s: NoExecute would delete every pod of the nodes at once, past their PodDisruptionBudgets: use NoSchedule (the drain evicts them)", o.Taint)
	}
	return nil
}

// Validate refuses missing or contradictory flags.
func (o *DrainOptions) Validate() error {
	switch {
	case o.Cluster == "":
		return badInput("drain needs --cluster CONTEXT")
	case o.Nodes == "" || o.nodes.Empty():
		return badInput("drain needs --nodes SELECTOR (draining every node is never what you want)")
	case o.Parallel < 1:
		return badInput("--parallel %d: want ≥ 1", o.Parallel)
	case o.Timeout <= 0:
		return badInput("--timeout %s: want > 0", o.Timeout)
	case o.DryRun && o.Undo:
		return badInput("--dry-run and --undo: choose one")
	}
	return nil
}

// Run drains (or undoes), resuming an interrupted drain.
func (o *DrainOptions) Run(ctx context.Context) error {
	c, err := o.g.connect(o.Cluster, "cluster")
	if err != nil {
		return err
	}
	if _, err := c.Check(ctx); err != nil {
		return err
	}
	id, _ := c.Identity(ctx)
	if id == "" {
		id = c.Context
	}
	opts := drain.Options{Nodes: o.nodes, Taint: o.taint, Parallel: o.Parallel, Timeout: o.Timeout, DryRun: o.DryRun,
		JournalPath: drain.JournalPath(o.JournalDir, id, o.nodes), Cluster: c.Context,
		Resuming: func(run string, drained int) {
			fmt.Fprintf(o.g.Err, "resuming interrupted drain %s: %d nodes drained before it stopped\n", run, drained)
		},
	}
	if o.Undo {
		return o.undo(ctx, c.Typed, opts)
	}
	if opts.First, err = o.chooseFirst(ctx, c); err != nil {
		return err
	}
	var progress drain.Observer // a dry run draws no progress
	if !o.DryRun {
		progress = &drainProgress{w: o.g.Err}
	}
	rep, runErr := drain.Run(ctx, c.Typed, opts, progress)
	return o.finish(rep, runErr)
}

// chooseFirst is --first's selector when given, else the controllers found in the cluster.
func (o *DrainOptions) chooseFirst(ctx context.Context, c *cluster.Conn) (drain.First, error) {
	if o.firstGiven {
		return drain.ExplicitFirst(o.first), nil
	}
	classes, notes, err := drain.FindClasses(ctx, c.Typed, c.Dynamic)
	if err != nil {
		return drain.First{}, err
	}
	first := drain.DefaultFirst(classes)
	first.Notes = notes
	if !o.DryRun {
		// The dry run lists these; a real run warns before it starts.
		for _, cl := range first.Classes {
			if cl.Outcome == drain.ClassUnknown {
				fmt.Fprintf(o.g.Err, "warning: %s: controller %q is not one tandem knows: its pods are drained as ordinary pods (name them with --first)\n", cl.Class, cl.Controller)
			}
		}
		for _, n := range notes {
			fmt.Fprintf(o.g.Err, "warning: %s\n", n)
		}
	}
	return first, nil
}

func (o *DrainOptions) finish(rep *drain.Report, runErr error) error {
	if rep == nil || errors.Is(runErr, cluster.ErrBadInput) {
		return runErr // one line: no report of a drain that never began
	}
	if err := o.print(rep); err != nil {
		return err
	}
	if runErr == nil && rep.DryRun && len(rep.Errors) > 0 {
		// As handoff --dry-run: a blocker found is what the dry run is for.
		return errPartial
	}
	if runErr != nil {
		if errors.Is(runErr, drain.ErrStuck) {
			for _, b := range rep.Blockers {
				fmt.Fprintf(o.g.Err, "BLOCKER PodDisruptionBudget %s: %s; pods: %s\n", b.PDB, b.Message, strings.Join(b.Pods, ", "))
			}
			for _, u := range rep.Unconfirmed {
				fmt.Fprintf(o.g.Err, "BLOCKER pod %s: deleted at %s on node %s, whose Ready is %s: its kubelet cannot confirm it stopped; once the machine is known to be off, `kubectl delete pod -n %s %s --force --grace-period=0`\n",
					u.Pod, u.Deleted.UTC().Format(time.RFC3339), u.Node, u.NodeState, podNS(u.Pod), podName(u.Pod))
			}
			fmt.Fprintf(o.g.Err, "error: %s; fix the blocker and re-run the same command to resume\n", strings.TrimPrefix(runErr.Error(), drain.ErrStuck.Error()+": "))
			return errPartial
		}
		return runErr
	}
	return nil
}

func (o *DrainOptions) undo(ctx context.Context, cs kubernetes.Interface, opts drain.Options) error {
	u, err := drain.Undo(ctx, cs, opts)
	if err != nil {
		return err
	}
	out := struct {
		Undone       []string `json:"undone"`
		Uncordoned   []string `json:"uncordoned,omitempty"`
		LeftCordoned []string `json:"leftCordoned,omitempty"`
		Taint        string   `json:"taint"`
	}{u.Nodes, u.Uncordoned, u.LeftCordoned, o.Taint}
	return o.g.printObject(out, func(w io.Writer) {
		fmt.Fprintf(w, "removed taint %s from %d nodes and uncordoned %d: %s\n", o.Taint, len(u.Nodes), len(u.Uncordoned), strings.Join(u.Uncordoned, ", "))
		if len(u.LeftCordoned) > 0 {
			fmt.Fprintf(w, "left cordoned (cordoned before the drain, or not tainted by it): %s\n", strings.Join(u.LeftCordoned, ", "))
		}
	})
}

func podNS(p string) string   { ns, _, _ := strings.Cut(p, "/"); return ns }
func podName(p string) string { _, n, _ := strings.Cut(p, "/"); return n }

// drainProgress prints one line per event to stderr.
type drainProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *drainProgress) Event(e drain.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	what := e.Node
	if e.Pod != "" {
		what = e.Pod
	}
	line := fmt.Sprintf("[%d/%d nodes, %d pods evicted", e.NodesDone, e.NodesTotal, e.PodsEvicted)
	if e.ETA > 0 {
		line += ", ETA " + e.ETA.Round(time.Second).String()
	}
	line += "] " + e.Phase + " " + e.Kind + " " + what
	if e.Error != "" {
		line += ": " + e.Error
	}
	fmt.Fprintln(p.w, line)
}
