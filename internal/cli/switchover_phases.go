package cli

// The phases of a switchover that reuse other verbs' machinery, built from
// the flags: pkg/switchover does the work.

import (
	"context"
	"fmt"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// trafficMove is the shift phase as the shift flags say it.
func (o *SwitchoverOptions) trafficMove() *switchover.TrafficMove {
	so := &o.shift
	return &switchover.TrafficMove{
		Router: so.router, RouterURL: so.Router, From: so.From, To: so.To, Steps: so.steps, Pauses: so.pauses,
		VerifyTimeout: so.VerifyTimeout, GateEvery: so.GateInterval, GateGrace: so.GateGrace, Gates: so.gates, Smoke: so.smokeGates(),
		JournalDir: so.JournalDir,
		Observer:   &shiftProgress{w: o.g.Err, n: len(so.steps), gates: len(so.gates), ttl: so.router.TTL(context.Background()), router: so.router},
		Say:        func(msg string) { fmt.Fprintf(o.g.Err, "[shift] %s\n", msg) },
	}
}

// lastSync is the sync phase: sync's own pipeline, standby form.
func (o *SwitchoverOptions) lastSync(ctx context.Context, from, to *cluster.Conn) error {
	return switchover.SyncPass(ctx, from, to, func(ctx context.Context) (*syncer.Prepared, error) { return o.sync.prepare(ctx, from, to, nil, nil) },
		o.sync.Workers, o.g.Log, func(msg string) { fmt.Fprintf(o.g.Err, "[sync] %s\n", msg) })
}
