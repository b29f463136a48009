package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/lab"
)

func newLabControllerCmd(o *LabOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run tandem controller replicas as local processes against a lab cluster",
		Long: `kwok runs no containers, so the lab runs 'tandem controller' as local processes:
'up' installs the chart's CRDs and RBAC into the management cluster (namespace
` + lab.ControllerNamespace + `), creates a kubeconfig Secret per lab cluster there
(<cluster>-kubeconfig, key kubeconfig) for a first ClusterPair, and starts the
replicas acting as the chart's ServiceAccount. 'down' stops them; 'lab down'
stops them too.`,
	}
	cmd.AddCommand(newLabControllerUpCmd(o), newLabControllerDownCmd(o))
	return cmd
}

type labControllerRow struct {
	Replica string `json:"replica"`
	PID     int    `json:"pid"`
	Metrics string `json:"metrics"`
	Log     string `json:"log"`
}

func newLabControllerUpCmd(o *LabOptions) *cobra.Command {
	co := lab.ControllerOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Install CRDs, RBAC and kubeconfig Secrets, and start the controller replicas (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if co.Replicas < 1 || co.Replicas > 5 {
				return badInput("--replicas %d: want 1..5", co.Replicas)
			}
			procs, err := o.lab().ControllerUp(cmd.Context(), co)
			if err != nil {
				return err
			}
			var rows []labControllerRow
			for _, p := range procs {
				rows = append(rows, labControllerRow{Replica: p.Cluster, PID: p.PID, Metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Port), Log: p.Log})
			}
			return o.g.printObject(rows, func(w io.Writer) {
				tw := newTable(w, "REPLICA", "PID", "METRICS", "LOG")
				for _, r := range rows {
					row(tw, r.Replica, r.PID, r.Metrics, r.Log)
				}
				tw.Flush()
				fmt.Fprintf(w, "\nmanagement cluster: %s (namespace %s); kubeconfig Secrets: %s, %s\n", co.Management, lab.ControllerNamespace, lab.KubeconfigSecret("blue"), lab.KubeconfigSecret("green"))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&co.Management, "management", "green", "the lab cluster that holds the resources")
	f.IntVar(&co.Replicas, "replicas", 2, "how many replicas (they elect a leader)")
	f.StringVar(&co.Name, "name", "controller", "the replicas are NAME-1 … NAME-N")
	f.StringVar(&co.Shard, "shard", "", "label selector on ClusterPairs (tandem controller --shard)")
	return cmd
}

func newLabControllerDownCmd(o *LabOptions) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the controller replicas",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stopped, err := o.lab().ControllerDown(cmd.Context(), name)
			for _, p := range stopped {
				fmt.Fprintf(o.g.Err, "stopped %s (pid %d)\n", p.Cluster, p.PID)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "stop only the replicas NAME-… (default: all)")
	return cmd
}
