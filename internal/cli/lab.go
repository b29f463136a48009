package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/lab"
	"github.com/tandem-io/tandem/pkg/lab/ingress"
	"github.com/tandem-io/tandem/pkg/lab/seed"
)

// LabOptions are the flags shared by the lab commands.
type LabOptions struct {
	g        *Global
	Dir      string
	CacheDir string
}

func (o *LabOptions) lab() *lab.Lab {
	exe, _ := os.Executable()
	return &lab.Lab{Dir: o.Dir, CacheDir: o.CacheDir, Executable: exe, Progress: func(format string, args ...any) {
		fmt.Fprintf(o.g.Err, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}}
}

// connect opens one of the lab's clusters by name.
func (o *LabOptions) connect(name string) (*cluster.Conn, error) {
	st, err := o.lab().Load()
	if err != nil {
		return nil, badInput("%v", err)
	}
	if _, ok := st.Cluster(name); !ok {
		return nil, badInput("--cluster %q: the lab has blue and green", name)
	}
	return cluster.Connect(st.Kubeconfig, name)
}

func newLabCmd(g *Global) *cobra.Command {
	o := &LabOptions{g: g}
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run two real local Kubernetes clusters (blue, green) and HAProxy",
		Long: `The lab: two real Kubernetes clusters on loopback, built from the Go module
proxy (etcd, kube-apiserver, kube-controller-manager, kube-scheduler; nodes
and pods faked by kwok), a lab ingress per cluster, HAProxy in front and an
AWS endpoint (Route53, ELBv2 and EC2 fakes; TANDEM_LAB_AWS in 'lab env'),
and the DNS plane (--no-dns leaves it out): a DNS server answering the zone
"example" from that Route53 and a real ExternalDNS per cluster publishing to it.
blue runs an older release (serving APIs that green no longer serves), green
a newer one. The first 'lab up' builds the binaries (≈ 30 min on 2 cores) and
caches them under ${XDG_CACHE_HOME:-~/.cache}/tandem; later runs start in seconds.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.Dir, "dir", lab.DefaultDir(), "directory of the lab's state, logs and data")
	pf.StringVar(&o.CacheDir, "cache-dir", lab.DefaultCacheDir(), "where built binaries are cached")
	cmd.AddCommand(newLabUpCmd(o), newLabDownCmd(o), newLabStatusCmd(o), newLabEnvCmd(o), newLabSeedCmd(o), newLabNodesCmd(o), newLabIngressCmd(o), newLabAWSCmd(o), newLabControllerCmd(o))
	return cmd
}

type labClusterRow struct {
	Cluster string `json:"cluster"`
	Version string `json:"version"`
	API     string `json:"api"`
	Nodes   int    `json:"nodes"`
	Ingress string `json:"ingress"`
}

func newLabUpCmd(o *LabOptions) *cobra.Command {
	up := lab.UpOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build what is missing and start both clusters and HAProxy (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, v := range []string{up.BlueVersion, up.GreenVersion} {
				if err := lab.ValidateVersion(v); err != nil {
					return badInput("%v", err)
				}
			}
			ctx := cmd.Context()
			started := time.Now()
			l := o.lab()
			st, err := l.Up(ctx, up)
			if err != nil {
				return err
			}
			rows, err := labRows(ctx, st)
			if err != nil {
				return err
			}
			l.Progress("lab up in %s", time.Since(started).Round(100*time.Millisecond))
			return o.g.printObject(map[string]any{"clusters": rows, "haproxy": fmt.Sprintf("127.0.0.1:%d", st.HAProxyPort), "kubeconfig": st.Kubeconfig}, func(w io.Writer) {
				tw := newTable(w, "CLUSTER", "VERSION", "API URL", "NODES", "LAB INGRESS")
				for _, r := range rows {
					row(tw, r.Cluster, r.Version, r.API, r.Nodes, r.Ingress)
				}
				tw.Flush()
				fmt.Fprintf(w, "\nHAProxy: http://127.0.0.1:%d (admin socket %s)\nAWS endpoint (Route53, ELBv2, EC2): %s, hosted zone %s (%s)\nUse it: eval \"$(tandem lab env --dir %s)\"\n", st.HAProxyPort, st.HAProxySock, st.AWSEndpoint(), lab.LabZone, st.Zone, o.Dir)
			})
		},
	}
	cmd.Flags().StringVar(&up.BlueVersion, "blue-version", lab.DefaultBlueVersion, "Kubernetes version of blue (the source)")
	cmd.Flags().StringVar(&up.GreenVersion, "green-version", lab.DefaultGreenVersion, "Kubernetes version of green (the target)")
	cmd.Flags().BoolVar(&up.NoDNS, "no-dns", false, "leave the DNS plane out (no DNS server answering the lab zone)")
	return cmd
}

func labRows(ctx context.Context, st *lab.State) ([]labClusterRow, error) {
	var rows []labClusterRow
	for _, c := range st.Clusters {
		conn, err := cluster.Connect(st.Kubeconfig, c.Name)
		if err != nil {
			return nil, err
		}
		info, err := describeCluster(ctx, c.Name, conn)
		if err != nil {
			return nil, err
		}
		rows = append(rows, labClusterRow{Cluster: c.Name, Version: info.Version, API: c.APIURL(), Nodes: info.Nodes, Ingress: fmt.Sprintf("127.0.0.1:%d", c.IngressPort)})
	}
	return rows, nil
}

func newLabDownCmd(o *LabOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop exactly the processes the lab started and remove its data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			started := time.Now()
			stopped, err := o.lab().Down(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(o.g.Err, "stopped %d processes, removed %s in %s\n", len(stopped), o.Dir, time.Since(started).Round(100*time.Millisecond))
			return nil
		},
	}
}

func newLabStatusCmd(o *LabOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show every process of the lab: PID, port, alive, log",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l := o.lab()
			st, err := l.Load()
			if err != nil {
				return badInput("%v", err)
			}
			procs, err := l.Processes()
			if err != nil {
				return err
			}
			return o.g.printObject(map[string]any{"state": st, "processes": procs}, func(w io.Writer) {
				tw := newTable(w, "CLUSTER", "PROCESS", "PID", "PORT", "ALIVE", "LOG")
				for _, p := range procs {
					row(tw, dash(p.Cluster), p.Name, p.PID, p.Port, p.Alive, p.Log)
				}
				tw.Flush()
			})
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newLabEnvCmd(o *LabOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print shell exports for the lab: KUBECONFIG, PATH with kubectl, HAProxy and AWS endpoint addresses",
		Long:  "Use it as: eval \"$(tandem lab env)\"",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			st, err := o.lab().Load()
			if err != nil {
				return badInput("%v", err)
			}
			fmt.Fprintf(o.g.Out, "export KUBECONFIG=%s\n", st.Kubeconfig)
			fmt.Fprintf(o.g.Out, "export PATH=%s:$PATH\n", st.KubectlDir)
			fmt.Fprintf(o.g.Out, "export TANDEM_SOURCE=blue\nexport TANDEM_TARGET=green\n")
			fmt.Fprintf(o.g.Out, "export TANDEM_LAB_HAPROXY=127.0.0.1:%d\n", st.HAProxyPort)
			fmt.Fprintf(o.g.Out, "export TANDEM_LAB_HAPROXY_SOCKET=%s\n", st.HAProxySock)
			fmt.Fprintf(o.g.Out, "export TANDEM_LAB_ROUTER='haproxy://%s?backend=%s&state=%s'\n", st.HAProxySock, lab.HAProxyBackend, filepath.Join(st.Dir, "haproxy.state"))
			if ep := st.AWSEndpoint(); ep != "" {
				fmt.Fprintf(o.g.Out, "export TANDEM_LAB_AWS=%s\n", ep)
			}
			if st.Zone != "" {
				fmt.Fprintf(o.g.Out, "export TANDEM_LAB_ZONE=%s\n", st.Zone)
			}
			if st.DNSPort != 0 {
				fmt.Fprintf(o.g.Out, "export TANDEM_LAB_DNS=127.0.0.1:%d\n", st.DNSPort)
			}
			if st.AppPort != 0 && st.Zone != "" {
				// The seeded app's router through ExternalDNS, verified on the published records.
				fmt.Fprintf(o.g.Out, "export TANDEM_LAB_DNS_ROUTER='externaldns://ingress/%s/%s?clusters=%s,%s&prefix=external-dns.kubernetes.io/&verify=route53://%s&endpoint=%s'\n",
					seed.AppNamespace, seed.AppIngress, st.Clusters[0].Name, st.Clusters[1].Name, st.Zone, st.AWSEndpoint())
				fmt.Fprintf(o.g.Out, "export TANDEM_LAB_APP_PORT=%d\n", st.AppPort)
			}
			return nil
		},
	}
}

func newLabSeedCmd(o *LabOptions) *cobra.Command {
	var clusterName string
	var wait bool
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Deploy a realistic sample platform into a lab cluster (default blue)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			conn, err := o.connect(clusterName)
			if err != nil {
				return err
			}
			started := time.Now()
			res, err := seed.Apply(ctx, conn, func(s string) { fmt.Fprintln(o.g.Err, s) })
			if err != nil {
				return err
			}
			if wait {
				wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				defer cancel()
				if err := seed.WaitReady(wctx, conn); err != nil {
					return fmt.Errorf("seeded workload not ready: %w", err)
				}
			}
			fmt.Fprintf(o.g.Err, "seeded %s: %d objects applied, %d skipped in %s\n", clusterName, len(res.Applied), len(res.Skipped), time.Since(started).Round(100*time.Millisecond))
			for _, s := range res.Skipped {
				fmt.Fprintf(o.g.Err, "  skipped: %s\n", s)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&clusterName, "cluster", "blue", "lab cluster to seed")
	cmd.Flags().BoolVar(&wait, "wait", true, "wait until workloads are ready and PVCs Bound")
	return cmd
}

func newLabNodesCmd(o *LabOptions) *cobra.Command {
	nodes := &cobra.Command{Use: "nodes", Short: "Manage the lab's fake nodes"}
	var clusterName, pool string
	var count int
	add := &cobra.Command{
		Use:     "add",
		Short:   "Add a pool of fake nodes to a lab cluster",
		Example: "  tandem lab nodes add --cluster blue --pool new --count 3",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 1 || count > 500 {
				return badInput("--count %d: want 1..500", count)
			}
			if pool == "" || strings.ContainsAny(pool, " /") {
				return badInput("--pool %q: want a name like 'new'", pool)
			}
			conn, err := o.connect(clusterName)
			if err != nil {
				return err
			}
			names, err := lab.AddNodes(cmd.Context(), conn.Typed, clusterName, pool, count)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.g.Out, "%s: nodes Ready: %s\n", clusterName, strings.Join(names, " "))
			return nil
		},
	}
	add.Flags().StringVar(&clusterName, "cluster", "blue", "lab cluster")
	add.Flags().StringVar(&pool, "pool", "new", "pool name (label "+lab.PoolLabel+")")
	add.Flags().IntVar(&count, "count", 3, "number of nodes")
	nodes.AddCommand(add)
	return nodes
}

// newLabAWSCmd is the lab's AWS endpoint process that `lab up` starts.
func newLabAWSCmd(o *LabOptions) *cobra.Command {
	var listen string
	ao := lab.DefaultAWSOptions
	cmd := &cobra.Command{
		Use:    "aws",
		Short:  "Serve the lab's AWS endpoint: Route53, ELBv2 and EC2 fakes (started by lab up)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return badInput("--listen %s: %v", listen, err)
			}
			fmt.Fprintf(o.g.Err, "serving Route53, ELBv2 and EC2 on http://%s\n", ln.Addr())
			return lab.ServeAWS(cmd.Context(), ln, ao)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	cmd.Flags().StringVar(&ao.StateFile, "state", "", "file to keep the zones, load balancers, volumes and snapshots in across restarts")
	cmd.Flags().StringVar(&ao.DNS, "dns", "", "UDP address to answer the zones' names on (Route53's weighted routing)")
	cmd.Flags().DurationVar(&ao.InsyncAfter, "insync-after", ao.InsyncAfter, "how long a Route53 change stays PENDING")
	cmd.Flags().DurationVar(&ao.SnapshotsAfter, "snapshots-after", ao.SnapshotsAfter, "how long an EBS snapshot stays pending")
	cmd.Flags().Float64Var(&ao.Route53PerSecond, "route53-rate", ao.Route53PerSecond, "Route53 requests per second before Throttling (0: unlimited)")
	return cmd
}

// newLabIngressCmd is the lab ingress process that `lab up` starts per cluster.
func newLabIngressCmd(o *LabOptions) *cobra.Command {
	var name, listen, contextName, address, addressListen string
	cmd := &cobra.Command{
		Use:    "ingress",
		Short:  "Serve one cluster's Ingress rules over HTTP (started by lab up)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := cluster.Connect(cluster.KubeconfigPath(o.g.Kubeconfig), contextName)
			if err != nil {
				return err
			}
			lns := []string{listen}
			if addressListen != "" {
				lns = append(lns, addressListen)
			}
			g, ctx := errgroup.WithContext(cmd.Context())
			for _, addr := range lns {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return badInput("listen %s: %v", addr, err)
				}
				g.Go(func() error { return ingress.Serve(ctx, conn.Typed, name, ln, o.g.Log) })
			}
			if address != "" {
				g.Go(func() error { return ingress.PublishAddress(ctx, conn.Typed, address, o.g.Log) })
			}
			return g.Wait()
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "cluster name to answer with")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	cmd.Flags().StringVar(&contextName, "context", "", "kubeconfig context of the cluster")
	cmd.Flags().StringVar(&address, "address", "", "IP to publish in every Ingress's status.loadBalancer (what ExternalDNS publishes)")
	cmd.Flags().StringVar(&addressListen, "address-listen", "", "a second address to serve on (the published IP and the lab's app port)")
	return cmd
}
