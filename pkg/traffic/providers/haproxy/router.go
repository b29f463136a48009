package haproxy

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// Config says which HAProxy and which of its backends a Router drives.
type Config struct {
	Socket    string            // admin socket (level admin)
	Backends  []string          // one route per backend
	Servers   map[string]string // cluster → server name; empty: server names are cluster names
	StateFile string            // server-state-file to rewrite after each change; "" = don't persist
}

// ParseURL reads haproxy:///run/haproxy.sock?backend=app[,app2][&state=/var/lib/haproxy/state][&blue=srv1&green=srv2].
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%w: router %q: %v", traffic.ErrInvalid, raw, err)
	}
	if u.Scheme != "haproxy" {
		return Config{}, fmt.Errorf("%w: router %q: want haproxy:///path/to/admin.sock?backend=NAME", traffic.ErrInvalid, raw)
	}
	if u.Host != "" || u.Path == "" {
		return Config{}, fmt.Errorf("%w: router %q: want an absolute socket path, haproxy:///path/to/admin.sock?backend=NAME", traffic.ErrInvalid, raw)
	}
	c := Config{Socket: u.Path, Servers: map[string]string{}}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "backend":
			for _, b := range strings.Split(v, ",") {
				if b = strings.TrimSpace(b); b != "" {
					c.Backends = append(c.Backends, b)
				}
			}
		case "state":
			c.StateFile = v
		default:
			c.Servers[k] = v
		}
	}
	if len(c.Backends) == 0 {
		return Config{}, fmt.Errorf("%w: router %q: no backend; add ?backend=NAME", traffic.ErrInvalid, raw)
	}
	return c, nil
}

// Preflight implements traffic.Preflighter: the server-state file's
// directory must take a file, or every step would fail after changing the
// runtime weights (and a rollback could not be said verified).
func (r *Router) Preflight(context.Context) ([]string, error) {
	if r.cfg.StateFile == "" {
		return nil, nil
	}
	f, err := os.CreateTemp(filepath.Dir(r.cfg.StateFile), ".tandem-state-check-*")
	if err != nil {
		return nil, fmt.Errorf("%w: state=%s: the server-state file cannot be written there (%v)", traffic.ErrInvalid, r.cfg.StateFile, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil, nil
}

// Router sets server weights in HAProxy backends through the runtime API.
// HAProxy weights run 0–256; tandem's 0–100 are written as they are.
type Router struct {
	rt  Runtime
	cfg Config
}

// New returns a Router for cfg.
func New(cfg Config) *Router { return &Router{rt: Runtime{Socket: cfg.Socket}, cfg: cfg} }

func (r *Router) server(cluster string) string {
	if s, ok := r.cfg.Servers[cluster]; ok {
		return s
	}
	return cluster
}

func (r *Router) cluster(server string) (string, bool) {
	if len(r.cfg.Servers) == 0 {
		return server, true
	}
	for c, s := range r.cfg.Servers {
		if s == server {
			return c, true
		}
	}
	return "", false
}

// Observe implements traffic.Router: the runtime weights of every server of the backends.
func (r *Router) Observe(ctx context.Context) (traffic.Weights, error) {
	w := traffic.Weights{}
	for _, b := range r.cfg.Backends {
		states, err := r.rt.Servers(ctx, b)
		if err != nil {
			return nil, err
		}
		if len(states) == 0 {
			return nil, fmt.Errorf("haproxy: backend %q has no servers (or does not exist)", b)
		}
		w[b] = map[string]int{}
		have := map[string]bool{}
		for _, s := range states {
			have[s.Server] = true
			if c, ok := r.cluster(s.Server); ok {
				w[b][c] = s.Weight
			}
		}
		// A cluster the URL maps to a server the backend lacks (a typo, a
		// key the URL does not know) would read as a backend of no
		// cluster.
		for _, c := range slices.Sorted(maps.Keys(r.cfg.Servers)) {
			if srv := r.cfg.Servers[c]; !have[srv] {
				return nil, fmt.Errorf("%w: backend %q has no server %q (the router URL's %s=%s; it knows backend, state and CLUSTER=SERVER); its servers: %s",
					traffic.ErrInvalid, b, srv, c, srv, strings.Join(slices.Sorted(maps.Keys(have)), ", "))
			}
		}
	}
	return w, nil
}

type change struct {
	backend, server string
	from, to        int
}

// SetWeights implements traffic.Router. Raised weights are written before
// lowered ones, so a backend never passes through all-zero between two
// commands; then the state file is rewritten.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights) error {
	cur, err := r.Observe(ctx)
	if err != nil {
		return err
	}
	var changes []change
	for _, b := range w.Routes() {
		have, ok := cur[b]
		if !ok {
			return fmt.Errorf("%w: route %q is not a backend this router drives (%s)", traffic.ErrInvalid, b, strings.Join(r.cfg.Backends, ","))
		}
		for c, v := range w[b] {
			old, ok := have[c]
			if !ok {
				return fmt.Errorf("%w: backend %q has no server %q for cluster %q", traffic.ErrInvalid, b, r.server(c), c)
			}
			if v < 0 || v > traffic.MaxWeight {
				return fmt.Errorf("%w: backend %q: weight %d for %q is out of range 0–%d", traffic.ErrInvalid, b, v, c, traffic.MaxWeight)
			}
			changes = append(changes, change{backend: b, server: r.server(c), from: old, to: v})
		}
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].to-changes[i].from > changes[j].to-changes[j].from })
	for _, ch := range changes {
		if err := r.rt.SetWeight(ctx, ch.backend, ch.server, ch.to); err != nil {
			return err
		}
	}
	if r.cfg.StateFile != "" {
		return r.rt.SaveState(ctx, r.cfg.StateFile)
	}
	return nil
}

// Verify implements traffic.Router: the runtime state read back holds w.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	got, err := r.Observe(ctx)
	if err != nil {
		return false, err
	}
	return w.Covers(got), nil
}

// TTL implements traffic.Router: a proxy switches at once.
func (r *Router) TTL(context.Context) time.Duration { return 0 }

// Served implements traffic.ServedCounter: sessions per server since HAProxy started.
func (r *Router) Served(ctx context.Context) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	for _, b := range r.cfg.Backends {
		totals, err := r.rt.ServedTotals(ctx, b)
		if err != nil {
			return nil, err
		}
		out[b] = map[string]int64{}
		for srv, n := range totals {
			if c, ok := r.cluster(srv); ok {
				out[b][c] = n
			}
		}
	}
	return out, nil
}

// Errors implements traffic.ErrorCounter: per route (backend) and cluster
// (server), the sessions HAProxy sent and those that failed there.
func (r *Router) Errors(ctx context.Context) (map[string]map[string]traffic.Counts, error) {
	out := map[string]map[string]traffic.Counts{}
	for _, b := range r.cfg.Backends {
		counts, err := r.rt.ServerCounts(ctx, b)
		if err != nil {
			return nil, err
		}
		out[b] = map[string]traffic.Counts{}
		for srv, c := range counts {
			if cl, ok := r.cluster(srv); ok {
				out[b][cl] = traffic.Counts{Sent: c.Sent, Errors: c.Errors}
			}
		}
	}
	return out, nil
}
