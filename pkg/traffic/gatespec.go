package traffic

// The gates of a shift as a shift file, a key=value --gate-* flag or a
// Switchover resource says them: one set of field names, one set of rules,
// one conversion into gates.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"net/url"
)

// GateSpec is one gate of the file: exactly one of its fields.
type GateSpec struct {
	HTTP       *HTTPSpec `json:"http"`
	Prometheus *PromSpec `json:"prometheus"`
	Command    string    `json:"command"`
}

// HTTPSpec is an HTTP gate (or the smoke test). Its json names are also the
// keys of `--gate-http key=value,...`.
type HTTPSpec struct {
	URL         string  `json:"url"`
	Host        string  `json:"host"`
	Status      int     `json:"status"`
	Requests    int     `json:"requests"`
	MaxFailures float64 `json:"maxFailures"`
	MaxP99      string  `json:"maxP99"`
}

// PromSpec is a Prometheus gate. Its json names are also the keys of
// `--gate-prometheus key=value,...`.
type PromSpec struct {
	URL   string  `json:"url"`
	Query string  `json:"query"`
	Op    string  `json:"op"`
	Max   float64 `json:"max"`
}

// gate checks g and makes it a traffic gate; an error starts with the
// field's path (http.maxP99 …).
func (g GateSpec) Gate() (Gate, error) {
	var gates []Gate
	if g.HTTP != nil {
		h, err := g.HTTP.Gate()
		if err != nil {
			return nil, fmt.Errorf("http.%w", err)
		}
		gates = append(gates, h)
	}
	if g.Prometheus != nil {
		p, err := g.Prometheus.Gate()
		if err != nil {
			return nil, fmt.Errorf("prometheus.%w", err)
		}
		gates = append(gates, p)
	}
	if g.Command != "" {
		gates = append(gates, CommandGate{Command: g.Command})
	}
	if len(gates) != 1 {
		return nil, errors.New("want exactly one of http, prometheus, command")
	}
	return gates[0], nil
}

// gate checks h and makes it an HTTP gate; an error starts with the field's name.
func (h HTTPSpec) Gate() (HTTPGate, error) {
	if !IsHTTPURL(h.URL) {
		return HTTPGate{}, fmt.Errorf("url %q: want an http:// or https:// URL", h.URL)
	}
	var p99 time.Duration
	if h.MaxP99 != "" {
		d, err := time.ParseDuration(h.MaxP99)
		if err != nil {
			return HTTPGate{}, fmt.Errorf("maxP99 %q: want a duration such as 500ms", h.MaxP99)
		}
		if err := CheckMaxP99(d); err != nil {
			return HTTPGate{}, fmt.Errorf("maxP99 %s: %w", h.MaxP99, err)
		}
		p99 = d
	}
	if err := CheckRatio(h.MaxFailures); err != nil {
		return HTTPGate{}, fmt.Errorf("maxFailures %g: %w", h.MaxFailures, err)
	}
	if err := CheckStatus(h.Status); err != nil {
		return HTTPGate{}, fmt.Errorf("status %d: %w", h.Status, err)
	}
	if h.Requests < 0 {
		return HTTPGate{}, fmt.Errorf("requests %d: want > 0 (0 or none: 10)", h.Requests)
	}
	return HTTPGate{URL: h.URL, Host: h.Host, Status: h.Status, Requests: h.Requests, MaxFailureRatio: h.MaxFailures, MaxP99: p99}, nil
}

// gate checks p and makes it a Prometheus gate; an error starts with the field's name.
func (p PromSpec) Gate() (PromGate, error) {
	op := p.Op
	if op == "" {
		op = "<="
	}
	switch {
	case !IsHTTPURL(p.URL):
		return PromGate{}, fmt.Errorf("url %q: want an http:// or https:// URL", p.URL)
	case strings.TrimSpace(p.Query) == "":
		return PromGate{}, errors.New("query: want a PromQL instant query")
	}
	if err := CheckOp(op); err != nil {
		return PromGate{}, fmt.Errorf("op %q: %w", op, err)
	}
	return PromGate{URL: p.URL, Query: p.Query, Op: op, Threshold: p.Max}, nil
}

// The rules of single values, shared by the gates and the companion flags.

// CheckRatio allows a ratio 0–1 (a gate's maxFailures).
func CheckRatio(v float64) error {
	if v < 0 || v > 1 {
		return errors.New("want a ratio 0–1")
	}
	return nil
}

// CheckMaxP99 allows a duration ≥ 0 (0: no latency limit).
func CheckMaxP99(d time.Duration) error {
	if d < 0 {
		return errors.New("want a duration ≥ 0")
	}
	return nil
}

// CheckStatus allows 0: the gate's default, 200.
func CheckStatus(s int) error {
	if s != 0 && (s < 100 || s > 599) {
		return errors.New("want an HTTP status 100–599")
	}
	return nil
}

// CheckOp allows the comparisons of a Prometheus gate: <, <=, >, >=, ==.
func CheckOp(op string) error {
	if !ValidOp(op) {
		return errors.New("want <, <=, >, >= or ==")
	}
	return nil
}

// namedGate is a gate under another name.
type namedGate struct {
	Gate
	name string
}

// Name implements Gate.
func (g namedGate) Name() string { return g.name }

// DistinctNames renames gates that would print the same name, so that
// progress lines and reports say which one failed: HTTP gates first get
// their settings in the name, then any name still shared gets #1, #2, ….
func DistinctNames(gates []Gate) []Gate {
	names := make([]string, len(gates))
	for i, g := range gates {
		names[i] = g.Name()
	}
	counts := countNames(names)
	for i, g := range gates {
		if h, ok := g.(HTTPGate); ok && counts[names[i]] > 1 {
			names[i] = httpGateDetail(h)
		}
	}
	counts, seen := countNames(names), map[string]int{}
	out := make([]Gate, len(gates))
	for i, g := range gates {
		name := names[i]
		if counts[name] > 1 {
			seen[name]++
			name = fmt.Sprintf("%s #%d", name, seen[name])
		}
		out[i] = g
		if name != g.Name() {
			out[i] = namedGate{Gate: g, name: name}
		}
	}
	return out
}

func countNames(names []string) map[string]int {
	n := map[string]int{}
	for _, s := range names {
		n[s]++
	}
	return n
}

// httpGateDetail is an HTTP gate's name with its settings, defaults filled in.
func httpGateDetail(h HTTPGate) string {
	status, requests := h.Status, h.Requests
	if status == 0 {
		status = 200
	}
	if requests <= 0 {
		requests = 10
	}
	return fmt.Sprintf("%s [status=%d,requests=%d,maxFailures=%g,maxP99=%s]", h.Name(), status, requests, h.MaxFailureRatio, h.MaxP99)
}

// IsHTTPURL says whether s is an absolute http:// or https:// URL.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Unnamed is g without the name DistinctNames gave it.
func Unnamed(g Gate) Gate {
	if n, ok := g.(namedGate); ok {
		return n.Gate
	}
	return g
}
