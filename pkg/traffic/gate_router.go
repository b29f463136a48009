package traffic

import (
	"context"
	"fmt"
	"sync"
)

// Counts are a router's running totals for one cluster of one route.
type Counts struct {
	Sent   int64 `json:"sent"`
	Errors int64 `json:"errors"` // failed there: 5xx answers, connection and response errors
}

// ErrorCounter is a Router that counts what it sent each cluster and what
// failed there (HAProxy does; DNS-based routers and the ALB rule cannot:
// they never see a request).
type ErrorCounter interface {
	Errors(ctx context.Context) (map[string]map[string]Counts, error)
}

// RouterGate is the built-in gate of a shift given no gate: the share of
// what the router sent Cluster that failed there must stay at or under
// MaxRatio. The first check takes the baseline; the share is judged over at
// least minRouterSample requests (gathered over as many checks as it takes):
// at a 5% step a check every 250 ms sees a handful of requests, and one
// error among them is no error rate.
type RouterGate struct {
	Counter  ErrorCounter
	Cluster  string
	MaxRatio float64

	mu           sync.Mutex
	last         map[string]Counts // route → counts at the last check
	sent, failed int64             // since the last judgement
}

// minRouterSample is how many requests the built-in gate judges at once.
const minRouterSample = 20

// Name implements Gate.
func (g *RouterGate) Name() string {
	return fmt.Sprintf("router errors of %s (≤ %g%%)", g.Cluster, 100*g.MaxRatio)
}

// Check implements Gate.
func (g *RouterGate) Check(ctx context.Context) error {
	all, err := g.Counter.Errors(ctx)
	if err != nil {
		return fmt.Errorf("read the router's counters: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := map[string]Counts{}
	var sent, failed int64
	for route, clusters := range all {
		c := clusters[g.Cluster]
		now[route] = c
		if prev, ok := g.last[route]; ok && c.Sent >= prev.Sent {
			sent += c.Sent - prev.Sent
			failed += c.Errors - prev.Errors
		}
	}
	first := g.last == nil
	g.last = now
	if first {
		return nil
	}
	g.sent, g.failed = g.sent+sent, g.failed+failed
	// Judged once the sample is whole, or as soon as more have failed than
	// a whole sample allows (a target failing all of a few requests).
	if g.sent < minRouterSample && float64(g.failed) <= g.MaxRatio*minRouterSample {
		return nil
	}
	sent, failed = g.sent, g.failed
	g.sent, g.failed = 0, 0
	if float64(failed) > g.MaxRatio*float64(sent) {
		return fmt.Errorf("%s failed %d of the %d requests the router sent it lately", g.Cluster, failed, sent)
	}
	return nil
}
