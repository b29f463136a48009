package providertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// Run runs the suite. newRouter returns a router whose routes include routes
// and whose every route has the clusters given (at least two); each subtest
// gets a fresh router.
func Run(t *testing.T, newRouter func(t *testing.T) traffic.Router, routes, clusters []string) {
	t.Helper()
	if len(routes) == 0 || len(clusters) < 2 {
		t.Fatalf("providertest: need at least one route and two clusters, got %v %v", routes, clusters)
	}
	a, b := clusters[0], clusters[1]
	split := func(wa, wb int) traffic.Weights {
		w := traffic.Weights{}
		for _, r := range routes {
			w[r] = map[string]int{a: wa, b: wb}
		}
		return w
	}
	ctx := context.Background()

	t.Run("round trips", func(t *testing.T) {
		r := newRouter(t)
		cases := []struct{ a, b int }{{100, 0}, {90, 10}, {50, 50}, {25, 75}, {0, 100}, {1, 99}, {100, 0}}
		for _, c := range cases {
			w := split(c.a, c.b)
			if err := r.SetWeights(ctx, w); err != nil {
				t.Fatalf("SetWeights(%s): %v", w, err)
			}
			if err := traffic.VerifyWithin(ctx, r, w, 10*time.Second); err != nil {
				t.Fatalf("Verify(%s): %v", w, err)
			}
			got, err := r.Observe(ctx)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if !w.Covers(got) {
				t.Fatalf("Observe after SetWeights(%s) = %s", w, got)
			}
		}
	})

	t.Run("verify says no to other weights", func(t *testing.T) {
		r := newRouter(t)
		w := split(70, 30)
		if err := r.SetWeights(ctx, w); err != nil {
			t.Fatal(err)
		}
		if err := traffic.VerifyWithin(ctx, r, w, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		ok, err := r.Verify(ctx, split(30, 70))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Fatal("Verify(30/70) = true while the router has 70/30")
		}
	})

	t.Run("out of range refused and nothing changes", func(t *testing.T) {
		cases := []struct{ a, b int }{{140, 0}, {-1, 50}, {50, 101}}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%d/%d", c.a, c.b), func(t *testing.T) {
				r := newRouter(t)
				before := split(60, 40)
				if err := r.SetWeights(ctx, before); err != nil {
					t.Fatal(err)
				}
				if err := traffic.VerifyWithin(ctx, r, before, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				if err := r.SetWeights(ctx, split(c.a, c.b)); err == nil {
					t.Fatalf("SetWeights(%d/%d) accepted", c.a, c.b)
				}
				got, err := r.Observe(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !before.Covers(got) {
					t.Fatalf("after a refused SetWeights: %s, want %s", got, before)
				}
			})
		}
	})

	t.Run("unknown route or cluster refused", func(t *testing.T) {
		r := newRouter(t)
		bad := []traffic.Weights{
			{"no-such-route-xyz": {a: 100, b: 0}},
			{routes[0]: {a: 50, "no-such-cluster-xyz": 50}},
		}
		for _, w := range bad {
			if err := r.SetWeights(ctx, w); err == nil {
				t.Errorf("SetWeights(%s) accepted", w)
			}
		}
	})

	t.Run("TTL is not negative", func(t *testing.T) {
		if ttl := newRouter(t).TTL(ctx); ttl < 0 {
			t.Fatalf("TTL = %s", ttl)
		}
	})

	if z, ok := newRouter(t).(traffic.AllZeroRefuser); ok && z.RefusesAllZero() {
		t.Run("never all zero", func(t *testing.T) {
			r := newRouter(t)
			if err := r.SetWeights(ctx, split(0, 0)); err == nil {
				t.Fatal("SetWeights(0/0) accepted by a router that refuses all-zero weights")
			}
		})
	}
}
