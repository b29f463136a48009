package traffic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// ErrUnavailable is wrapped by a gate's error when it could not measure at
// all — its source unreachable, overloaded or failing (a Prometheus
// restarting, answering 503) — as opposed to measuring a step unhealthy. A
// Shifter tolerates it for GateGrace; a step never passes on it.
var ErrUnavailable = errors.New("could not measure")

// Gate judges whether the current step is healthy.
type Gate interface {
	// Name says what the gate checks, for reports.
	Name() string
	// Check returns nil when the step may go on; an error says why not.
	Check(ctx context.Context) error
}

// HTTPGate sends Requests requests to URL (through the load balancer, with
// the route's Host header) and fails when more than MaxFailureRatio of them
// do not answer Status, or when their p99 latency is above MaxP99.
type HTTPGate struct {
	URL             string
	Host            string
	Status          int           // default 200
	Requests        int           // default 10
	MaxFailureRatio float64       // 0: every request must pass
	MaxP99          time.Duration // 0: no latency bound
	Timeout         time.Duration
	Client          *http.Client
}

// Name implements Gate.
func (g HTTPGate) Name() string {
	if g.Host != "" {
		return fmt.Sprintf("http %s (Host %s)", Redact(g.URL), g.Host)
	}
	return "http " + Redact(g.URL)
}

// Check implements Gate.
func (g HTTPGate) Check(ctx context.Context) error {
	status, n := g.Status, g.Requests
	if status == 0 {
		status = http.StatusOK
	}
	if n <= 0 {
		n = 10
	}
	client := g.Client
	if client == nil {
		timeout := g.Timeout
		if timeout == 0 {
			timeout = 2 * time.Second
		}
		client = &http.Client{Timeout: timeout}
	}
	failed := 0
	var last string
	latencies := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL, nil)
		if err != nil {
			return fmt.Errorf("gate %s: %w", g.Name(), err)
		}
		if g.Host != "" {
			req.Host = g.Host
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			last = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		latencies = append(latencies, time.Since(start))
		if resp.StatusCode != status {
			failed++
			last = fmt.Sprintf("status %d, want %d", resp.StatusCode, status)
		}
	}
	if ratio := float64(failed) / float64(n); ratio > g.MaxFailureRatio {
		return fmt.Errorf("%d of %d requests failed (max ratio %.2f); last: %s", failed, n, g.MaxFailureRatio, last)
	}
	if p99 := percentile(latencies, 0.99); g.MaxP99 > 0 && p99 > g.MaxP99 {
		return fmt.Errorf("p99 latency %s over %d requests, want ≤ %s", p99.Round(time.Millisecond), len(latencies), g.MaxP99)
	}
	return nil
}

// percentile is the nearest-rank percentile p (0–1) of ds; 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// CommandGate runs a shell command; exit 0 passes.
type CommandGate struct {
	Command string
}

// Name implements Gate.
func (g CommandGate) Name() string { return "command " + Redact(g.Command) }

// Check implements Gate.
func (g CommandGate) Check(ctx context.Context) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", g.Command)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 200 {
			msg = msg[len(msg)-200:]
		}
		if msg != "" {
			return fmt.Errorf("%v: %s", err, msg)
		}
		return err
	}
	return nil
}
