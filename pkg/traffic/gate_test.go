package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPGate(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		if r.Host != "app.example" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		// Every 4th request fails: a 25 % failure ratio.
		if n.Add(1)%4 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cases := []struct {
		name     string
		gate     HTTPGate
		wantFail bool
	}{
		{"no failure allowed", HTTPGate{URL: srv.URL, Host: "app.example", Requests: 8}, true},
		{"30 percent allowed", HTTPGate{URL: srv.URL, Host: "app.example", Requests: 8, MaxFailureRatio: 0.3}, false},
		{"wrong host", HTTPGate{URL: srv.URL, Host: "other.example", Requests: 2, MaxFailureRatio: 0.3}, true},
		{"expects 404", HTTPGate{URL: srv.URL, Host: "other.example", Status: 404, Requests: 2}, false},
		{"fast enough", HTTPGate{URL: srv.URL, Host: "app.example", Requests: 4, MaxFailureRatio: 0.3, MaxP99: time.Second}, false},
		{"p99 too slow", HTTPGate{URL: srv.URL + "/slow", Host: "app.example", Requests: 3, MaxFailureRatio: 0.5, MaxP99: 10 * time.Millisecond}, true},
		{"unreachable", HTTPGate{URL: "http://127.0.0.1:1/", Requests: 2, MaxFailureRatio: 0.5}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n.Store(0)
			err := c.gate.Check(context.Background())
			if (err != nil) != c.wantFail {
				t.Errorf("Check = %v, want failure %v", err, c.wantFail)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	cases := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"none", nil, 0.99, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(append(make([]int, 98), 50, 900)...), 0.99, 50 * time.Millisecond},
		{"p50 unsorted", ms(30, 10, 20), 0.5, 20 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := percentile(c.in, c.p); got != c.want {
				t.Errorf("percentile = %s, want %s", got, c.want)
			}
		})
	}
}

func TestCommandGate(t *testing.T) {
	cases := []struct {
		cmd      string
		wantFail bool
		wantMsg  string
	}{
		{"true", false, ""},
		{"exit 3", true, "exit status 3"},
		{"echo broken >&2; false", true, "broken"},
	}
	for _, c := range cases {
		t.Run(c.cmd, func(t *testing.T) {
			err := CommandGate{Command: c.cmd}.Check(context.Background())
			if (err != nil) != c.wantFail {
				t.Fatalf("Check = %v, want failure %v", err, c.wantFail)
			}
			if err != nil && !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("error %q does not say %q", err, c.wantMsg)
			}
		})
	}
}

// A local endpoint that speaks the Prometheus HTTP API's /api/v1/query,
// which takes the query as a GET parameter or a POST form, as Prometheus does.
func promServer(t *testing.T, answers map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		body, ok := answers[r.FormValue("query")]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// An answer may start with its HTTP status: "503 {…}".
		if code, rest, ok := strings.Cut(body, " "); ok {
			if n, err := strconv.Atoi(code); err == nil {
				w.WriteHeader(n)
				body = rest
			}
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPromGate(t *testing.T) {
	srv := promServer(t, map[string]string{
		"errors":  `{"status":"success","data":{"resultType":"scalar","result":[1700000000.1,"0.02"]}}`,
		"by_pod":  `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1700000000,"0.01"]},{"metric":{"pod":"b"},"value":[1700000000,"0.2"]}]}}`,
		"empty":   `{"status":"success","data":{"resultType":"vector","result":[]}}`,
		"nan":     `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}}`,
		"matrix":  `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		"latency": `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"120"]}]}}`,
		"html":    `<html>a proxy's login page</html>`,
		"down":    `503 {"status":"error","errorType":"unavailable","error":"shutting down"}`,
	})
	cases := []struct {
		name     string
		query    string
		op       string
		max      float64
		wantFail bool
		wantMsg  string
		outage   bool // ErrUnavailable: Prometheus could not answer now
	}{
		{"scalar under", "errors", "", 0.05, false, "", false},
		{"scalar over", "errors", "", 0.01, true, `query "errors" = 0.02, want <= 0.01`, false},
		{"vector one over", "by_pod", "<=", 0.1, true, `query "by_pod" = 0.2, want <= 0.1`, false},
		{"vector all under", "by_pod", "<", 0.5, false, "", false},
		{"greater than", "latency", ">=", 100, false, "", false},
		{"no data fails", "empty", "", 1, true, `query "empty" returned no value`, false},
		{"NaN fails", "nan", "", 1, true, "= NaN", false},
		{"matrix refused", "matrix", "", 1, true, `result type "matrix": want scalar or vector`, false},
		{"query error", "syntax(", "", 1, true, "HTTP 400: bad_data: parse error", false},
		{"not prometheus", "html", "", 1, true, "HTTP 200, not a Prometheus answer", false},
		{"server error", "down", "", 1, true, "HTTP 503: unavailable: shutting down", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := PromGate{URL: srv.URL, Query: c.query, Op: c.op, Threshold: c.max}.Check(context.Background())
			if (err != nil) != c.wantFail {
				t.Errorf("Check = %v, want failure %v", err, c.wantFail)
			}
			if err != nil && !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("error %q does not say %q", err, c.wantMsg)
			}
			if errors.Is(err, ErrUnavailable) != c.outage {
				t.Errorf("error %q: unavailable %v, want %v", err, errors.Is(err, ErrUnavailable), c.outage)
			}
		})
	}
	// Nothing listening: Prometheus could not answer.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if err := (PromGate{URL: closed.URL, Query: "up"}).Check(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Prometheus not listening: %v, want ErrUnavailable", err)
	}
}

// counterFunc is an ErrorCounter a test sets.
type counterFunc func() map[string]map[string]Counts

func (f counterFunc) Errors(context.Context) (map[string]map[string]Counts, error) { return f(), nil }

func TestRouterGate(t *testing.T) {
	cur := map[string]map[string]Counts{"app": {"green": {Sent: 100, Errors: 3}}}
	g := &RouterGate{Counter: counterFunc(func() map[string]map[string]Counts { return cur }), Cluster: "green", MaxRatio: 0.05}
	if err := g.Check(context.Background()); err != nil {
		t.Fatalf("the first check takes the baseline: %v", err)
	}
	cur = map[string]map[string]Counts{"app": {"green": {Sent: 200, Errors: 5}}} // 2 of 100
	if err := g.Check(context.Background()); err != nil {
		t.Fatalf("2%% errors failed the gate: %v", err)
	}
	cur = map[string]map[string]Counts{"app": {"green": {Sent: 220, Errors: 15}}} // 10 of 20
	if err := g.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "10 of the 20") {
		t.Fatalf("50%% errors passed the gate: %v", err)
	}
	// One error among the few requests of a check at a small step is no
	// rate yet: judged once 20 have come.
	cur = map[string]map[string]Counts{"app": {"green": {Sent: 223, Errors: 16}}} // 1 of 3
	if err := g.Check(context.Background()); err != nil {
		t.Fatalf("1 error in 3 requests failed the gate before 20 came: %v", err)
	}
	cur = map[string]map[string]Counts{"app": {"green": {Sent: 240, Errors: 16}}} // 1 of 20 since the last judgement
	if err := g.Check(context.Background()); err != nil {
		t.Fatalf("1 error in 20 requests (5%%) failed the gate: %v", err)
	}
	// More failed than a whole sample allows (5% of 20: 1): judged at once.
	cur = map[string]map[string]Counts{"app": {"green": {Sent: 242, Errors: 18}}} // 2 of 2
	if err := g.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "2 of the 2") {
		t.Fatalf("every one of a few requests failing passed the gate: %v", err)
	}
	cur = map[string]map[string]Counts{"app": {"green": {Sent: 220, Errors: 15}}} // nothing sent
	if err := g.Check(context.Background()); err != nil {
		t.Fatalf("no traffic failed the gate: %v", err)
	}
}
