package traffic

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultSteps are the shares of the target cluster, in percent, step by step.
var DefaultSteps = []int{0, 5, 25, 50, 100}

// Step is one stage of a shift: the target's share and the weights that give it.
type Step struct {
	Index   int     `json:"index"`   // 0-based
	Percent int     `json:"percent"` // the target's share
	Weights Weights `json:"weights"`
}

// Key names the step in the journal.
func (s Step) Key() string { return "step-" + strconv.Itoa(s.Percent) }

// Plan is a whole shift: where it starts (the last safe weights) and its steps.
type Plan struct {
	Routes []string `json:"routes"`
	From   string   `json:"from"`
	To     string   `json:"to"`
	Start  Weights  `json:"start"`
	Steps  []Step   `json:"steps"`
}

// ParseSteps reads "10,25,50,100".
func ParseSteps(s string) ([]int, error) {
	var steps []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "%"))
		if f == "" {
			return nil, invalid("steps %q: empty step; want e.g. 10,25,50,100", s)
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, invalid("steps %q: %q is not a whole number; want e.g. 10,25,50,100", s, f)
		}
		steps = append(steps, n)
	}
	return steps, ValidateSteps(steps)
}

// ValidateSteps wants 0–100, strictly increasing.
func ValidateSteps(steps []int) error {
	if len(steps) == 0 {
		return invalid("no steps; want e.g. 10,25,50,100")
	}
	for i, p := range steps {
		if p < 0 || p > MaxWeight {
			return invalid("step %d%% is out of range 0–%d", p, MaxWeight)
		}
		if i > 0 && p <= steps[i-1] {
			return invalid("steps must increase: %d%% after %d%%", p, steps[i-1])
		}
	}
	return nil
}

// NewPlan moves every route from cluster from to cluster to: it starts at
// from=100, to=0 and gives to each step's percent.
func NewPlan(routes []string, from, to string, steps []int) (Plan, error) {
	if len(routes) == 0 {
		return Plan{}, invalid("no routes to shift")
	}
	if from == "" || to == "" || from == to {
		return Plan{}, invalid("--from %q and --to %q must name two different clusters", from, to)
	}
	if err := ValidateSteps(steps); err != nil {
		return Plan{}, err
	}
	p := Plan{Routes: routes, From: from, To: to, Start: split(routes, from, to, 0)}
	for i, pct := range steps {
		w := split(routes, from, to, pct)
		if err := w.Validate(); err != nil {
			return Plan{}, err
		}
		p.Steps = append(p.Steps, Step{Index: i, Percent: pct, Weights: w})
	}
	return p, nil
}

// Key identifies the plan in the journal: a re-run resumes only the same plan.
func (p Plan) Key() string {
	pcts := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		pcts[i] = strconv.Itoa(s.Percent)
	}
	return fmt.Sprintf("%s>%s routes=%s steps=%s", p.From, p.To, strings.Join(p.Routes, ","), strings.Join(pcts, ","))
}

func split(routes []string, from, to string, pct int) Weights {
	w := Weights{}
	for _, r := range routes {
		w[r] = map[string]int{from: MaxWeight - pct, to: pct}
	}
	return w
}

// ParsePauses reads "30s" (every step) or "10s,30s,1m,0s" (one per step).
func ParsePauses(s string, steps int) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, invalid("pause %q: want a duration ≥ 0 like 30s, or one per step like 10s,30s,1m", f)
		}
		out = append(out, d)
	}
	if len(out) == 1 {
		for len(out) < steps {
			out = append(out, out[0])
		}
	}
	if len(out) != steps {
		return nil, invalid("%d pauses for %d steps: give one pause, or one per step", len(out), steps)
	}
	return out, nil
}
