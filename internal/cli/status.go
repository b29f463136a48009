package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/mirror"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// ClusterStatus is one cluster of the pair as `tandem status` shows it.
type ClusterStatus struct {
	Context   string               `json:"context"`
	Reachable bool                 `json:"reachable"`
	Error     string               `json:"error,omitempty"`
	Version   string               `json:"version,omitempty"`
	Identity  string               `json:"identity,omitempty"`
	Role      string               `json:"role"` // from the authoritative verdict: active, standby or unknown
	Record    *switchover.Record   `json:"record,omitempty"`
	Standby   bool                 `json:"standbyMarker"`
	Workloads WorkloadCount        `json:"workloads"`
	Lock      *switchover.LockInfo `json:"lock,omitempty"`
	Mirror    *mirror.State        `json:"mirror,omitempty"`
}

// WorkloadCount sums Deployments and StatefulSets outside system namespaces.
type WorkloadCount struct {
	Workloads int   `json:"workloads"`
	Ready     int   `json:"ready"` // workloads with every desired replica available
	Desired   int64 `json:"desiredReplicas"`
	Available int64 `json:"availableReplicas"`
}

// PairStatus is the whole answer.
type PairStatus struct {
	Clusters []ClusterStatus    `json:"clusters"`
	Verdict  switchover.Verdict `json:"verdict"`
	Router   string             `json:"router,omitempty"`
	Weights  traffic.Weights    `json:"weights,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
}

func newStatusCmd(g *Global) *cobra.Command {
	var routerURL string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Which cluster of the pair is active: records, reachability, workloads, router weights, mirror, locks",
		Long: `Reads both clusters (--source and --target) and says which one is active.
Each cluster carries a record (role, epoch, peer, when, who) in the
tandem-system namespace; the higher epoch is authoritative. Shown for each:
role, epoch, version, reachable, workloads available vs desired, the standby
marker, a switchover lock if one is held, the mirror writing into it, the last
drill; and the router's weights as the router reports them (--router, or the
URL the records remember).

Warns when the records disagree with each other, with the standby markers, or
with the weights the router really has.

Exit codes: 0 consistent, 1 something disagrees or a cluster is unreachable
(the warnings say what), 2 bad input.`,
		Example: `  tandem status --source blue --target green
  tandem status --source blue --target green --router "$TANDEM_LAB_ROUTER" -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := pairStatus(cmd.Context(), g, routerURL)
			if err != nil {
				return err
			}
			if err := g.printObject(st, func(w io.Writer) { printStatus(w, st) }); err != nil {
				return err
			}
			if len(st.Warnings) > 0 {
				return errPartial
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&routerURL, "router", "", "router URL (default: the one the records remember)")
	return cmd
}

// pairStatus reads both clusters; an unreachable one is reported, not fatal.
func pairStatus(ctx context.Context, g *Global, routerURL string) (*PairStatus, error) {
	if g.Source == "" || g.Target == "" {
		return nil, badInput("status needs both clusters: --source CONTEXT --target CONTEXT (or $TANDEM_SOURCE/$TANDEM_TARGET)")
	}
	if g.Source == g.Target {
		return nil, badInput("--source and --target are both %q: a pair needs two clusters", g.Source)
	}
	st := &PairStatus{}
	var sides []switchover.Side
	var conns []*cluster.Conn
	for _, name := range []string{g.Source, g.Target} {
		c, err := g.connect(name, "source")
		if err != nil {
			return nil, err // a context that does not exist is bad input
		}
		cs, side := clusterStatus(ctx, c)
		st.Clusters = append(st.Clusters, cs)
		sides = append(sides, side)
		if cs.Reachable {
			conns = append(conns, c)
		}
	}
	st.Verdict = switchover.Decide(sides[0], sides[1])
	st.Warnings = append(st.Warnings, st.Verdict.Problems...)
	for i := range st.Clusters {
		switch {
		case st.Verdict.Active == "":
			st.Clusters[i].Role = "unknown"
		case st.Clusters[i].Context == st.Verdict.Active:
			st.Clusters[i].Role = switchover.RoleActive
		default:
			st.Clusters[i].Role = switchover.RoleStandby
		}
		if l := st.Clusters[i].Lock; l != nil {
			if l.Stale {
				st.Warnings = append(st.Warnings, fmt.Sprintf("%s: a stale switchover lock is held by %s (taken %s ago, not renewed for %s)", st.Clusters[i].Context, l.Holder, l.Age.Round(time.Second), l.Renewed.Round(time.Second)))
			} else {
				st.Warnings = append(st.Warnings, fmt.Sprintf("%s: a switchover is running: %s (for %s)", st.Clusters[i].Context, l.Holder, l.Age.Round(time.Second)))
			}
		}
	}
	if routerURL == "" {
		routerURL = rememberedRouter(ctx, conns...)
	}
	st.Router = routerURL
	if routerURL != "" {
		r, err := newRouter(g, routerURL)
		if err != nil {
			return nil, err
		}
		w, err := r.Observe(ctx)
		if err != nil {
			st.Warnings = append(st.Warnings, fmt.Sprintf("router %s: %v", routerURL, err))
		} else {
			st.Weights = w
			st.Warnings = append(st.Warnings, weightWarnings(w, st.Verdict.Active)...)
		}
	}
	return st, nil
}

// weightWarnings says where the router disagrees with the active record.
func weightWarnings(w traffic.Weights, active string) []string {
	if active == "" {
		return nil
	}
	var out []string
	for _, route := range w.Routes() {
		total := 0
		for _, v := range w[route] {
			total += v
		}
		got, ok := w[route][active]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("route %s: the router has no cluster %s (records say it is active)", route, active))
		case total > 0 && 2*got < total:
			out = append(out, fmt.Sprintf("route %s: records say %s is active, but the router sends it %d%% (%s)", route, active, 100*got/total, w.String()))
		}
	}
	return out
}

func clusterStatus(ctx context.Context, c *cluster.Conn) (ClusterStatus, switchover.Side) {
	cs := ClusterStatus{Context: c.Context}
	side := switchover.Side{Context: c.Context}
	v, err := c.Check(ctx)
	if err != nil {
		cs.Error, side.Err = err.Error(), err
		return cs, side
	}
	cs.Reachable, cs.Version = true, v.GitVersion
	cs.Identity, _ = c.Identity(ctx)
	fail := func(err error) (ClusterStatus, switchover.Side) {
		cs.Error, side.Err = err.Error(), err
		return cs, side
	}
	if cs.Record, err = switchover.ReadRecord(ctx, c); err != nil {
		return fail(err)
	}
	if cs.Standby, err = standby.IsStandby(ctx, c); err != nil {
		return fail(err)
	}
	side.Record, side.Standby = cs.Record, cs.Standby
	if cs.Workloads, err = countWorkloads(ctx, c); err != nil {
		return fail(err)
	}
	cs.Lock, _ = switchover.ReadLock(ctx, c)
	cs.Mirror = mirrorStatus(ctx, c)
	return cs, side
}

func countWorkloads(ctx context.Context, c *cluster.Conn) (WorkloadCount, error) {
	var n WorkloadCount
	for _, res := range []string{"deployments", "statefulsets"} {
		list, err := c.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: res}).List(ctx, metav1.ListOptions{})
		if err != nil {
			return n, fmt.Errorf("list %s of %s: %w", res, c.Context, err)
		}
		for i := range list.Items {
			o := &list.Items[i]
			if plan.SystemNamespace(o.GetNamespace()) || o.GetNamespace() == standby.MarkerNamespace {
				continue
			}
			desired, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
			if !found {
				desired = 1
			}
			field := "availableReplicas"
			if res == "statefulsets" {
				field = "readyReplicas"
			}
			avail, _, _ := unstructured.NestedInt64(o.Object, "status", field)
			n.Workloads++
			n.Desired += desired
			n.Available += min(avail, desired)
			if avail >= desired {
				n.Ready++
			}
		}
	}
	return n, nil
}

func printStatus(w io.Writer, st *PairStatus) {
	tw := newTable(w, "CLUSTER", "ROLE", "EPOCH", "VERSION", "REACHABLE", "WORKLOADS", "REPLICAS", "STANDBY-MARKER", "RECORDED", "LAST-DRILL")
	for _, c := range st.Clusters {
		epoch, recorded, drill := "-", "-", "-"
		if r := c.Record; r != nil {
			epoch = fmt.Sprint(r.Epoch)
			recorded = fmt.Sprintf("%s %s by %s", r.Role, r.Time.UTC().Format(time.RFC3339), dash(r.Who))
			if d := r.LastDrill; d != nil {
				drill = d.Time.UTC().Format(time.RFC3339) + " " + d.Result
			}
		}
		reach := "yes"
		if !c.Reachable {
			reach = "NO"
		}
		row(tw, c.Context, c.Role, epoch, dash(c.Version), reach,
			fmt.Sprintf("%d/%d ready", c.Workloads.Ready, c.Workloads.Workloads),
			fmt.Sprintf("%d/%d", c.Workloads.Available, c.Workloads.Desired), c.Standby, recorded, drill)
	}
	tw.Flush()
	if st.Verdict.Active != "" {
		fmt.Fprintf(w, "\nactive: %s (epoch %d)\n", st.Verdict.Active, st.Verdict.Epoch)
	} else {
		fmt.Fprintln(w, "\nactive: unknown")
	}
	if st.Router != "" {
		if st.Weights != nil {
			fmt.Fprintf(w, "router %s: %s\n", st.Router, st.Weights)
		} else {
			fmt.Fprintf(w, "router %s: not readable\n", st.Router)
		}
	}
	for _, c := range st.Clusters {
		if c.Mirror != nil {
			fmt.Fprintf(w, "mirror into %s: %v\n", c.Context, c.Mirror)
		}
	}
	for _, n := range st.Verdict.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	for _, warn := range st.Warnings {
		fmt.Fprintln(w, "warning: "+strings.TrimSpace(warn))
	}
}

// mirrorStatus is the mirror writing into c, nil when none ever ran.
func mirrorStatus(ctx context.Context, c *cluster.Conn) *mirror.State {
	st, err := mirror.Status(ctx, c)
	if err != nil {
		return nil
	}
	return st
}
