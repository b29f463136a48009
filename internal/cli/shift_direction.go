package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// direction fills --from and --to when they were not given: traffic leaves
// the cluster the records make active for its peer (the router's other
// cluster). Without a verdict it refuses, naming both flags: a shift never
// guesses which cluster serves production.
func (o *ShiftOptions) direction(ctx context.Context, current traffic.Weights) error {
	if o.From != "" && o.To != "" {
		return nil
	}
	var names []string
	for _, route := range current.Routes() {
		for _, c := range current.Clusters(route) {
			if !slices.Contains(names, c) {
				names = append(names, c)
			}
		}
	}
	if len(names) != 2 {
		return badInput("--from and --to not given, and the router has %d clusters (%s): pass --from CLUSTER --to CLUSTER", len(names), current)
	}
	var conns [2]*cluster.Conn
	for i, n := range names {
		c, err := o.g.connect(n, "cluster")
		if err != nil {
			return badInput("--from and --to not given, and the router's cluster %q is no context to read its record from: pass --from CLUSTER --to CLUSTER", n)
		}
		conns[i] = c
	}
	v := pair.Verdict(ctx, conns)
	if v.Active == "" {
		return badInput("--from and --to not given, and the records of %s and %s do not say which is active: pass --from CLUSTER --to CLUSTER", names[0], names[1])
	}
	peer := names[0]
	if peer == v.Active {
		peer = names[1]
	}
	switch {
	case o.From == "" && o.To == "":
		o.From, o.To = v.Active, peer
	case o.From == "":
		o.From = otherName(names, o.To)
	default:
		o.To = otherName(names, o.From)
	}
	fmt.Fprintf(o.g.Err, "from the records: %s is active (epoch %d); shifting from %s to %s\n", v.Active, v.Epoch, o.From, o.To)
	return nil
}

func otherName(names []string, one string) string {
	if names[0] == one {
		return names[1]
	}
	return names[0]
}

// refuseStandby refuses to move traffic onto a cluster that is standby (its
// standby marker: workloads parked at 0 behind the admission policy) unless
// --force: users would be sent to a cluster that cannot serve them. A --to
// that is no context of the kubeconfig cannot be read and is not judged.
func (o *ShiftOptions) refuseStandby(ctx context.Context) error {
	if o.Force || o.Rollback || o.DryRun {
		return nil
	}
	if _, err := cluster.LoadConfig(cluster.KubeconfigPath(o.g.Kubeconfig)); err != nil {
		return nil
	}
	c, err := o.g.connect(o.To, "to")
	if err != nil {
		return nil
	}
	sb, err := standby.IsStandby(ctx, c)
	if err != nil || !sb {
		return nil
	}
	return badInput("%s is standby (its workloads are parked at 0 replicas): activate it first (tandem activate --cluster %s, or tandem switchover --to %s), or pass --force to shift anyway", o.To, o.To, o.To)
}

// builtInGate watches a shift given no gate with the router's own error
// counters where it has them (HAProxy: 5xx, connection and response errors
// per server), as Flagger's built-in success-rate check does; DNS-based
// routers and the ALB rule see no request and have none.
func (o *ShiftOptions) builtInGate() {
	if len(o.gates) > 0 || o.Rollback || o.DryRun {
		return
	}
	ec, ok := o.router.(traffic.ErrorCounter)
	if !ok {
		fmt.Fprintf(o.g.Err, "warning: no gate, and this router counts no errors: nothing watches %s during the shift (pass --gate-http or --gate-prometheus)\n", o.To)
		return
	}
	g := &traffic.RouterGate{Counter: ec, Cluster: o.To, MaxRatio: builtInMaxErrors}
	o.gates = []traffic.Gate{g}
	fmt.Fprintf(o.g.Err, "no gate given: watching the router's own counters (%s)\n", g.Name())
}

// builtInMaxErrors is the share of failed requests the built-in gate allows.
const builtInMaxErrors = 0.05
