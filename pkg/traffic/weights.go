package traffic

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid marks input the user can fix: weights out of range, bad steps,
// unknown routes or clusters. The CLI turns it into exit code 2.
var ErrInvalid = errors.New("invalid traffic input")

// MaxWeight is the largest weight of a cluster on a route (the CLI's scale);
// providers map it to their own range.
const MaxWeight = 100

// Weights are per route (a host, a backend…), per cluster, 0–100.
type Weights map[string]map[string]int

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks every weight is within 0–100 and no route sends nothing anywhere.
func (w Weights) Validate() error {
	if len(w) == 0 {
		return invalid("no routes")
	}
	for _, route := range w.Routes() {
		cl := w[route]
		if len(cl) == 0 {
			return invalid("route %q has no clusters", route)
		}
		sum := 0
		for _, c := range sortedKeys(cl) {
			v := cl[c]
			if v < 0 || v > MaxWeight {
				return invalid("route %q: weight %d for %q is out of range 0–%d", route, v, c, MaxWeight)
			}
			sum += v
		}
		if sum == 0 {
			return invalid("route %q: all weights are 0 (traffic would go nowhere); give one cluster a weight > 0", route)
		}
	}
	return nil
}

// Routes returns the route names, sorted.
func (w Weights) Routes() []string { return sortedKeys(w) }

// Clusters returns the cluster names of a route, sorted.
func (w Weights) Clusters(route string) []string { return sortedKeys(w[route]) }

// Clone returns a deep copy.
func (w Weights) Clone() Weights {
	out := make(Weights, len(w))
	for r, cl := range w {
		m := make(map[string]int, len(cl))
		for c, v := range cl {
			m[c] = v
		}
		out[r] = m
	}
	return out
}

// Covers reports whether got holds every route and cluster of w with the same weight
// (got may know more routes or clusters).
func (w Weights) Covers(got Weights) bool {
	for r, cl := range w {
		g, ok := got[r]
		if !ok {
			return false
		}
		for c, v := range cl {
			if gv, ok := g[c]; !ok || gv != v {
				return false
			}
		}
	}
	return true
}

// String is "route: a=100 b=0; route2: …", sorted, for progress lines.
func (w Weights) String() string {
	var parts []string
	for _, r := range w.Routes() {
		var cs []string
		for _, c := range sortedKeys(w[r]) {
			cs = append(cs, fmt.Sprintf("%s=%d", c, w[r][c]))
		}
		parts = append(parts, r+": "+strings.Join(cs, " "))
	}
	return strings.Join(parts, "; ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValidateFor checks w as Validate does and that it names only route and
// clusters in clusters (a router of one route: an ALB rule, an Ingress);
// what — the router's name — starts the message.
func (w Weights) ValidateFor(what, route string, clusters map[string]string) error {
	if err := w.Validate(); err != nil {
		return err
	}
	for r, cl := range w {
		if r != route {
			return fmt.Errorf("%w: %s: route %q is not %q", ErrInvalid, what, r, route)
		}
		for c := range cl {
			if _, ok := clusters[c]; !ok {
				return fmt.Errorf("%w: %s: no target group for cluster %q", ErrInvalid, what, c)
			}
		}
	}
	return nil
}
