package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/pkg/controller"
	"github.com/tandem-io/tandem/pkg/dashboard"
)

// ControllerOptions are the flags of `tandem controller`.
type ControllerOptions struct {
	g            *Global
	Context      string
	allowActions bool
	controller.Options
}

// inClusterNamespace is where a pod's ServiceAccount lives.
const inClusterNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func newControllerCmd(g *Global) *cobra.Command {
	o := &ControllerOptions{g: g}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Reconcile ClusterPair, Mirror, Switchover and Drill resources (tandem.io/v1alpha1) in a management cluster",
		Long: `Runs tandem as a Kubernetes controller: the resources of tandem.io/v1alpha1 in
the management cluster say what is wanted, and the controller does it with the
same code as the CLI.

  ClusterPair  two clusters (kubeconfig Secrets) and their router; status is what
               'tandem status' reports, with conditions Reachable and Consistent
  Mirror       a continuous copy; followActive turns around after a switchover
  Switchover   one move of the active role; status.phases is its journal;
               deleting a running one rolls it back
  Drill        a switchover there and back with a load probe; the report in
               status and in a ConfigMap

Replicas elect a leader on a Lease (--leader-elect); the one that takes over
after a crash resumes a running Switchover from its journal (a ConfigMap beside
it). --shard splits a fleet: each controller reconciles only the ClusterPairs
its label selector matches, with a leader Lease of its own.

In a cluster it runs as the chart's ServiceAccount (charts/tandem); outside, it
uses --kubeconfig/--context. Install: helm install tandem charts/tandem -n tandem-system.`,
		Example: `  tandem controller --context mgmt --leader-elect=false
  tandem controller --shard team=payments --metrics-addr :8080 --health-addr :8081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return o.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Context, "context", "", "kubeconfig context of the management cluster (default: in a pod its own cluster, else the current context)")
	f.StringVar(&o.Shard, "shard", "", "label selector on ClusterPairs: reconcile only those (and their Mirrors, Switchovers, Drills)")
	f.StringVar(&o.MetricsAddr, "metrics-addr", ":8080", `address of the Prometheus metrics endpoint ("0" disables)`)
	f.StringVar(&o.HealthAddr, "health-addr", ":8081", `address of the /healthz and /readyz probes ("0" disables)`)
	f.BoolVar(&o.LeaderElect, "leader-elect", true, "elect a leader among the replicas on a Lease (only the leader reconciles)")
	f.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader Lease (default: the pod's namespace, else tandem-system)")
	f.StringVar(&o.LeaderElectionID, "leader-election-id", "", "name of the leader Lease (default: one per --shard)")
	f.StringVar(&o.DashboardAddr, "dashboard-addr", "", "serve the dashboard of every ClusterPair of the shard on this address (HOST:PORT)")
	f.BoolVar(&o.allowActions, "dashboard-allow-actions", false, "serve the dashboard's actions (roll traffic back, start a Drill) behind a token printed at start")
	return cmd
}

// Complete checks the flags and finds the management cluster.
func (o *ControllerOptions) Complete() error {
	if _, err := labels.Parse(o.Shard); err != nil {
		return badInput("--shard %q: %v", o.Shard, err)
	}
	if o.LeaderElectionNamespace == "" {
		o.LeaderElectionNamespace = "tandem-system"
		if b, err := os.ReadFile(inClusterNamespace); err == nil && strings.TrimSpace(string(b)) != "" {
			o.LeaderElectionNamespace = strings.TrimSpace(string(b))
		}
	}
	o.Log = o.g.Log
	if o.DashboardAddr != "" {
		if _, _, err := net.SplitHostPort(o.DashboardAddr); err != nil {
			return badInput("--dashboard-addr %q: want HOST:PORT", o.DashboardAddr)
		}
		if o.allowActions {
			o.DashboardToken = dashboard.NewToken()
			fmt.Fprintf(o.g.Err, "dashboard actions allowed; token: %s\n", o.DashboardToken)
		}
	}
	if o.Context == "" && o.g.Kubeconfig == "" && os.Getenv("KUBECONFIG") == "" {
		if rc, err := rest.InClusterConfig(); err == nil {
			o.Config = rc
			return nil
		}
	}
	conn, err := o.g.connectCurrent(o.Context)
	if err != nil {
		return err
	}
	o.Config = conn.Config
	return nil
}

// Run runs the controller until ctx ends.
func (o *ControllerOptions) Run(ctx context.Context) error {
	fmt.Fprintf(o.g.Err, "tandem controller: management cluster %s, shard %q, leader election %v (%s)\n", o.Config.Host, o.Shard, o.LeaderElect, o.LeaderElectionNamespace)
	return controller.Run(ctx, o.Options)
}
