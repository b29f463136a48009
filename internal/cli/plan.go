package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// PlanOptions are the flags of `tandem plan`.
type PlanOptions struct {
	g      *Global
	Checks []string

	checks []preflight.Check
}

func newPlanCmd(g *Global) *cobra.Command {
	o := &PlanOptions{g: g}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Preflight: what will break, what will block, what must be done by hand",
		Long: `Reads both clusters (read-only) and reports, before anything moves:
  apis      clients using API versions the target does not serve (evidence:
            managedFields, Helm v3 releases, last-applied, the source's /metrics)
  crds      CRDs missing in the target while custom resources exist; version drift
  classes   Storage/Ingress/Priority/RuntimeClasses referenced but missing
  webhooks  target admission webhooks with no ready endpoints; source webhooks
  cidr      overlapping Service/pod/node address ranges
  pdb       PodDisruptionBudgets that block a drain
  stateful  StatefulSets, PVCs, PVs with reclaimPolicy Delete

Exit codes: 0 no error findings, 1 error findings (or a check failed), 2 bad input.`,
		Example: `  tandem plan --source blue --target green
  tandem plan --source blue --target green --checks apis,crds -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringSliceVar(&o.Checks, "checks", nil, "only these checks (comma-separated): "+strings.Join(preflight.Names(), ","))
	return cmd
}

// Complete resolves the check names.
func (o *PlanOptions) Complete() error {
	checks, err := preflight.Select(o.Checks)
	if err != nil {
		return badInput("--checks: %v", err)
	}
	o.checks = checks
	return nil
}

// Validate refuses an empty selection.
func (o *PlanOptions) Validate() error {
	if len(o.checks) == 0 {
		return badInput("--checks: no check named; want some of %s", strings.Join(preflight.Names(), ","))
	}
	return nil
}

// Run reads both clusters, runs the checks and prints the report.
func (o *PlanOptions) Run(ctx context.Context) error {
	started := time.Now()
	source, target, err := o.g.connectPair(ctx)
	if err != nil {
		return err
	}
	progress, done := o.progress()
	env, err := preflight.Load(ctx, source, target, progress)
	done()
	if err != nil {
		return err
	}
	rep := preflight.Run(ctx, env, o.checks)
	o.g.Log.Info("plan done", "objects", rep.Objects, "findings", len(rep.Findings), "took", time.Since(started))
	if err := o.g.printObject(rep, func(w io.Writer) { printReport(w, rep, time.Since(started)) }); err != nil {
		return err
	}
	if rep.Errors() > 0 {
		return errPartial
	}
	return nil
}

// progress draws one updating line on a terminal while the source is read;
// done erases it.
func (o *PlanOptions) progress() (func(string, int), func()) {
	f, ok := o.g.Err.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	return func(resource string, objects int) {
			fmt.Fprintf(f, "\rreading source: %6d objects (%s)\033[K", objects, resource)
		}, func() {
			fmt.Fprint(f, "\r\033[K")
		}
}

// printReport writes the findings grouped by severity, then what was checked.
func printReport(w io.Writer, rep *preflight.Report, took time.Duration) {
	fmt.Fprintf(w, "plan %s → %s\n", rep.Source, rep.Target)
	for _, sev := range []preflight.Severity{preflight.Error, preflight.Warning, preflight.Info} {
		var fs []preflight.Finding
		for _, f := range rep.Findings {
			if f.Severity == sev {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%d)\n", strings.ToUpper(string(sev)), len(fs))
		for _, f := range fs {
			ev := ""
			if f.Evidence != "" {
				ev = " [" + f.Evidence + "]"
			}
			fmt.Fprintf(w, "  %-9s %s%s\n            %s\n", f.Check, f.Object, ev, f.Message)
			if f.Fix != "" {
				fmt.Fprintf(w, "            fix: %s\n", f.Fix)
			}
		}
	}
	fmt.Fprintf(w, "\nchecked: %d objects of %d resources in %s, in %s\n", rep.Objects, rep.Resources, rep.Source, took.Round(time.Millisecond))
	tw := newTable(w, "  CHECK", "ERRORS", "WARNINGS", "INFO", "SCOPE")
	for _, c := range rep.Checks {
		scope := c.Scope
		if c.Failed != "" {
			scope = "FAILED: " + c.Failed
		}
		row(tw, "  "+c.Name, c.Errors, c.Warnings, c.Infos, scope)
	}
	tw.Flush()
	if n := rep.Errors(); n > 0 {
		fmt.Fprintf(w, "\n%d error(s): fix them before `tandem sync`\n", n)
	} else {
		fmt.Fprintln(w, "\nno errors: ready for `tandem sync`")
	}
}
