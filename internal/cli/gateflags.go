package cli

// The --gate-* flags of shift, switchover and drill: each of --gate-http,
// --gate-prometheus and --gate-command may be given any number of times, one
// gate each.

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// gateHelp is the part of the --help of shift, switchover and drill about gates.
const gateHelp = `Gates: any number; each --gate-http, --gate-prometheus and --gate-command
may be repeated, one gate per use, all checked throughout each pause.
  --gate-http URL        with --gate-host, --gate-status, --gate-requests,
                         --gate-max-failures and --gate-max-p99 for it
  --gate-http 'url=http://lb/,host=app.example,status=200,requests=20,maxFailures=0.01,maxP99=500ms'
  --gate-prometheus URL  with --gate-query, --gate-op and --gate-max
  --gate-prometheus 'url=http://prom:9090,op=<=,max=0.5,query=sum(rate(http_errors_total{code=~"5.."}[1m])) or vector(0)'
                         (a query that returns no value fails: a gate that
                         cannot see must not pass; "or vector(0)" says that no
                         error series at all means no errors; a Prometheus
                         that cannot answer — unreachable, 5xx, 429 — is
                         tolerated for --gate-grace, the step waiting for an
                         answer, then fails)
  --gate-command './check-orders.sh --since 1m'   (the whole string, commas and all)
A value that starts with key= is the key=value form, with the keys and rules
of a shift file's gates (tandem shift -f); the companion flags (--gate-host,
--gate-query…) fill in the keys it leaves out, and its own keys win over them.
Pairs are split at every comma except in query=, which takes the rest of the
value, commas and all: put it last. Write a comma in a URL as %2C. Gates that
would be named alike in progress lines and reports are told apart by their
settings, else by #1, #2.`

// addGateFlags adds the --gate-* flags.
func addGateFlags(cmd *cobra.Command, o *ShiftOptions) {
	f := cmd.Flags()
	f.StringArrayVar(&o.GateHTTP, "gate-http", nil, "HTTP gate, repeatable, one gate each, as `URL|key=value,...`: a URL through the load balancer (--gate-host… apply) or url=URL,host=H,status=200,requests=10,maxFailures=0.01,maxP99=500ms")
	f.StringVar(&o.GateHost, "gate-host", "", "HTTP gate: Host header (the route's host); for every --gate-http without host=")
	f.IntVar(&o.GateStatus, "gate-status", 200, "HTTP gate: expected status; for every --gate-http without status=")
	f.IntVar(&o.GateRequests, "gate-requests", 10, "HTTP gate: requests per check; for every --gate-http without requests=")
	f.Float64Var(&o.GateMaxFailures, "gate-max-failures", 0, "HTTP gate: highest failure ratio that passes (0–1); for every --gate-http without maxFailures=")
	f.DurationVar(&o.GateMaxP99, "gate-max-p99", 0, "HTTP gate: highest p99 latency that passes (0: no bound); for every --gate-http without maxP99=")
	f.StringArrayVar(&o.GateCommand, "gate-command", nil, "command gate, repeatable, one gate each: a shell `command` (the whole string, commas and all); exit 0 passes")
	f.StringArrayVar(&o.GatePrometheus, "gate-prometheus", nil, "Prometheus gate, repeatable, one gate each, as `URL|key=value,...`: the base URL of the Prometheus HTTP API (--gate-query, --gate-op, --gate-max apply) or url=URL,op=<=,max=0.5,query=PROMQL (query= last: it takes the rest, commas and all)")
	f.StringVar(&o.GateQuery, "gate-query", "", "Prometheus gate: PromQL instant query; for every --gate-prometheus without query=")
	f.StringVar(&o.GateOp, "gate-op", "<=", "Prometheus gate: comparator (<, <=, >, >=, ==); for every --gate-prometheus without op=")
	f.Float64Var(&o.GateMax, "gate-max", 0, "Prometheus gate: threshold; for every --gate-prometheus without max=")
}

// flagGates turns the --gate-* flags into gates: the HTTP gates, the
// commands, then the Prometheus gates, each in the order given. An empty
// occurrence is no gate, as an empty --gate-http always was.
func (o *ShiftOptions) flagGates(cmd *cobra.Command) ([]traffic.Gate, error) {
	if err := o.checkGateCompanions(); err != nil {
		return nil, err
	}
	var gates []traffic.Gate
	for _, v := range o.GateHTTP {
		if v == "" {
			continue
		}
		g, err := o.httpFlagGate(v)
		if err != nil {
			return nil, badInput("--gate-http %q: %v", v, err)
		}
		gates = append(gates, g)
	}
	for _, v := range o.GateCommand {
		if v != "" {
			gates = append(gates, traffic.CommandGate{Command: v})
		}
	}
	for _, v := range o.GatePrometheus {
		if v == "" {
			continue
		}
		if !pairsForm.MatchString(v) && (o.GateQuery == "" || !cmd.Flags().Changed("gate-max")) {
			return nil, badInput("--gate-prometheus %s needs --gate-query and --gate-max (or the form url=URL,max=N,query=PROMQL)", v)
		}
		g, err := o.promFlagGate(v)
		if err != nil {
			return nil, badInput("--gate-prometheus %q: %v", v, err)
		}
		gates = append(gates, g)
	}
	return gates, nil
}

// checkGateCompanions refuses out-of-range companion flags, gates or not.
func (o *ShiftOptions) checkGateCompanions() error {
	if err := traffic.CheckRatio(o.GateMaxFailures); err != nil {
		return badInput("--gate-max-failures %g: %v", o.GateMaxFailures, err)
	}
	if err := traffic.CheckMaxP99(o.GateMaxP99); err != nil {
		return badInput("--gate-max-p99 %s: %v", o.GateMaxP99, err)
	}
	if o.GateRequests <= 0 {
		return badInput("--gate-requests %d: want > 0", o.GateRequests)
	}
	if err := traffic.CheckStatus(o.GateStatus); err != nil {
		return badInput("--gate-status %d: %v", o.GateStatus, err)
	}
	if err := traffic.CheckOp(o.GateOp); err != nil {
		return badInput("--gate-op %q: %v", o.GateOp, err)
	}
	return nil
}

// pairsForm tells `key=value,...` from a plain URL (whose scheme's colon
// comes before any =).
var pairsForm = regexp.MustCompile(`^\s*[A-Za-z][A-Za-z0-9]*\s*=`)

// httpFlagGate is one --gate-http: the companion flags, then its own keys.
func (o *ShiftOptions) httpFlagGate(v string) (traffic.Gate, error) {
	h := traffic.HTTPSpec{URL: v, Host: o.GateHost, Status: o.GateStatus, Requests: o.GateRequests, MaxFailures: o.GateMaxFailures}
	if o.GateMaxP99 != 0 {
		h.MaxP99 = o.GateMaxP99.String()
	}
	if pairsForm.MatchString(v) {
		h.URL = ""
		pairs, err := splitPairs(v, "")
		if err != nil {
			return nil, err
		}
		if err := setPairs(&h, pairs); err != nil {
			return nil, err
		}
	}
	return h.Gate()
}

// promFlagGate is one --gate-prometheus: the companion flags, then its own keys.
func (o *ShiftOptions) promFlagGate(v string) (traffic.Gate, error) {
	p := traffic.PromSpec{URL: v, Query: o.GateQuery, Op: o.GateOp, Max: o.GateMax}
	if pairsForm.MatchString(v) {
		p.URL = ""
		pairs, err := splitPairs(v, "query")
		if err != nil {
			return nil, err
		}
		if err := setPairs(&p, pairs); err != nil {
			return nil, err
		}
		if err := checkQueryLast(pairs, fieldKeys(&p)); err != nil {
			return nil, err
		}
	}
	return p.Gate()
}

// splitPairs splits "k=v,k=v" at each comma; the value of the key rest runs
// to the end of s, commas and all.
func splitPairs(s, rest string) ([][2]string, error) {
	var pairs [][2]string
	for s != "" {
		eq, comma := strings.IndexByte(s, '='), strings.IndexByte(s, ',')
		if eq < 0 || (comma >= 0 && comma < eq) {
			piece, _, _ := strings.Cut(s, ",")
			return nil, fmt.Errorf("%q: want key=value (a comma in a URL is %%2C)", piece)
		}
		key := strings.TrimSpace(s[:eq])
		s = s[eq+1:]
		if key == rest {
			pairs = append(pairs, [2]string{key, s})
			break
		}
		var val string
		val, s, _ = strings.Cut(s, ",")
		pairs = append(pairs, [2]string{key, val})
	}
	return pairs, nil
}

// setPairs sets the fields of dst (a pointer to a struct of string, int and
// float64 fields) named by their json names, so the keys are the shift file's.
func setPairs(dst any, pairs [][2]string) error {
	v := reflect.ValueOf(dst).Elem()
	keys := fieldKeys(dst)
	set := map[string]bool{}
	for _, p := range pairs {
		key, val := p[0], p[1]
		i := slices.Index(keys, key)
		if i < 0 {
			return fmt.Errorf("unknown key %q (valid keys: %s)", key, strings.Join(keys, ", "))
		}
		if set[key] {
			return fmt.Errorf("key %q given twice", key)
		}
		set[key] = true
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(val)
		case reflect.Int:
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return fmt.Errorf("%s=%s: want an integer", key, val)
			}
			f.SetInt(int64(n))
		case reflect.Float64:
			x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				return fmt.Errorf("%s=%s: want a number", key, val)
			}
			f.SetFloat(x)
		default:
			panic(fmt.Sprintf("setPairs: field %s of kind %s", key, f.Kind()))
		}
	}
	return nil
}

// fieldKeys lists the json names of the fields of the struct dst points to, in order.
func fieldKeys(dst any) []string {
	t := reflect.TypeOf(dst).Elem()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return keys
}

// misplacedKey finds ",key=" in a query where a PromQL label matcher
// (key="v", key=~"v") cannot be: a pair that came after query=.
var misplacedKey = regexp.MustCompile(`,\s*([A-Za-z][A-Za-z0-9]*)\s*=([^"'` + "`" + `~=]|$)`)

// checkQueryLast refuses a query that swallowed pairs meant to follow it.
func checkQueryLast(pairs [][2]string, keys []string) error {
	for _, p := range pairs {
		if p[0] != "query" {
			continue
		}
		for _, m := range misplacedKey.FindAllStringSubmatch(p[1], -1) {
			if slices.Index(keys, m[1]) >= 0 {
				return fmt.Errorf("query takes the rest of the value, so %s= must come before it: put query= last", m[1])
			}
		}
	}
	return nil
}
