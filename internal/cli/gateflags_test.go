package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// completeShift parses args as `tandem shift` flags and runs Complete and
// Validate (the router is a socket that is never opened).
func completeShift(t *testing.T, args ...string) (*ShiftOptions, error) {
	t.Helper()
	g := &Global{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	o := &ShiftOptions{g: g, From: "blue", To: "green"}
	cmd := &cobra.Command{Use: "shift"}
	addShiftStepFlags(cmd, o)
	if err := cmd.ParseFlags(append([]string{"--router", "haproxy:///nowhere.sock?backend=clusters"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(cmd); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// unwrap returns the gates without their distinct names.
func unwrap(gates []traffic.Gate) []traffic.Gate {
	out := make([]traffic.Gate, len(gates))
	for i, g := range gates {
		out[i] = traffic.Unnamed(g)
	}
	return out
}

func TestGateFlags(t *testing.T) {
	const query = `sum by (code, app) (rate(http_errors_total{app="web",code=~"5.."}[1m])) / sum(rate(x[1m]))`
	cases := []struct {
		name  string
		args  []string
		gates []traffic.Gate
		names []string // "" skips the check of that name
	}{
		{"old form with its companion flags",
			[]string{"--gate-http", "http://lb/", "--gate-host", "app.example", "--gate-requests", "5", "--gate-max-failures", "0.1", "--gate-max-p99", "200ms"},
			[]traffic.Gate{traffic.HTTPGate{URL: "http://lb/", Host: "app.example", Status: 200, Requests: 5, MaxFailureRatio: 0.1, MaxP99: 200 * time.Millisecond}},
			[]string{"http http://lb/ (Host app.example)"}},
		{"new form",
			[]string{"--gate-http", "url=http://127.0.0.1:8080/,host=app.example,maxP99=300ms,status=204,requests=20,maxFailures=0.1"},
			[]traffic.Gate{traffic.HTTPGate{URL: "http://127.0.0.1:8080/", Host: "app.example", Status: 204, Requests: 20, MaxFailureRatio: 0.1, MaxP99: 300 * time.Millisecond}},
			nil},
		{"new form: its keys win, companion flags fill in the rest",
			[]string{"--gate-host", "other.example", "--gate-requests", "3", "--gate-http", "url=http://a/, host=app.example"},
			[]traffic.Gate{traffic.HTTPGate{URL: "http://a/", Host: "app.example", Status: 200, Requests: 3}},
			nil},
		{"two http gates, old and new form",
			[]string{"--gate-http", "http://a/", "--gate-host", "a.example", "--gate-http", "url=http://b/?x=1,host=b.example"},
			[]traffic.Gate{traffic.HTTPGate{URL: "http://a/", Host: "a.example", Status: 200, Requests: 10}, traffic.HTTPGate{URL: "http://b/?x=1", Host: "b.example", Status: 200, Requests: 10}},
			[]string{"http http://a/ (Host a.example)", "http http://b/?x=1 (Host b.example)"}},
		{"same URL and host: told apart by their settings",
			[]string{"--gate-http", "url=http://a/,host=h", "--gate-http", "url=http://a/,host=h,status=503"},
			[]traffic.Gate{traffic.HTTPGate{URL: "http://a/", Host: "h", Status: 200, Requests: 10}, traffic.HTTPGate{URL: "http://a/", Host: "h", Status: 503, Requests: 10}},
			[]string{"http http://a/ (Host h) [status=200,requests=10,maxFailures=0,maxP99=0s]", "http http://a/ (Host h) [status=503,requests=10,maxFailures=0,maxP99=0s]"}},
		{"the same gate twice: numbered",
			[]string{"--gate-http", "http://a/", "--gate-http", "http://a/", "--gate-command", "true", "--gate-command", "true"},
			[]traffic.Gate{traffic.HTTPGate{URL: "http://a/", Status: 200, Requests: 10}, traffic.HTTPGate{URL: "http://a/", Status: 200, Requests: 10}, traffic.CommandGate{Command: "true"}, traffic.CommandGate{Command: "true"}},
			[]string{"http http://a/ [status=200,requests=10,maxFailures=0,maxP99=0s] #1", "http http://a/ [status=200,requests=10,maxFailures=0,maxP99=0s] #2", "command true #1", "command true #2"}},
		{"commands are kept whole, commas and = included",
			[]string{"--gate-command", "FOO=1 ./check.sh a,b", "--gate-command", "test -f /tmp/ok"},
			[]traffic.Gate{traffic.CommandGate{Command: "FOO=1 ./check.sh a,b"}, traffic.CommandGate{Command: "test -f /tmp/ok"}},
			[]string{"command FOO=1 ./check.sh a,b", "command test -f /tmp/ok"}},
		{"prometheus old form",
			[]string{"--gate-prometheus", "http://prom:9090", "--gate-query", "up", "--gate-op", ">=", "--gate-max", "1"},
			[]traffic.Gate{traffic.PromGate{URL: "http://prom:9090", Query: "up", Op: ">=", Threshold: 1}},
			nil},
		{"prometheus with commas in the query, which comes last",
			[]string{"--gate-prometheus", "url=http://prom:9090,op=<,max=0.05,query=" + query},
			[]traffic.Gate{traffic.PromGate{URL: "http://prom:9090", Query: query, Op: "<", Threshold: 0.05}},
			[]string{"prometheus " + query + " < 0.05"}},
		{"prometheus new form: op and max from the companion flags",
			[]string{"--gate-max", "2", "--gate-prometheus", "url=http://prom:9090,query=up"},
			[]traffic.Gate{traffic.PromGate{URL: "http://prom:9090", Query: "up", Op: "<=", Threshold: 2}},
			nil},
		{"an empty occurrence is no gate",
			[]string{"--gate-http", "", "--gate-command", ""},
			[]traffic.Gate{},
			nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := completeShift(t, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.gates, unwrap(o.gates)); diff != "" {
				t.Errorf("gates (-want +got):\n%s", diff)
			}
			for i, want := range c.names {
				if want != "" && o.gates[i].Name() != want {
					t.Errorf("gate %d named %q, want %q", i, o.gates[i].Name(), want)
				}
			}
		})
	}
}

func TestGateFlagsBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string // each must be in the one line of the error
	}{
		{"unknown key", []string{"--gate-http", "url=http://a/,hots=app.example"},
			[]string{"--gate-http", `unknown key "hots"`, "valid keys: url, host, status, requests, maxFailures, maxP99"}},
		{"unknown prometheus key", []string{"--gate-prometheus", "url=http://p/,threshold=1,query=up"},
			[]string{"--gate-prometheus", `unknown key "threshold"`, "valid keys: url, query, op, max"}},
		{"bad duration", []string{"--gate-http", "url=http://a/,maxP99=fast"}, []string{"--gate-http", `maxP99 "fast"`, "duration"}},
		{"negative duration", []string{"--gate-http", "url=http://a/,maxP99=-1s"}, []string{"maxP99 -1s", "≥ 0"}},
		{"maxFailures over 1", []string{"--gate-http", "url=http://a/,maxFailures=1.5"}, []string{"--gate-http", "maxFailures 1.5", "0–1"}},
		{"maxFailures not a number", []string{"--gate-http", "url=http://a/,maxFailures=lots"}, []string{"maxFailures=lots", "want a number"}},
		{"status not a number", []string{"--gate-http", "url=http://a/,status=ok"}, []string{"status=ok", "want an integer"}},
		{"status out of range", []string{"--gate-http", "url=http://a/,status=42"}, []string{"status 42", "100–599"}},
		{"no url", []string{"--gate-http", "host=app.example"}, []string{"--gate-http", `url ""`}},
		{"old form, not a URL", []string{"--gate-http", "lb.internal"}, []string{"--gate-http", `url "lb.internal"`}},
		{"a comma inside a URL", []string{"--gate-http", "url=http://a/?ids=1,2"}, []string{`"2": want key=value`, "%2C"}},
		{"a key twice", []string{"--gate-http", "url=http://a/,url=http://b/"}, []string{`key "url" given twice`}},
		{"query not last", []string{"--gate-prometheus", "url=http://p/,query=up,max=1"}, []string{"max= must come before it", "put query= last"}},
		{"prometheus op", []string{"--gate-prometheus", "url=http://p/,op=!=,query=up"}, []string{`op "!="`}},
		{"prometheus without query", []string{"--gate-prometheus", "url=http://p/,max=1"}, []string{"query: want a PromQL"}},
		{"prometheus old form without --gate-max", []string{"--gate-prometheus", "http://p/", "--gate-query", "up"}, []string{"needs --gate-query and --gate-max"}},
		{"companion flag out of range", []string{"--gate-max-failures", "2"}, []string{"--gate-max-failures 2: want a ratio 0–1"}},
		{"companion requests", []string{"--gate-requests", "0"}, []string{"--gate-requests 0: want > 0"}},
		{"companion op", []string{"--gate-op", "~"}, []string{`--gate-op "~"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := completeShift(t, c.args...)
			if exitCode(err) != ExitBadInput {
				t.Fatalf("error %v: exit %d, want %d", err, exitCode(err), ExitBadInput)
			}
			msg := message(err)
			if strings.Contains(msg, "\n") {
				t.Errorf("message %q: want one line", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q: want %q in it", msg, w)
				}
			}
		})
	}
}

func TestSplitPairs(t *testing.T) {
	cases := []struct {
		in, rest string
		want     [][2]string
	}{
		{"url=http://a/?x=1,host=h", "", [][2]string{{"url", "http://a/?x=1"}, {"host", "h"}}},
		{"url=http://p/,query=a{b=\"c\",d=~\"e\"},op=<", "query", [][2]string{{"url", "http://p/"}, {"query", "a{b=\"c\",d=~\"e\"},op=<"}}},
		{"host=,url=http://a/,", "", [][2]string{{"host", ""}, {"url", "http://a/"}}},
	}
	for _, c := range cases {
		got, err := splitPairs(c.in, c.rest)
		if err != nil {
			t.Errorf("splitPairs(%q): %v", c.in, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("splitPairs(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}
