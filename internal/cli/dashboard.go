package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/dashboard"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// DashboardOptions are the flags of `tandem dashboard`.
type DashboardOptions struct {
	g            *Global
	Addr         string
	Router       string
	Name         string
	JournalDir   string
	ReportDir    string
	AllowActions bool
}

func newDashboardCmd(g *Global) *cobra.Command {
	o := &DashboardOptions{g: g}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a live web page of the pair: both clusters, who is active, weights and mirror lag over time, switchovers and drills",
		Long: `Serves one page for the pair --source/--target: the two clusters side by side
(role, epoch, version, reachable, nodes, workloads, standby marker), the router's
weights now and over the last hour, the mirror's lag, the running switchover or
drill with its phases and steps (from the journals in --journal-dir), and the
last drills (from --report-dir). Everything is read as 'tandem status' reads it;
the page updates itself (Server-Sent Events) and needs nothing but this process.

The JSON API: /api/status (the structure of 'tandem status -o json'),
/api/drills, /api/run, /api/history, /api/events (the live stream).

Read-only unless --allow-actions: then the page can roll the traffic back to
the active cluster and start a drill, each with the token printed at start.
'tandem controller --dashboard-addr' serves the same page for every ClusterPair.`,
		Example: `  tandem dashboard --source blue --target green --router "$TANDEM_LAB_ROUTER" --addr 127.0.0.1:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return o.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to serve on, HOST:PORT")
	f.StringVar(&o.Router, "router", "", "router URL (default: the one the records remember)")
	f.StringVar(&o.Name, "name", "", "the pair's name on the page (default SOURCE-TARGET)")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "the journals of switchover, drill and shift")
	f.StringVar(&o.ReportDir, "report-dir", filepath.Join(stateDir(), "drills"), "the drill reports")
	f.BoolVar(&o.AllowActions, "allow-actions", false, "serve the actions (roll traffic back, start a drill), behind a token printed at start")
	return cmd
}

// Run listens first (a bad or busy address is bad input before anything
// else), then serves until ctx ends.
func (o *DashboardOptions) Run(ctx context.Context) error {
	ln, err := dashboard.Listen(o.Addr)
	if err != nil {
		return badInput("--addr: %v", err)
	}
	defer ln.Close()
	src, err := o.g.connect(o.g.Source, "source")
	if err != nil {
		return err
	}
	dst, err := o.g.connect(o.g.Target, "target")
	if err != nil {
		return err
	}
	if o.Name == "" {
		o.Name = src.Context + "-" + dst.Context
	}
	local := &dashboard.Local{Name: o.Name, RouterURL: o.Router, JournalDir: o.JournalDir, ReportDir: o.ReportDir,
		Open: func(ctx context.Context, url string) (traffic.Router, error) { return openRouter(ctx, o.g, url) }}
	local.Clusters[0], local.Clusters[1] = src, dst
	srv := &dashboard.Server{Source: local, Log: o.g.Log}
	if o.AllowActions {
		srv.Token = dashboard.NewToken()
		srv.Actor = &localActor{Local: local, o: o}
		fmt.Fprintf(o.g.Err, "actions allowed; token: %s\n", srv.Token)
	}
	fmt.Fprintf(o.g.Err, "dashboard of %s: http://%s/\n", o.Name, ln.Addr())
	return srv.Serve(ctx, ln)
}

// localActor is the CLI's actions: the Local rollback, and a drill run by
// this same binary in the background.
type localActor struct {
	*dashboard.Local
	o *DashboardOptions
}

// StartDrill implements dashboard.Actor.
func (a *localActor) StartDrill(ctx context.Context, _ string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(a.o.ReportDir, 0o755); err != nil {
		return "", err
	}
	logPath := filepath.Join(a.o.ReportDir, "drill-"+time.Now().UTC().Format("20060102T150405Z")+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	args := []string{"drill", "--source", a.o.g.Source, "--target", a.o.g.Target, "--journal-dir", a.o.JournalDir, "--report-dir", a.o.ReportDir}
	if a.o.g.Kubeconfig != "" {
		args = append(args, "--kubeconfig", a.o.g.Kubeconfig)
	}
	if a.o.Router != "" {
		args = append(args, "--router", a.o.Router)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { _ = cmd.Wait() }()
	return fmt.Sprintf("pid %d, log %s", cmd.Process.Pid, logPath), nil
}
