package traffic

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Router is one way of splitting traffic between clusters (HAProxy, DNS, a
// cloud load balancer). Telling the router is not the same as the router
// being there, hence SetWeights apart from Verify.
type Router interface {
	// Observe reads the weights the router really has now.
	Observe(ctx context.Context) (Weights, error)
	// SetWeights asks the router for w; routes and clusters not in w are left alone.
	SetWeights(ctx context.Context, w Weights) error
	// Verify reports whether w is in effect.
	Verify(ctx context.Context, w Weights) (bool, error)
	// TTL is how long clients may keep following the old weights after a
	// change (a DNS record's TTL); 0 for proxies. A router that must ask
	// for it (externaldns reads an annotation) falls back to its default.
	TTL(ctx context.Context) time.Duration
}

// Publisher is implemented by routers whose changes another program puts
// into effect on its own schedule, which nothing verifies (externaldns
// without verify=: ExternalDNS publishes the annotations on its next run).
// PublishWithin is how long that may take; the TTL counts from its end.
type Publisher interface {
	PublishWithin() time.Duration
}

// ClientDelay is how long clients may keep following the old weights after
// a step is verified: the router's TTL and, for a Publisher, the time the
// change may take to be published.
func ClientDelay(ctx context.Context, r Router) time.Duration {
	d := r.TTL(ctx)
	if p, ok := r.(Publisher); ok {
		d += p.PublishWithin()
	}
	return d
}

// Paced is implemented by routers whose Verify calls an API with a request
// budget and whose changes take a while to be everywhere (Route53: 5
// requests/s per account, shared with ExternalDNS; a change INSYNC
// "generally within 60 seconds"). Verification polls them from first,
// doubling up to max, and waits up to timeout unless told otherwise.
type Paced interface {
	Pace() (first, max, timeout time.Duration)
}

// Lagger is implemented by routers whose weights someone else puts into
// effect (albingress: the AWS Load Balancer Controller applies the Ingress
// annotation): when a step is not in effect in time, Lag says why, to be
// shown with the failure.
type Lagger interface {
	Lag(ctx context.Context, w Weights) string
}

// MissingExplainer is implemented by routers that can say what a cluster
// lacks when a route does not have it (route53: the record of a weighted
// ALIAS set, and the alias target to make it with).
type MissingExplainer interface {
	Missing(ctx context.Context, route, cluster string) string
}

// Verifier is implemented by routers whose Verify means more than reading
// back what was set: Verifies says what, for progress lines ("the change is
// INSYNC on every Route53 name server").
type Verifier interface {
	Verifies() string
}

// DefaultVerifyTimeout is how long a step may take to show in a router that
// is not Paced.
const DefaultVerifyTimeout = 30 * time.Second

// Preflighter is implemented by routers that can say, before the first
// step, what would make the split go wrong (externaldns: shared owner ids,
// duplicate set-identifiers); each line is shown to the user.
type Preflighter interface {
	Preflight(ctx context.Context) ([]string, error)
}

// AllZeroRefuser is implemented by routers that never accept all-zero weights
// on a route (Route53 would then split equally, the opposite of what is meant).
type AllZeroRefuser interface {
	RefusesAllZero() bool
}

// ServedCounter is implemented by routers that count what each cluster
// served (HAProxy's stats), so a shift can report the observed share next
// to the configured weight.
type ServedCounter interface {
	// Served returns running totals per route, per cluster.
	Served(ctx context.Context) (map[string]map[string]int64, error)
}

// Share turns two Served snapshots into the percent each cluster served in
// between, per route; a route that served nothing is left out.
func Share(before, after map[string]map[string]int64) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for route, cl := range after {
		var total int64
		delta := map[string]int64{}
		for c, n := range cl {
			d := n - before[route][c]
			if d < 0 { // counters reset (a reload): count from zero
				d = n
			}
			delta[c] = d
			total += d
		}
		if total == 0 {
			continue
		}
		out[route] = map[string]float64{}
		for c, d := range delta {
			out[route][c] = 100 * float64(d) / float64(total)
		}
	}
	return out
}

// ShareString is "route: a=74.8% b=25.2%; route2: …", sorted.
func ShareString(obs map[string]map[string]float64) string {
	var parts []string
	for _, r := range sortedKeys(obs) {
		var cs []string
		for _, c := range sortedKeys(obs[r]) {
			cs = append(cs, fmt.Sprintf("%s=%.1f%%", c, obs[r][c]))
		}
		parts = append(parts, r+": "+strings.Join(cs, " "))
	}
	return strings.Join(parts, "; ")
}
