package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/switchover"
)

func newRunbookCmd(g *Global) *cobra.Command {
	var routerURL, gateURL, gateHost string
	cmd := &cobra.Command{
		Use:   "runbook",
		Short: "Print the runbook of this cluster pair: switchover, rollback, drill and emergency failover, with the exact commands",
		Long: `Reads both clusters' records (which one is active, the epoch, the router,
the last drill) and prints the runbook for the pair as markdown: the checks
before a switchover, the exact switchover command and what it does, how to roll
back at each point, how to drill, and the emergency failover when the active
cluster is unreachable (shift without deactivating, record why) with the steps
for when it comes back.

An unreachable cluster does not stop the runbook: it is written from what can
be read, and says what could not.

Exit codes: 0 written, 2 bad input.`,
		Example:     `  tandem runbook --source blue --target green -o markdown > RUNBOOK.md`,
		Annotations: map[string]string{"markdown": "true"},
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := pairStatus(cmd.Context(), g, routerURL)
			if err != nil {
				return err
			}
			p := switchover.Pair{Router: st.Router, Kubeconfig: g.Kubeconfig, GateURL: gateURL, GateHost: gateHost, Generated: time.Now(), Problems: st.Warnings}
			p.Active, p.Standby = st.Verdict.Active, ""
			if p.Active == "" {
				// Unknown: write it for the first context as active, and say so.
				p.Active = g.Source
				p.Problems = append(p.Problems, "which cluster is active is unknown; this runbook assumes "+g.Source)
			}
			p.Standby = otherOf(g, p.Active)
			p.Epoch = st.Verdict.Epoch
			for _, c := range st.Clusters {
				v := c.Version
				if !c.Reachable {
					v = "unreachable"
				}
				if c.Context == p.Active {
					p.ActiveVersion = v
				} else {
					p.StandbyVersion = v
				}
				if c.Record != nil && c.Record.LastDrill != nil && (p.LastDrill == nil || c.Record.LastDrill.Time.After(p.LastDrill.Time)) {
					p.LastDrill = c.Record.LastDrill
				}
			}
			md := switchover.Runbook(p)
			switch g.Output {
			case "json", "yaml":
				return g.printObject(map[string]string{"markdown": md}, nil)
			}
			_, err = fmt.Fprint(g.Out, md)
			return err
		},
	}
	cmd.Flags().StringVar(&routerURL, "router", "", "router URL (default: the one the records remember)")
	cmd.Flags().StringVar(&gateURL, "gate-http", "", "an HTTP gate URL to put into the commands")
	cmd.Flags().StringVar(&gateHost, "gate-host", "", "its Host header")
	return cmd
}
