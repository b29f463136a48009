package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// PromGate runs an instant PromQL query against a Prometheus HTTP API
// (through client_golang's api/prometheus/v1) and compares each returned
// value with Threshold using Op ("<=" by default).
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
	return fmt.Sprintf("prometheus %s %s %g", Redact(g.Query), g.op(), g.Threshold)
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

// Check implements Gate.
func (g PromGate) Check(ctx context.Context) error {
	values, err := g.query(ctx)
	if err != nil {
		return fmt.Errorf("gate %s: %w", g.Name(), err)
	}
	// No value is a measurement (the series the query names are not
	// there), not an outage: it fails at once.
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

// query runs the instant query through client_golang's v1 API and returns
// every sample's value.
func (g PromGate) query(ctx context.Context) ([]float64, error) {
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	c, err := api.NewClient(api.Config{Address: g.URL, Client: client})
	if err != nil {
		return nil, err
	}
	sc := &statusClient{Client: c}
	val, _, err := promv1.NewAPI(sc).Query(ctx, g.Query, time.Time{})
	if err != nil {
		if outage(sc.code, err) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, promError(sc.code, err))
		}
		return nil, promError(sc.code, err)
	}
	switch v := val.(type) {
	case *model.Scalar:
		return []float64{float64(v.Value)}, nil
	case model.Vector:
		var out []float64
		for _, s := range v {
			out = append(out, float64(s.Value))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("result type %q: want scalar or vector", val.Type())
	}
}

// outage says whether a query's error means Prometheus could not answer
// now (unreachable, timed out, a 5xx from it or a proxy before it, 429):
// tried again, it may answer. A query Prometheus refuses (bad_data,
// execution errors, a 4xx) is the gate's own fault and fails at once.
func outage(code int, err error) bool {
	var e *promv1.Error
	if !errors.As(err, &e) {
		return true // the transport's: connection refused, reset, a client timeout
	}
	switch e.Type {
	case promv1.ErrServer, promv1.ErrTimeout, promv1.ErrCanceled:
		return true
	case promv1.ErrClient, promv1.ErrBadResponse:
		return code == http.StatusTooManyRequests || code >= 500
	}
	return false
}

// statusClient remembers the HTTP status of the last answer, for errors
// that name it.
type statusClient struct {
	api.Client
	code int
}

// Do implements api.Client.
func (c *statusClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	resp, body, err := c.Client.Do(ctx, req)
	if resp != nil {
		c.code = resp.StatusCode
	}
	return resp, body, err
}

// promError words the v1 API's errors: Prometheus's own (errorType: error)
// with the HTTP status, or an answer that is not Prometheus's.
func promError(code int, err error) error {
	var e *promv1.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Type {
	case promv1.ErrBadResponse:
		return fmt.Errorf("HTTP %d, not a Prometheus answer: %s", code, e.Msg)
	case promv1.ErrClient, promv1.ErrServer:
		// A status Prometheus does not use for its errors: the body is
		// read here, as Prometheus's error or as something else.
		var body struct {
			Status    string `json:"status"`
			ErrorType string `json:"errorType"`
			Error     string `json:"error"`
		}
		if jerr := json.Unmarshal([]byte(e.Detail), &body); jerr != nil {
			return fmt.Errorf("HTTP %d, not a Prometheus answer: %w", code, jerr)
		} else if body.Status != "success" {
			return fmt.Errorf("HTTP %d: %s: %s", code, body.ErrorType, body.Error)
		}
		return fmt.Errorf("HTTP %d: %s", code, e.Msg)
	}
	return fmt.Errorf("HTTP %d: %s: %s", code, e.Type, e.Msg)
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
