package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PromGate runs an instant PromQL query against a Prometheus HTTP API and
// compares each returned value with Threshold using Op ("<=" by default).
// No value at all fails: a gate that cannot see must not pass.
type PromGate struct {
	URL       string // base URL, e.g. http://prometheus:9090
	Query     string
	Op        string // "<", "<=", ">", ">=", "=="
	Threshold float64
	Client    *http.Client
}

// Name implements Gate.
func (g PromGate) Name() string {
	return fmt.Sprintf("prometheus %s %s %g", g.Query, g.op(), g.Threshold)
}

func (g PromGate) op() string {
	if g.Op == "" {
		return "<="
	}
	return g.Op
}

// ValidOp reports whether op is a comparator PromGate knows.
func ValidOp(op string) bool {
	switch op {
	case "", "<", "<=", ">", ">=", "==":
		return true
	}
	return false
}

type promResponse struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// Check implements Gate.
func (g PromGate) Check(ctx context.Context) error {
	values, err := g.query(ctx)
	if err != nil {
		return fmt.Errorf("gate %s: %w", g.Name(), err)
	}
	if len(values) == 0 {
		return fmt.Errorf("query %q returned no value", g.Query)
	}
	for _, v := range values {
		if !compare(v, g.op(), g.Threshold) {
			return fmt.Errorf("query %q = %g, want %s %g", g.Query, v, g.op(), g.Threshold)
		}
	}
	return nil
}

func (g PromGate) query(ctx context.Context) ([]float64, error) {
	u := strings.TrimRight(g.URL, "/") + "/api/v1/query?" + url.Values{"query": {g.Query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	var pr promResponse
	if err := json.Unmarshal(body, &pr); err != nil {
		return nil, fmt.Errorf("HTTP %d, not a Prometheus answer: %w", resp.StatusCode, err)
	}
	if pr.Status != "success" {
		return nil, fmt.Errorf("HTTP %d: %s: %s", resp.StatusCode, pr.ErrorType, pr.Error)
	}
	switch pr.Data.ResultType {
	case "scalar":
		var sample [2]any
		if err := json.Unmarshal(pr.Data.Result, &sample); err != nil {
			return nil, fmt.Errorf("scalar result: %w", err)
		}
		v, err := sampleValue(sample)
		if err != nil {
			return nil, err
		}
		return []float64{v}, nil
	case "vector":
		var vec []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(pr.Data.Result, &vec); err != nil {
			return nil, fmt.Errorf("vector result: %w", err)
		}
		var out []float64
		for _, s := range vec {
			v, err := sampleValue(s.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("result type %q: want scalar or vector", pr.Data.ResultType)
	}
}

// sampleValue reads [timestamp, "value"]: Prometheus sends the value as a string.
func sampleValue(s [2]any) (float64, error) {
	str, ok := s[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", s[1])
	}
	return strconv.ParseFloat(str, 64)
}

func compare(v float64, op string, t float64) bool {
	switch op {
	case "<":
		return v < t
	case "<=":
		return v <= t
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "==":
		return v == t
	}
	return false
}
