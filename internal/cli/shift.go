package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers"
)

// ShiftOptions are the flags of `tandem shift`.
type ShiftOptions struct {
	g             *Global
	Router        string
	From, To      string
	Steps         string
	Pause         string
	VerifyTimeout time.Duration
	FixTTL        bool
	GateInterval  time.Duration
	GateGrace     time.Duration
	DryRun        bool
	Rollback      bool
	Force         bool
	File          string
	JournalDir    string

	Smoke     string
	SmokeHost string

	GateHTTP        []string // each a URL or key=value pairs (gateflags.go)
	GateHost        string
	GateStatus      int
	GateRequests    int
	GateMaxFailures float64
	GateMaxP99      time.Duration
	GateCommand     []string
	GatePrometheus  []string // each a URL or key=value pairs
	GateQuery       string
	GateOp          string
	GateMax         float64

	router traffic.Router
	steps  []int
	pauses []time.Duration
	gates  []traffic.Gate
}

func newShiftCmd(g *Global) *cobra.Command {
	o := &ShiftOptions{g: g}
	cmd := &cobra.Command{
		Use:   "shift",
		Short: "Move traffic from one cluster to the other in gated, weighted steps, with automatic rollback",
		Long: `Moves each route of the router from --from to --to in steps (the target's share
in percent). Each step: set the weights, wait until the router reports them,
then pause (plus the record TTL for DNS routers) while the gates run again and
again. A failed gate or a step that does not take effect sends the starting
weights (--from 100, --to 0) at once, verifies them, and exits 1 with a report.

Routers (a route's clusters are named as the contexts are, blue and green):
  haproxy:///path/to/admin.sock?backend=NAME[,NAME2][&state=FILE][&CLUSTER=SERVER]
    a route is a backend, a cluster is a server; state= rewrites HAProxy's
    server-state-file so a reload keeps the weights.
  route53://ZONEID/app.example.com[,api.example.com]?ttl=60[&type=A][&CLUSTER=VALUE]
         [&CLUSTER=alias:HOSTED_ZONE_ID/DNS_NAME][&setid.CLUSTER=ID][&endpoint=URL][&region=R]
    weighted record sets, one per cluster (SetIdentifier = the cluster's name
    unless setid. says otherwise); weights 0–100 become 0–255; a step is
    verified when Route53 says INSYNC; all-zero weights are refused; a simple
    record is converted to weighted ones (DELETE + CREATE in one batch), and
    the shift waits the TTL after each change before judging the gates;
    weighted ALIAS records keep their target (alias: makes a missing one).
  alb://LISTENER_RULE_ARN?blue=TG_ARN&green=TG_ARN[&listener=ARN][&endpoint=URL]
    one listener rule forwarding to a target group per cluster; 0–100 → 0–999;
    only the weights change; a rule of the AWS Load Balancer Controller is
    refused (it would put its own back): use albingress:// for those.
  albingress://NAMESPACE/INGRESS?context=CTX&blue=TG_ARN&green=TG_ARN
         [&action=NAME][&rule=RULE_ARN][&endpoint=URL][&region=R]
    the AWS Load Balancer Controller's way: the weights go into the Ingress's
    alb.ingress.kubernetes.io/actions.NAME annotation (a forward action with
    both target groups) in context CTX, and the controller applies them; a
    step is verified when the ALB rule (found from the Ingress's load
    balancer, or rule=) forwards with them; each cluster's target group must
    be bound by a TargetGroupBinding of that cluster.
  externaldns://ingress/NAMESPACE/NAME?clusters=blue,green[&setid.CLUSTER=ID][&prefix=P][&verify=route53://ZONE_ID]
    the set-identifier and aws-weight annotations of the same Ingress (or
    service/…) in each cluster, for each cluster's ExternalDNS to publish; the
    annotation prefix is the one each ExternalDNS reads (--annotation-prefix,
    else external-dns.kubernetes.io/ from v0.22.0, the alpha one before) —
    of the ExternalDNS Deployments that read the object (its kind in
    --source, its namespace in --namespace) and are not being deleted; a
    preflight warns about shared --txt-owner-id and duplicate set-identifiers;
    the shift waits the record TTL (the ttl annotation, else 300 s) and,
    without verify=route53://ZONE_ID, ExternalDNS's sync interval before it
    (--interval of its Deployment, 1m by default; with --events its
    --min-event-sync-interval): nothing else tells when it published.
AWS credentials and region come from the usual chain (environment, shared
config, SSO, instance role); endpoint= points at another implementation.

Before any weight, --smoke sends one request straight to the target's own
endpoint (with --smoke-host, default --gate-host); a failure changes nothing.

` + gateHelp + `

A shift file (-f shift.yaml) says the same, with any number of gates:
  router: haproxy:///run/haproxy.sock?backend=app
  from: blue
  to: green
  steps: [0, 5, 25, 50, 100]
  pause: 30s                     # or one per step: [10s, 30s, 30s, 1m, 1m]
  smoke: {url: "http://green-lb.internal/", host: app.example.com}
  gates:
  - http: {url: "http://app-lb/", host: app.example.com, status: 200, requests: 20, maxFailures: 0.01, maxP99: 500ms}
  - prometheus: {url: "http://prometheus:9090", query: "sum(rate(http_errors_total[1m]))", op: "<=", max: 0.5}
  - command: ./check-orders.sh
Flags given on the command line win over the file.

Every step is journaled: re-running the same command after a crash (kill -9)
resumes after the last finished step. An interrupt (Ctrl-C) rolls back.
A shift never moves traffic back: one whose next step would give --to less
than the router gives it now is refused (go back with --rollback, or pass
--steps from the share now); run again where it finished, it says so and
changes nothing.

Without --from and --to, traffic leaves the cluster the role records make
active for the router's other cluster; when the records do not say which is
active, tandem refuses rather than guess.

Exit codes: 0 shifted, 1 a gate or step failed (rolled back), 2 bad input.`,
		Example: `  tandem shift --router haproxy:///run/haproxy.sock?backend=clusters --from blue --to green \
    --steps 10,25,50,100 --pause 30s --gate-http http://127.0.0.1:8080/ --gate-host app.example
  tandem shift --router haproxy:///run/haproxy.sock?backend=clusters --from blue --to green \
    --steps 10,25,50,100 --pause 30s \
    --gate-http 'url=http://127.0.0.1:8080/,host=app.example,maxP99=300ms' \
    --gate-http 'url=http://127.0.0.1:8080/api/health,host=api.example,requests=20,maxFailures=0.05' \
    --gate-prometheus 'url=http://prometheus:9090,op=<,max=0.05,query=sum(rate(http_errors_total{code=~"5..",app="web"}[1m]))'
  tandem shift --router haproxy:///run/haproxy.sock?backend=clusters --from blue --to green --dry-run
  tandem shift --router haproxy:///run/haproxy.sock?backend=clusters --from blue --to green --rollback
  tandem shift status --router haproxy:///run/haproxy.sock?backend=clusters -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	addShiftStepFlags(cmd, o)
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "the cluster traffic leaves (default: the one the records make active)")
	f.StringVar(&o.To, "to", "", "the cluster traffic moves to (default: the active cluster's peer on the router)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the current weights and the steps; change nothing")
	f.BoolVar(&o.Rollback, "rollback", false, "send all traffic back to --from (100/0) now and verify it")
	f.BoolVar(&o.Force, "force", false, "shift even onto a cluster that is standby (its workloads parked at 0)")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each shift is kept")
	f.StringVarP(&o.File, "file", "f", "", "a shift file (router, from, to, steps, pause, smoke, any number of gates; see above); flags given win")
	cmd.AddCommand(newShiftStatusCmd(g))
	return cmd
}

// Complete parses the router URL, the steps and the gates.
func (o *ShiftOptions) Complete(cmd *cobra.Command) error {
	var fileGates []traffic.Gate
	if o.File != "" {
		var err error
		if fileGates, err = o.readShiftFile(cmd, o.File); err != nil {
			return err
		}
	}
	r, err := openRouterWith(cmd.Context(), o.g, o.Router, providers.Options{FixTTL: o.FixTTL})
	if err != nil {
		return err
	}
	o.router = r
	if o.steps, err = traffic.ParseSteps(o.Steps); err != nil {
		return inputErr("--steps", err)
	}
	if o.pauses, err = traffic.ParsePauses(o.Pause, len(o.steps)); err != nil {
		return inputErr("--pause", err)
	}
	flagGates, err := o.flagGates(cmd)
	if err != nil {
		return err
	}
	o.gates = traffic.DistinctNames(append(flagGates, fileGates...))
	return nil
}

// Validate refuses contradictory or out-of-range flags (Complete has
// checked the gates and their flags).
func (o *ShiftOptions) Validate() error {
	switch {
	case o.From != "" && o.From == o.To:
		return badInput("--from %q and --to %q must name two different clusters", o.From, o.To)
	case o.VerifyTimeout < 0:
		return badInput("--verify-timeout %s: want a duration > 0 (or 0: the router's default)", o.VerifyTimeout)
	case o.Smoke != "" && !traffic.IsHTTPURL(o.Smoke):
		return badInput("--smoke %q: want an http:// or https:// URL", o.Smoke)
	case o.DryRun && o.Rollback:
		return badInput("--dry-run and --rollback: choose one")
	}
	return nil
}

// Run shifts, rolls back, or prints the plan.
func (o *ShiftOptions) Run(ctx context.Context) error {
	current, err := observe(ctx, o.router, o.Router)
	if err != nil {
		return err
	}
	if err := o.direction(ctx, current); err != nil {
		return err
	}
	if err := o.refuseStandby(ctx); err != nil {
		return err
	}
	for _, route := range current.Routes() {
		for _, c := range current.Clusters(route) {
			// A third target with weight keeps its share through every step:
			// "100%" would not be.
			if c != o.From && c != o.To && current[route][c] > 0 && !o.Rollback { // the way back stays open
				return badInput("route %q also sends %d%% to %q, neither --from nor --to: the shift would leave it that share; set it to 0 first (it has %s)", route, current[route][c], c, current.String())
			}
		}
		for _, c := range []string{o.From, o.To} {
			if _, ok := current[route][c]; !ok {
				if h, ok := o.router.(traffic.MissingExplainer); ok {
					if why := h.Missing(ctx, route, c); why != "" {
						return badInput("%s", why)
					}
				}
				return badInput("route %q has no cluster %q (it has %s); check --from/--to", route, c, current.String())
			}
		}
	}
	plan, err := traffic.NewPlan(current.Routes(), o.From, o.To, o.steps)
	if err != nil {
		return inputErr("plan", err)
	}
	o.builtInGate()
	fmt.Fprintf(o.g.Err, "router %s now: %s\n", o.Router, current)
	if !o.Rollback { // the way back is never held up by what only a step needs
		if err := routerPreflight(ctx, o.g.Err, o.router); err != nil {
			return err
		}
	}
	ttl := o.router.TTL(ctx)
	s := &traffic.Shifter{
		Router: o.router, Plan: plan, Pauses: o.pauses, VerifyTimeout: o.VerifyTimeout, GateEvery: o.GateInterval, GateGrace: o.GateGrace,
		Gates: o.gates, Smoke: o.smokeGates(), Observer: &shiftProgress{w: o.g.Err, n: len(plan.Steps), gates: len(o.gates), ttl: ttl, router: o.router},
		JournalPath: traffic.JournalPath(o.JournalDir, o.Router),
	}
	if o.DryRun {
		// What the run would refuse, the dry run refuses too.
		switch err := s.CheckForward(ctx); {
		case errors.Is(err, traffic.ErrAlreadyShifted):
			fmt.Fprintf(o.g.Err, "%s\n", err)
			return o.printWeights(current)
		case err != nil:
			return inputErr("shift", err)
		}
		return o.printPlan(plan, current, traffic.ClientDelay(ctx, o.router))
	}
	if o.Rollback {
		rb, err := s.Undo(ctx, "rollback")
		switch {
		case err != nil && rb.VerifiedOK && errors.Is(err, journal.ErrBusy):
			// An emergency rollback beside a running shift: the weights
			// are back; that shift finds them changed at its next step
			// and stops, leaving them.
			fmt.Fprintf(o.g.Err, "note: a shift is running on this router (%v): it stops at its next step, finding the weights changed\n", err)
		case err != nil:
			return err
		}
		return o.printWeights(plan.Start)
	}
	rep, shiftErr := s.Shift(ctx)
	if errors.Is(shiftErr, traffic.ErrAlreadyShifted) {
		fmt.Fprintf(o.g.Err, "%s\n", shiftErr)
		return o.printWeights(current)
	}
	if shiftErr != nil && len(rep.Steps) == 0 && len(rep.Smoke) == 0 {
		return inputErr("shift", shiftErr) // nothing was tried: the journal could not be opened, or the plan would go backwards
	}
	if err := o.printReport(rep); err != nil {
		return err
	}
	if shiftErr != nil {
		fmt.Fprintln(o.g.Err, "error: "+shiftErr.Error())
		return errPartial
	}
	return nil
}

func (o *ShiftOptions) smokeGates() []traffic.Gate {
	if o.Smoke == "" {
		return nil
	}
	host := o.SmokeHost
	if host == "" {
		host = o.GateHost
	}
	return []traffic.Gate{traffic.HTTPGate{URL: o.Smoke, Host: host, Status: o.GateStatus, Requests: 1}}
}

func newShiftStatusCmd(g *Global) *cobra.Command {
	var routerURL string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each route's weights as the router reports them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRouter(cmd.Context(), g, routerURL)
			if err != nil {
				return err
			}
			w, err := observe(cmd.Context(), r, routerURL)
			if err != nil {
				return err
			}
			return printWeights(g, routerURL, w)
		},
	}
	cmd.Flags().StringVar(&routerURL, "router", "", "router URL, e.g. haproxy:///run/haproxy.sock?backend=clusters")
	return cmd
}
