package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// Set at build time with -ldflags -X.
var (
	version = "dev"
	commit  = "unknown"
)

// Global holds the flags every command shares.
type Global struct {
	Kubeconfig string
	Source     string
	Target     string
	Output     string
	Verbose    int
	Out        io.Writer
	Err        io.Writer
	Log        *slog.Logger

	client   *clientFlags // --qps, --burst, --request-timeout, --as, --as-group
	warnings *warningSet  // the apiservers' warnings, shown when the command ends
}

// Main runs tandem with args (args[0] is the program name) and returns the exit code.
func Main(args []string) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	g := &Global{Out: os.Stdout, Err: os.Stderr}
	stop, err := startProfiles()
	if err != nil {
		fmt.Fprintln(g.Err, "error: "+err.Error())
		return 2
	}
	defer stop()
	root := NewRoot(g, filepath.Base(args[0]))
	root.SetArgs(args[1:])
	err = root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		err = badInput("%v (see --help)", err) // a command that does not exist: cobra's, not a command's Args
	}
	// Before the error line, so that stays the last; stderr, never in -o json.
	printWarnings(g.Err, g.warnings.all(), g.Verbose)
	if err != nil && ctx.Err() != nil && !errors.Is(err, errNotInStep) {
		// SIGINT or SIGTERM (for the mirror, how it is stopped). A command
		// that says what it did about it (undid a phase, left weights where
		// they were) is heard; a bare cancellation gets the general rule.
		msg := firstLine(message(err))
		if errors.Is(err, context.Canceled) && strings.HasSuffix(msg, context.Canceled.Error()) {
			msg = "what was done so far stays; the same command run again resumes from its journal (or starts afresh)"
		}
		fmt.Fprintln(g.Err, "error: interrupted: "+msg)
		return ExitInterrupted
	}
	if err != nil && !errors.Is(err, errPartial) {
		fmt.Fprintln(g.Err, "error: "+firstLine(message(err)))
	}
	return exitCode(err)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		// Multi-line details (a build log, a process log) follow on stderr, after the one line.
		return s[:i] + "\n" + strings.TrimRight(s[i+1:], "\n")
	}
	return s
}

// NewRoot builds the command tree; prog is how tandem was invoked
// ("kubectl-tandem" makes it a kubectl plugin).
func NewRoot(g *Global, prog string) *cobra.Command {
	root := &cobra.Command{
		Use:   "tandem",
		Short: "Move a live Kubernetes cluster to a new one, blue/green",
		Long: `tandem moves a live Kubernetes cluster (the source, "blue") to a new one (the
target, "green") without downtime: plan → sync → shift → handoff → drain; or
keeps the second cluster as a standby and switches between them.

Contexts come from --kubeconfig (default $KUBECONFIG, then ~/.kube/config);
--source and --target default to $TANDEM_SOURCE and $TANDEM_TARGET.
--qps, --burst, --request-timeout, --as and --as-group apply to every context.

The apiservers' warnings on what tandem writes (deprecated APIs, unknown
fields, PodSecurity…) are shown on stderr when the command ends, each once per
context as "warning (CONTEXT): …"; -v also shows those on tandem's own reads.

Exit codes: 0 done, 1 some items failed (reported per item), 2 bad input,
3 incomplete (plan: something could not be checked; sync, export: something
of the source could not be read), 130 interrupted (SIGINT or SIGTERM; run the
same command again to resume). The commands that run until stopped (mirror,
controller, dashboard) are stopped that way, and exit 0 (the mirror 1 when it
stops with objects not in step; see its help).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelWarn
			switch {
			case g.Verbose >= 2:
				level = slog.LevelDebug
			case g.Verbose == 1:
				level = slog.LevelInfo
			}
			g.Log = slog.New(slog.NewTextHandler(g.Err, &slog.HandlerOptions{Level: level}))
			// client-go's own lines (a long client-side throttling wait…)
			// go through the same logger: shown with -v, not in klog's form.
			klog.SetSlogLogger(g.Log)
			if err := refuseEmpty(cmd); err != nil {
				return err
			}
			switch g.Output {
			case "table", "json", "yaml":
			case "markdown":
				// Reports (plan, runbook, drill) are markdown; elsewhere it is the table.
				if cmd.Annotations["markdown"] != "true" {
					return badInput("-o markdown: only reports (plan, runbook, drill) are markdown; want table, json or yaml")
				}
			default:
				return badInput("-o %q: want table, json or yaml (markdown for reports)", g.Output)
			}
			_, err := g.client.options()
			return err
		},
	}
	if strings.HasPrefix(prog, "kubectl-") {
		// Installed as a kubectl plugin: help and usage say `kubectl tandem`.
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl tandem"}
	}
	root.SetOut(g.Out)
	root.SetErr(g.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput("%v (see --help)", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&g.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
	pf.StringVar(&g.Source, "source", os.Getenv("TANDEM_SOURCE"), "context of the source cluster (default $TANDEM_SOURCE)")
	pf.StringVar(&g.Target, "target", os.Getenv("TANDEM_TARGET"), "context of the target cluster (default $TANDEM_TARGET)")
	pf.StringVarP(&g.Output, "output", "o", "table", "output format: table, json or yaml (markdown for plan, runbook and drill)")
	pf.CountVarP(&g.Verbose, "verbose", "v", "more logging (-v info and every apiserver warning, -vv debug)")
	g.client, g.warnings = newClientFlags(), &warningSet{}
	g.client.addFlags(root)

	root.AddCommand(newVersionCmd(g), newClustersCmd(g), newSyncCmd(g), newExportCmd(g), newImportCmd(g), newLabCmd(g), newPlanCmd(g), newShiftCmd(g), newActivateCmd(g), newDeactivateCmd(g), newHandoffCmd(g), newDrainCmd(g), newMirrorCmd(g), newStatusCmd(g), newSwitchoverCmd(g), newDrillCmd(g), newRunbookCmd(g), newProbeCmd(g), newControllerCmd(g), newDashboardCmd(g))
	badArgs(root)
	return root
}

// badArgs makes every command's wrong arguments bad input (exit 2), as a
// wrong flag is: cobra's own errors would exit 1.
func badArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return badInput("%v (see --help)", err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		badArgs(sub)
	}
}

// connect opens a context of the kubeconfig.
func (g *Global) connect(contextName, flag string) (*cluster.Conn, error) {
	if contextName == "" {
		return nil, badInput("no %s cluster: pass --%s CONTEXT (or set $TANDEM_%s)", flag, flag, strings.ToUpper(flag))
	}
	opts, err := g.clientOptions(contextName)
	if err != nil {
		return nil, err
	}
	return cluster.ConnectWith(cluster.KubeconfigPath(g.Kubeconfig), contextName, opts)
}

// connectCurrent opens contextName, or the kubeconfig's current context when "".
func (g *Global) connectCurrent(contextName string) (*cluster.Conn, error) {
	opts, err := g.clientOptions(contextName)
	if err != nil {
		return nil, err
	}
	return cluster.ConnectWith(cluster.KubeconfigPath(g.Kubeconfig), contextName, opts)
}

// connectPair opens, checks and tells apart the source and target clusters.
func (g *Global) connectPair(ctx context.Context) (*cluster.Conn, *cluster.Conn, error) {
	src, err := g.connect(g.Source, "source")
	if err != nil {
		return nil, nil, err
	}
	dst, err := g.connect(g.Target, "target")
	if err != nil {
		return nil, nil, err
	}
	for _, c := range []*cluster.Conn{src, dst} {
		if _, err := c.Check(ctx); err != nil {
			return nil, nil, err
		}
	}
	if err := cluster.Distinct(ctx, src, dst); err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// selectionFlags are the flags whose empty value would widen what a command
// acts on to everything (a script's unset variable: `-n "$NS"`): set, each
// must name something, and each item of a list too. Leaving one out is how
// to ask for everything. (An empty --exclude-kinds or --only leaves the
// default, which is no wider.)
var selectionFlags = []string{"namespace", "selector", "stack", "include-kinds", "nodes", "statefulset"}

// refuseEmpty refuses a selection flag given an empty value.
func refuseEmpty(cmd *cobra.Command) error {
	for _, name := range selectionFlags {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		items := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			if items = sv.GetSlice(); len(items) == 0 {
				items = []string{""}
			}
		}
		for _, v := range items {
			if strings.TrimSpace(v) == "" {
				return badInput("--%s is empty, or names an empty item: name what it selects, or leave the flag out", name)
			}
		}
	}
	return nil
}
