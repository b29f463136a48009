package controller

// From a resource's spec to the pkg/switchover Invocation the CLI would
// build from its flags.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/syncer"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// The defaults of `tandem switchover`'s flags.
const (
	defaultSteps   = "0,5,25,50,100"
	defaultPause   = "30s"
	defaultTimeout = 5 * time.Minute
	gateEvery      = 250 * time.Millisecond
	syncWorkers    = apply.DefaultWorkers
)

// trafficPlan is a Traffic spec parsed: steps, pauses, gates.
type trafficPlan struct {
	steps         []int
	pauses        []time.Duration
	verifyTimeout time.Duration
	gates, smoke  []traffic.Gate
}

func parseTraffic(t tandemv1.Traffic) (*trafficPlan, error) {
	tp := &trafficPlan{} // verifyTimeout 0: the router's default
	var err error
	if len(t.Steps) == 0 {
		tp.steps, _ = traffic.ParseSteps(defaultSteps)
	} else {
		for _, s := range t.Steps {
			tp.steps = append(tp.steps, int(s))
		}
	}
	if err := traffic.ValidateSteps(tp.steps); err != nil {
		return nil, invalid(ReasonInvalidSpec, "steps: %v", err)
	}
	pause := t.Pause
	if pause == "" {
		pause = defaultPause
	}
	if tp.pauses, err = traffic.ParsePauses(pause, len(tp.steps)); err != nil {
		return nil, invalid(ReasonInvalidSpec, "pause: %v", err)
	}
	if t.VerifyTimeout != "" {
		if tp.verifyTimeout, err = time.ParseDuration(t.VerifyTimeout); err != nil || tp.verifyTimeout <= 0 {
			return nil, invalid(ReasonInvalidSpec, "verifyTimeout %q: want a positive duration", t.VerifyTimeout)
		}
	}
	for i, g := range t.Gates {
		spec := traffic.GateSpec{Command: g.Command}
		if g.HTTP != nil {
			spec.HTTP = httpSpec(g.HTTP)
		}
		if p := g.Prometheus; p != nil {
			spec.Prometheus = &traffic.PromSpec{URL: p.URL, Query: p.Query, Op: p.Op, Max: p.Max}
		}
		gate, err := spec.Gate()
		if err != nil {
			return nil, invalid(ReasonInvalidSpec, "gates[%d].%v", i, err)
		}
		tp.gates = append(tp.gates, gate)
	}
	tp.gates = traffic.DistinctNames(tp.gates)
	if t.Smoke != nil {
		g, err := httpSpec(t.Smoke).Gate()
		if err != nil {
			return nil, invalid(ReasonInvalidSpec, "smoke.%v", err)
		}
		tp.smoke = []traffic.Gate{g}
	}
	return tp, nil
}

func httpSpec(h *tandemv1.HTTPGate) *traffic.HTTPSpec {
	return &traffic.HTTPSpec{URL: h.URL, Host: h.Host, Status: int(h.Status), Requests: int(h.Requests), MaxFailures: h.MaxFailures, MaxP99: h.MaxP99}
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return defaultTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, invalid(ReasonInvalidSpec, "timeout %q: want a positive duration", s)
	}
	return d, nil
}

// leg is one switchover to build: the pair, the direction, the spec's parts.
type leg struct {
	pair              *Pair
	to                string
	traffic           tandemv1.Traffic
	sync              *bool
	namespaces        []string
	sourceUnreachable bool
	timeout           string
	shiftJournal      types.NamespacedName // the ConfigMap of the shift phase's step journal
	owner             client.Object        // owns the journal ConfigMaps
	client            client.Client
	reader            client.Reader
	reason            string // "switchover" or "drill"
	who               string // the resource, for the records
	log               *slog.Logger
	progress          func(phase, msg string)
}

// invocation builds the switchover l asks for, as `tandem switchover` does
// from its flags; from is nil when the source is unreachable.
func (l *leg) invocation(ctx context.Context) (*switchover.Invocation, error) {
	to := l.pair.Conn(l.to)
	if to == nil {
		return nil, invalid(ReasonUnknownCluster, "to %q is not a cluster of ClusterPair %s (it has %s)", l.to, l.pair.Name, strings.Join(l.pair.Names(), ", "))
	}
	fromConn := l.pair.Other(l.to)
	fromName := fromConn.Context
	tp, err := parseTraffic(l.traffic)
	if err != nil {
		return nil, err
	}
	timeout, err := parseTimeout(l.timeout)
	if err != nil {
		return nil, err
	}
	if _, err := to.Check(ctx); err != nil {
		return nil, fmt.Errorf("%s cannot be reached, so it cannot become active: %w", l.to, err)
	}
	from := fromConn
	if _, checkErr := from.Check(ctx); checkErr != nil {
		if !l.sourceUnreachable {
			return nil, fmt.Errorf("%w; if it is down for good, set spec.sourceUnreachable for an emergency failover", checkErr)
		}
		from = nil
	} else if l.sourceUnreachable {
		return nil, invalid(ReasonInvalidSpec, "sourceUnreachable, but %s answers: run a normal switchover", fromName)
	}
	if from != nil {
		if err := cluster.Distinct(ctx, from, to); err != nil {
			return nil, invalid(ReasonInvalidSpec, "%v", err)
		}
	}
	routerURL := l.pair.Router
	if routerURL == "" {
		routerURL = switchover.RememberedRouter(ctx, from, to)
	}
	if routerURL == "" {
		return nil, invalid(ReasonInvalidSpec, "no router: set spec.router of ClusterPair %s (no record remembers one yet)", l.pair.Name)
	}
	router, err := l.pair.OpenRouter(ctx, routerURL)
	if err != nil {
		return nil, invalid(ReasonInvalidSpec, "router: %v", err)
	}
	say := func(phase string) func(string) {
		return func(msg string) { l.progress(phase, msg) }
	}
	move := &switchover.TrafficMove{
		Router: router, RouterURL: routerURL, From: fromName, To: l.to, Steps: tp.steps, Pauses: tp.pauses,
		VerifyTimeout: tp.verifyTimeout, GateEvery: gateEvery, Gates: tp.gates, Smoke: tp.smoke,
		OpenJournal: func() (journal.Log, []journal.Record, error) {
			// The undo opens it too, after the run's ctx is cancelled.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return openConfigMapLog(ctx, l.client, l.reader, l.shiftJournal, l.owner, nil)
		},
		Observer: traffic.ObserverFunc(func(e traffic.Event) { l.log.Debug("shift", "event", fmt.Sprintf("%+v", e)) }),
		Say:      say(switchover.PhaseShift),
	}
	inv := &switchover.Invocation{
		Switchover: switchover.Switchover{
			From: from, FromName: fromName, To: to, SourceUnreachable: l.sourceUnreachable,
			Router: routerURL, Timeout: timeout, Reason: l.reason, Who: l.who,
			Progress: l.progress, Shift: move.Forward, ShiftBack: move.Back, Mirror: switchover.MirrorHandshake{},
		},
		Validate: func(ctx context.Context) error {
			_, err := switchover.Check(ctx, from, fromName, to, router)
			return err
		},
	}
	if from != nil && (l.sync == nil || *l.sync) {
		inv.Sync = func(ctx context.Context) error {
			prepare := func(ctx context.Context) (*syncer.Prepared, error) {
				resources, err := inventory.DiscoverCopy(ctx, from, to)
				if err != nil {
					return nil, err
				}
				if err := syncer.CheckNamespaces(ctx, from, l.namespaces); err != nil {
					return nil, err
				}
				return syncer.Prepare(ctx, syncer.Request{Source: from, Target: to, Standby: true, OnDisk: true,
					Selector: plan.Selector{Namespaces: l.namespaces}}, resources)
			}
			return switchover.SyncPass(ctx, from, to, prepare, syncWorkers, l.log, say(switchover.PhaseSync))
		}
	}
	return inv, nil
}
