package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// ShiftFile is `tandem shift -f shift.yaml`: everything the flags say, plus
// any number of gates. Flags given on the command line win over the file.
//
//	router: haproxy:///run/haproxy.sock?backend=app
//	from: blue
//	to: green
//	steps: [0, 5, 25, 50, 100]
//	pause: 30s              # or one per step: [10s, 30s, 30s, 1m, 1m]
//	verifyTimeout: 30s
//	smoke: {url: "http://green-lb.internal/healthz", host: app.example.com}
//	gates:
//	  - http: {url: "http://app-lb/", host: app.example.com, status: 200, requests: 20, maxFailures: 0.01, maxP99: 500ms}
//	  - prometheus: {url: "http://prometheus:9090", query: 'sum(rate(http_errors_total[1m]))', op: "<=", max: 0.5}
//	  - command: ./check-orders.sh
type ShiftFile struct {
	Router        string             `json:"router"`
	From          string             `json:"from"`
	To            string             `json:"to"`
	Steps         []int              `json:"steps"`
	Pause         any                `json:"pause"` // "30s" or ["10s", "30s"]
	VerifyTimeout string             `json:"verifyTimeout"`
	Smoke         *traffic.HTTPSpec  `json:"smoke"`
	Gates         []traffic.GateSpec `json:"gates"`
}

// readShiftFile loads path into o; flags set on the command line are kept.
// It returns the file's gates.
func (o *ShiftOptions) readShiftFile(cmd *cobra.Command, path string) ([]traffic.Gate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput("-f %s: %v", path, err)
	}
	var f ShiftFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, badInput("-f %s: %v", path, err)
	}
	set := func(flag string, dst *string, v string) {
		if v != "" && !cmd.Flags().Changed(flag) {
			*dst = v
		}
	}
	set("router", &o.Router, f.Router)
	set("from", &o.From, f.From)
	set("to", &o.To, f.To)
	if len(f.Steps) > 0 && !cmd.Flags().Changed("steps") {
		var s []string
		for _, n := range f.Steps {
			s = append(s, strconv.Itoa(n))
		}
		o.Steps = strings.Join(s, ",")
	}
	switch p := f.Pause.(type) {
	case nil:
	case string:
		set("pause", &o.Pause, p)
	case []any:
		var s []string
		for _, x := range p {
			s = append(s, fmt.Sprint(x))
		}
		set("pause", &o.Pause, strings.Join(s, ","))
	default:
		return nil, badInput("-f %s: pause: want a duration or a list of them", path)
	}
	if f.VerifyTimeout != "" && !cmd.Flags().Changed("verify-timeout") {
		d, err := time.ParseDuration(f.VerifyTimeout)
		if err != nil {
			return nil, badInput("-f %s: verifyTimeout: %v", path, err)
		}
		o.VerifyTimeout = d
	}
	if f.Smoke != nil {
		set("smoke", &o.Smoke, f.Smoke.URL)
		set("smoke-host", &o.SmokeHost, f.Smoke.Host)
	}
	var gates []traffic.Gate
	for i, g := range f.Gates {
		gate, err := g.Gate()
		if err != nil {
			return nil, badInput("-f %s: gates[%d]: %v", path, i, err)
		}
		gates = append(gates, gate)
	}
	return gates, nil
}
