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
	var sides [2]switchover.Side
	for i, c := range conns {
		sides[i] = switchover.Side{Context: c.Context}
		rec, err := switchover.ReadRecord(ctx, c)
		if err == nil {
			sides[i].Standby, err = standby.IsStandby(ctx, c)
		}
		sides[i].Record, sides[i].Err = rec, err
	}
	return switchover.Decide(sides[0], sides[1])
}
