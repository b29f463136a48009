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
	FailOn string

	checks []preflight.Check
	failOn preflight.Severity
}

func newPlanCmd(g *Global) *cobra.Command {
	o := &PlanOptions{g: g}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Preflight: what will break, what will block, what must be done by hand",
		Long: `Reads both clusters (read-only) and reports, before anything moves:
  apis      clients using API versions the target does not serve (evidence:
            managedFields, Helm v3 releases, last-applied, the source's /metrics)
  deprecated
            the target's own deprecation warnings for what sync would write
  crds      CRDs missing in the target while custom resources exist (or a
            controller's RBAC needs them); version drift
  addons    add-on Deployments/DaemonSets (kube-system, ingress, monitoring…)
            only in one cluster or at other image tags
  classes   Storage/Ingress/Priority/RuntimeClasses referenced but missing
  webhooks  target admission webhooks with no ready endpoints; source webhooks,
            a sidecar injector the target lacks (sync writes it after the
            workloads it injects into); aggregated APIs a standby holds back
  cidr      overlapping Service/pod/node address ranges
  pdb       what blocks or loses data in a drain of the source: budgets allowing
            no eviction, pods without a controller, emptyDir and hostPath pods
  stateful  StatefulSets, PVCs, PVs with reclaimPolicy Delete; volumes against
            the target (CSI driver, provisioner, access modes, node affinity);
            Velero Schedules both clusters would run into one storage location;
            VolumeSnapshots (not copied) and the claims restoring from them;
            custom resources a controller turns into cloud resources
            (Crossplane, ACK, Config Connector, Azure Service Operator), which
            both clusters' controllers would manage
  owners    Helm releases, Argo CD Applications and Flux units managing objects:
            the pipeline must deploy to the target too
  identity  ServiceAccounts that sign in to a cloud IAM with their token (IRSA,
            Azure workload identity) against both clusters' token issuers;
            EKS Pod Identity, whose associations are made per cluster
  keys      SealedSecrets to copy against the sealing keys both clusters
            hold: the target's controller opens them only with the source's
            keys, which sync does not copy from kube-system
  capacity  the source's pod requests against the target's allocatable (every
            resource requested: cpu, memory, ephemeral-storage, GPUs…), and
            each workload against each node: nodeSelector, required node
            affinity, DoNotSchedule topology spread keys, taints and one pod's
            requests, as kube-scheduler filters them, from the templates of
            Deployments, StatefulSets and CronJobs (at 0 replicas too) and the
            pods of other workloads (pods no target node can run stay Pending
            there); and replicas kept one per host or zone by their own
            required pod anti-affinity against the hosts or zones that can
            run them (and one more for a rollout that adds a pod first)
  exposure  LoadBalancer Services, Ingress and Gateway hosts: the entry points a
            shift must move, with the router that can move each; AWS
            TargetGroupBindings (not copied: the target needs a target group
            and binding of its own, unless the controller made them)

A resource that cannot be read (a CRD deleted meanwhile, an aggregated API
whose backend is down, RBAC) is reported as unchecked and the report goes on.
-o markdown writes the report for a change request.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above --fail-on,
2 bad input, 3 no such findings but the report is incomplete (something could
not be read or a check could not run: see "unchecked").`,
		Example: `  tandem plan --source blue --target green
  tandem plan --source blue --target green --only apis,crds -o json
  tandem plan --source blue --target green --fail-on warning -o markdown > preflight.md`,
		Annotations: map[string]string{"markdown": "true"},
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("checks") && cmd.Flags().Changed("only") {
				return badInput("--only and --checks are the same flag: give one")
			}
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
	cmd.Flags().StringSliceVar(&o.Checks, "only", nil, "the same as --checks")
	cmd.Flags().StringVar(&o.FailOn, "fail-on", "error", "exit 1 when any finding is at or above this severity: error, warning or info")
	return cmd
}

// Complete resolves the check names.
func (o *PlanOptions) Complete() error {
	checks, err := preflight.Select(o.Checks)
	if err != nil {
		return badInput("--checks (--only): %v", err)
	}
	o.checks = checks
	if o.failOn, err = preflight.ParseSeverity(o.FailOn); err != nil {
		return badInput("--fail-on: %v", err)
	}
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
	if o.g.Output == "markdown" {
		if _, err := io.WriteString(o.g.Out, rep.Markdown(o.failOn)); err != nil {
			return err
		}
	} else if err := o.g.printObject(rep, func(w io.Writer) { printReport(w, rep, o.failOn, time.Since(started)) }); err != nil {
		return err
	}
	switch {
	case rep.Blocking(o.failOn) > 0:
		return errPartial
	case rep.Incomplete():
		return fmt.Errorf("%w: some resources could not be checked (%d resources unchecked, %d checks failed): the report above says which", errIncomplete, len(rep.Unchecked), failedChecks(rep))
	}
	return nil
}

func failedChecks(rep *preflight.Report) int {
	n := 0
	for _, c := range rep.Checks {
		if c.Failed != "" {
			n++
		}
	}
	return n
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
func printReport(w io.Writer, rep *preflight.Report, failOn preflight.Severity, took time.Duration) {
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
	switch n := rep.Blocking(failOn); {
	case n > 0:
		fmt.Fprintf(w, "\n%d finding(s) at or above %s: fix them before `tandem sync`\n", n, failOn)
	case rep.Incomplete():
		fmt.Fprintf(w, "\nno %s findings, but the report is incomplete: see \"unchecked\" and FAILED above\n", failOn)
	case failOn == preflight.Error:
		fmt.Fprintln(w, "\nno errors: ready for `tandem sync`")
	default:
		fmt.Fprintf(w, "\nnothing at or above %s: ready for `tandem sync`\n", failOn)
	}
}
