package cli

// tandem switchover --via-controller: the same switchover, run by `tandem
// controller` as a Switchover resource in the management cluster; the CLI
// creates it and follows its status.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/controller"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// viaController are the flags of --via-controller.
type viaController struct {
	On         bool
	Pair       string
	Namespace  string
	Management string
}

func addViaControllerFlags(cmd *cobra.Command, v *viaController) {
	f := cmd.Flags()
	f.BoolVar(&v.On, "via-controller", false, "create a Switchover resource for tandem controller and follow its status instead of running here")
	f.StringVar(&v.Pair, "pair", "", "with --via-controller: the ClusterPair to switch over")
	f.StringVar(&v.Namespace, "controller-namespace", "tandem-system", "with --via-controller: the namespace of the ClusterPair")
	f.StringVar(&v.Management, "management-context", "", "with --via-controller: kubeconfig context of the management cluster (default: the current context)")
}

// runViaController creates the Switchover o asks for and follows it to its end.
func (o *SwitchoverOptions) runViaController(ctx context.Context, cmd *cobra.Command) error {
	v := &o.via
	if v.Pair == "" {
		return badInput("--via-controller needs --pair NAME (the ClusterPair in --controller-namespace)")
	}
	if o.Rollback || o.BreakLock {
		return badInput("--rollback and --break-lock are not for --via-controller: delete a running Switchover to roll it back")
	}
	spec, err := o.switchoverSpec(cmd)
	if err != nil {
		return err
	}
	conn, err := o.g.connectCurrent(v.Management)
	if err != nil {
		return err
	}
	c, err := client.New(conn.Config, client.Options{Scheme: controller.Scheme()})
	if err != nil {
		return err
	}
	so := &tandemv1.Switchover{ObjectMeta: metav1.ObjectMeta{Namespace: v.Namespace, GenerateName: v.Pair + "-to-" + o.To + "-"}, Spec: spec}
	if err := c.Create(ctx, so); err != nil {
		return fmt.Errorf("create the Switchover in %s: %w", conn.Context, err)
	}
	fmt.Fprintf(o.g.Err, "created Switchover %s/%s in %s; following it (Ctrl-C stops following, not the switchover)\n", so.Namespace, so.Name, conn.Context)
	seen := map[string]string{}
	phase := ""
	err = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		var cur tandemv1.Switchover
		if err := c.Get(ctx, client.ObjectKeyFromObject(so), &cur); err != nil {
			return false, nil
		}
		for _, p := range cur.Status.Phases {
			if seen[p.Name] != p.Result {
				seen[p.Name] = p.Result
				fmt.Fprintf(o.g.Err, "[%s] %s\n", p.Name, p.Result)
			}
		}
		if cur.Status.Phase != phase {
			phase = cur.Status.Phase
			fmt.Fprintf(o.g.Err, "%s: %s %s\n", so.Name, phase, cur.Status.Message)
		}
		so = &cur
		return terminalPhase(phase), nil
	})
	if err != nil {
		return err
	}
	if err := o.g.printObject(so.Status, func(w io.Writer) { fmt.Fprintf(w, "%s: %s\n", so.Name, so.Status.Message) }); err != nil {
		return err
	}
	if phase != tandemv1.PhaseSucceeded {
		return errPartial
	}
	return nil
}

func terminalPhase(p string) bool {
	return p == tandemv1.PhaseSucceeded || p == tandemv1.PhaseFailed || p == tandemv1.PhaseRolledBack
}

// switchoverSpec is the Switchover the flags describe.
func (o *SwitchoverOptions) switchoverSpec(cmd *cobra.Command) (tandemv1.SwitchoverSpec, error) {
	so := &o.shift
	steps, err := traffic.ParseSteps(so.Steps)
	if err != nil {
		return tandemv1.SwitchoverSpec{}, inputErr("--steps", err)
	}
	gates, err := so.flagGates(cmd)
	if err != nil {
		return tandemv1.SwitchoverSpec{}, err
	}
	sync := o.Sync
	spec := tandemv1.SwitchoverSpec{Pair: o.via.Pair, To: o.To, Sync: &sync, Namespaces: o.sync.Namespaces,
		SourceUnreachable: o.SourceUnreachable, Timeout: o.Timeout.String(),
		Traffic: tandemv1.Traffic{Pause: so.Pause}}
	if so.VerifyTimeout > 0 { // else the controller uses the router's default
		spec.Traffic.VerifyTimeout = so.VerifyTimeout.String()
	}
	for _, s := range steps {
		spec.Steps = append(spec.Steps, int32(s))
	}
	for _, g := range gates {
		switch g := traffic.Unnamed(g).(type) {
		case traffic.HTTPGate:
			spec.Gates = append(spec.Gates, tandemv1.Gate{HTTP: &tandemv1.HTTPGate{URL: g.URL, Host: g.Host, Status: int32(g.Status), Requests: int32(g.Requests), MaxFailures: g.MaxFailureRatio, MaxP99: durationOrEmpty(g.MaxP99)}})
		case traffic.PromGate:
			spec.Gates = append(spec.Gates, tandemv1.Gate{Prometheus: &tandemv1.PrometheusGate{URL: g.URL, Query: g.Query, Op: g.Op, Max: g.Threshold}})
		case traffic.CommandGate:
			spec.Gates = append(spec.Gates, tandemv1.Gate{Command: g.Command})
		default:
			return spec, badInput("gate %s cannot be passed to the controller", g.Name())
		}
	}
	if so.Smoke != "" {
		spec.Smoke = &tandemv1.HTTPGate{URL: so.Smoke, Host: so.SmokeHost}
	}
	return spec, nil
}

func durationOrEmpty(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
