package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// DrillOptions are the flags of `tandem drill`.
type DrillOptions struct {
	g            *Global
	Probe        string
	ProbeHost    string
	ProbeRate    int
	ProbeHeader  string
	ReportDir    string
	Timeout      time.Duration
	BreakLock    bool
	Sync         bool
	JournalDir   string
	shiftFlagSet ShiftOptions // the flags as typed; each leg gets its own copy
	syncFlagSet  SyncOptions
}

func newDrillCmd(g *Global) *cobra.Command {
	o := &DrillOptions{g: g}
	o.shiftFlagSet.g, o.syncFlagSet.g = g, g
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Rehearse a switchover: to the standby and back, under a load probe, with a timed report",
		Long: `Runs two full switchovers — the active cluster to the standby, then back — with
a built-in, bounded load probe sending requests through the router the whole
time. Writes a report (markdown and JSON, in --report-dir) with each phase's
duration, the requests that failed during the drill and the result, and keeps
the result in both clusters' records (tandem status shows the last drill).

The probe sends --probe-rate GET requests per second to --probe (with
--probe-host as Host header); an answer ≥ 500 or 404, or no answer, is a failed
request. --probe-header names the response header that says which cluster
answered (the lab ingress sets X-Tandem-Cluster).

Each switchover's traffic shift takes the step and gate flags of tandem shift.

` + gateHelp + `

Exit codes: 0 passed (both switchovers completed, no failed request), 1
failed (the report says why), 2 bad input.`,
		Example: `  eval "$(tandem lab env)"
  tandem drill --source blue --target green --router "$TANDEM_LAB_ROUTER" \
    --probe "http://$TANDEM_LAB_HAPROXY/" --probe-host app.example --steps 0,50,100 --pause 2s
  tandem drill --source blue --target green --router "$TANDEM_LAB_ROUTER" --steps 0,50,100 --pause 2s \
    --gate-http "url=http://$TANDEM_LAB_HAPROXY/,host=app.example,maxP99=300ms" \
    --gate-http "url=http://$TANDEM_LAB_HAPROXY/healthz,host=api.example,requests=20,maxFailures=0.05"`,
		Annotations: map[string]string{"markdown": "true"},
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ProbeRate <= 0 || o.ProbeRate > 1000 {
				return badInput("--probe-rate %d: want 1..1000 requests per second", o.ProbeRate)
			}
			if o.Probe != "" && !traffic.IsHTTPURL(o.Probe) {
				return badInput("--probe %q: want an http:// or https:// URL", o.Probe)
			}
			return o.Run(cmd.Context(), cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Probe, "probe", "", "URL the load probe sends requests to, through the router")
	f.StringVar(&o.ProbeHost, "probe-host", "", "Host header of the probe's requests")
	f.IntVar(&o.ProbeRate, "probe-rate", 50, "probe requests per second")
	f.StringVar(&o.ProbeHeader, "probe-header", "", "response header naming the cluster that answered (none: answers are counted, not told apart by cluster)")
	f.StringVar(&o.ReportDir, "report-dir", filepath.Join(stateDir(), "drills"), "where the drill reports are written")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "per switchover: how long activation may wait for workloads")
	f.BoolVar(&o.BreakLock, "break-lock", false, "take a stale switchover lock")
	f.BoolVar(&o.Sync, "sync", true, "run the last sync pass in each switchover")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each run is kept")
	addShiftStepFlags(cmd, &o.shiftFlagSet)
	o.syncFlagSet.AddSelectionFlags(cmd)
	return cmd
}

// Run drills: active → standby → active.
func (o *DrillOptions) Run(ctx context.Context, cmd *cobra.Command) error {
	st, err := pairStatus(ctx, o.g, o.shiftFlagSet.Router)
	if err != nil {
		return err
	}
	for _, c := range st.Clusters {
		if !c.Reachable {
			return fmt.Errorf("%s is unreachable (%s): a drill needs both clusters", c.Context, c.Error)
		}
	}
	active := st.Verdict.Active
	if active == "" {
		return badInput("which cluster is active is unknown (%s): fix the records first (tandem status)", strings.Join(st.Verdict.Problems, "; "))
	}
	stby := otherOf(o.g, active)
	if st.Router == "" {
		return badInput("no router: pass --router URL (no record remembers one yet)")
	}
	d := &switchover.Drill{Active: active, Standby: stby, Router: st.Router, Started: time.Now(),
		Leg: func(ctx context.Context, _ int, from, to string) (switchover.Report, error) {
			fmt.Fprintf(o.g.Err, "\n== drill: switchover %s → %s\n", from, to)
			return o.leg(ctx, cmd, from, to, st.Router)
		}}
	if o.Probe != "" {
		d.Probe = &traffic.Probe{URL: o.Probe, Host: o.ProbeHost, Rate: o.ProbeRate, ClusterHeader: o.ProbeHeader, Max: 4*o.Timeout + 30*time.Minute}
		d.AfterLeg = func(*switchover.DrillReport) { fmt.Fprintf(o.g.Err, "probe so far: %s\n", d.Probe.Snapshot()) }
		fmt.Fprintf(o.g.Err, "probe: %d requests/s to %s (Host %s)\n", o.ProbeRate, o.Probe, dash(o.ProbeHost))
	} else {
		fmt.Fprintln(o.g.Err, "warning: no --probe: requests failed during the drill are not counted")
	}
	// Interrupted or not, the report says what happened: the switchover's
	// own journal is what a re-run resumes.
	rep, _ := d.Run(ctx)
	for _, c := range st.Clusters {
		rep.Pair = append(rep.Pair, c.Identity)
	}
	slices.Sort(rep.Pair)
	path, werr := o.write(rep)
	if werr != nil {
		return werr
	}
	o.remember(ctx, rep, path)
	if o.g.Output == "json" || o.g.Output == "yaml" {
		if err := o.g.printObject(rep, nil); err != nil {
			return err
		}
	} else {
		fmt.Fprint(o.g.Out, rep.Markdown())
	}
	fmt.Fprintf(o.g.Err, "drill %s; report: %s\n", rep.Result, path)
	if !rep.Passed {
		return errPartial
	}
	return nil
}

// leg is one switchover of the drill, with its own options (Complete mutates them).
func (o *DrillOptions) leg(ctx context.Context, cmd *cobra.Command, from, to, router string) (switchover.Report, error) {
	so := &SwitchoverOptions{g: o.g, From: from, To: to, Sync: o.Sync, BreakLock: o.BreakLock, Timeout: o.Timeout, JournalDir: o.JournalDir}
	so.shift = o.shiftFlagSet
	so.shift.Router, so.shift.From, so.shift.To = router, from, to
	so.sync = o.syncFlagSet
	if err := so.sync.Complete(); err != nil {
		return switchover.Report{}, err
	}
	so.sync.Standby, so.sync.Workers = true, apply.DefaultWorkers
	fromC, toC, err := so.pairConns(ctx)
	if err != nil {
		return switchover.Report{}, err
	}
	rep, err := runSwitchover(ctx, so, cmd, fromC, toC, "drill")
	if rep.Run != "" {
		printLegTable(o.g.Err, rep)
	}
	return rep, err
}

// write saves the report as markdown and JSON; it returns the markdown's path.
func (o *DrillOptions) write(rep *switchover.DrillReport) (string, error) {
	if err := os.MkdirAll(o.ReportDir, 0o755); err != nil {
		return "", fmt.Errorf("report directory: %w", err)
	}
	base := filepath.Join(o.ReportDir, "drill-"+rep.Started.UTC().Format("20060102T150405Z"))
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(base+".md", []byte(rep.Markdown()), 0o600); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	return base + ".md", nil
}

// remember keeps the drill's result in both records (best effort: a record
// that cannot be written is said, not fatal).
func (o *DrillOptions) remember(ctx context.Context, rep *switchover.DrillReport, path string) {
	d := rep.Summary(path)
	for _, name := range []string{rep.Active, rep.Standby} {
		c, err := o.g.connect(name, "cluster")
		if err == nil {
			err = switchover.RememberDrill(ctx, c, d)
		}
		if err != nil {
			fmt.Fprintf(o.g.Err, "warning: drill result not kept in %s's record: %v\n", name, err)
		}
	}
}
