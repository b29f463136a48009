package pair

import (
	"context"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/switchover"
)

// Verdict reads only what decides which cluster of the pair is active — each
// one's role record and standby marker — and decides (switchover.Decide).
// An unreachable cluster is a side with an error, as in Read.
func Verdict(ctx context.Context, conns [2]*cluster.Conn) switchover.Verdict {
	return switchover.Decide(readSide(ctx, conns[0]), readSide(ctx, conns[1]))
}

// readSide reads a cluster's role record and standby marker; on an error the
// side carries only the error.
func readSide(ctx context.Context, c *cluster.Conn) switchover.Side {
	side := switchover.Side{Context: c.Context}
	rec, err := switchover.ReadRecord(ctx, c)
	if err != nil {
		side.Err = err
		return side
	}
	sb, err := standby.IsStandby(ctx, c)
	if err != nil {
		side.Err = err
		return side
	}
	side.Record, side.Standby = rec, sb
	return side
}
