package inmemory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// Router holds weights in memory. It knows a fixed set of routes and
// clusters, as a real router knows its backends and servers.
type Router struct {
	mu      sync.Mutex
	weights traffic.Weights
	// NoAllZero makes SetWeights refuse a route whose weights are all 0.
	NoAllZero bool
	// Lag is how many Verify calls see the old weights after a SetWeights
	// (a router that applies changes late).
	Lag     int
	pending int
	applied traffic.Weights
	// FailSet, when set, is returned by SetWeights.
	FailSet error
	// Sets counts SetWeights calls.
	Sets int
	ttl  time.Duration
}

// New returns a router with the given initial weights (its routes and clusters are fixed).
func New(initial traffic.Weights) *Router {
	return &Router{weights: initial.Clone(), applied: initial.Clone()}
}

// WithTTL sets what TTL reports.
func (r *Router) WithTTL(d time.Duration) *Router { r.ttl = d; return r }

// Observe implements traffic.Router.
func (r *Router) Observe(_ context.Context) (traffic.Weights, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied.Clone(), nil
}

// SetWeights implements traffic.Router.
func (r *Router) SetWeights(_ context.Context, w traffic.Weights) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.FailSet != nil {
		return r.FailSet
	}
	for route, cl := range w {
		known, ok := r.weights[route]
		if !ok {
			return fmt.Errorf("%w: unknown route %q", traffic.ErrInvalid, route)
		}
		sum := 0
		for c, v := range cl {
			if _, ok := known[c]; !ok {
				return fmt.Errorf("%w: route %q has no cluster %q", traffic.ErrInvalid, route, c)
			}
			if v < 0 || v > traffic.MaxWeight {
				return fmt.Errorf("%w: weight %d out of range 0–%d", traffic.ErrInvalid, v, traffic.MaxWeight)
			}
			sum += v
		}
		for c, v := range known {
			if _, ok := cl[c]; !ok {
				sum += v
			}
		}
		if r.NoAllZero && sum == 0 {
			return fmt.Errorf("%w: route %q: all weights 0", traffic.ErrInvalid, route)
		}
	}
	r.Sets++
	for route, cl := range w {
		for c, v := range cl {
			r.weights[route][c] = v
		}
	}
	r.pending = r.Lag
	if r.pending == 0 {
		r.applied = r.weights.Clone()
	}
	return nil
}

// Verify implements traffic.Router.
func (r *Router) Verify(_ context.Context, w traffic.Weights) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending > 0 {
		r.pending--
		if r.pending == 0 {
			r.applied = r.weights.Clone()
		}
		return false, nil
	}
	return w.Covers(r.applied), nil
}

// TTL implements traffic.Router.
func (r *Router) TTL(context.Context) time.Duration { return r.ttl }

// RefusesAllZero implements traffic.AllZeroRefuser.
func (r *Router) RefusesAllZero() bool { return r.NoAllZero }
