package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/traffic"
)

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
with the weights the router really has, and when the mirror into a cluster has
objects it could not bring in step (a switchover then would leave them behind).

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
func pairStatus(ctx context.Context, g *Global, routerURL string) (*pair.Status, error) {
	if g.Source == "" || g.Target == "" {
		return nil, badInput("status needs both clusters: --source CONTEXT --target CONTEXT (or $TANDEM_SOURCE/$TANDEM_TARGET)")
	}
	if g.Source == g.Target {
		return nil, badInput("--source and --target are both %q: a pair needs two clusters", g.Source)
	}
	var conns [2]*cluster.Conn
	for i, name := range []string{g.Source, g.Target} {
		c, err := g.connect(name, "source")
		if err != nil {
			return nil, err // a context that does not exist is bad input
		}
		conns[i] = c
	}
	return pair.Read(ctx, conns, routerURL, func(url string) (traffic.Router, error) { return openRouter(ctx, g, url) })
}

func printStatus(w io.Writer, st *pair.Status) {
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
		workloads, replicas, marker := fmt.Sprintf("%d/%d ready", c.Workloads.Ready, c.Workloads.Workloads),
			fmt.Sprintf("%d/%d", c.Workloads.Available, c.Workloads.Desired), fmt.Sprint(c.Standby)
		if !c.Counted {
			// Not read (a warning below says why): not zero.
			workloads, replicas, marker = "?", "?", "?"
		}
		row(tw, c.Context, c.Role, epoch, dash(c.Version), reach, workloads, replicas, marker, recorded, drill)
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
		if len(c.HeldAPIServices) > 0 {
			fmt.Fprintf(w, "%s holds back until activate: APIService %s\n", c.Context, strings.Join(c.HeldAPIServices, ", "))
		}
	}
	for _, n := range st.Verdict.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	for _, warn := range st.Warnings {
		fmt.Fprintln(w, "warning: "+strings.TrimSpace(warn))
	}
}
