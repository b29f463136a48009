package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Severity is how much a finding matters.
type Severity string

// Severities, most serious first.
const (
	Error   Severity = "error"   // the move will break or cannot proceed
	Warning Severity = "warning" // the move will block or needs a decision
	Info    Severity = "info"    // worth knowing; nothing to do
)

// rank orders severities, most serious first.
func (s Severity) rank() int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	default:
		return 2
	}
}

// Finding is one thing a check found.
type Finding struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	Object   string   `json:"object"` // Kind[.group] [namespace/]name, or a cluster-wide subject
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// Evidence says where the finding comes from (managedFields, helm, last-applied, metrics, …).
	Evidence string `json:"evidence,omitempty"`
}

// Check is one preflight concern.
type Check interface {
	Name() string
	Run(ctx context.Context, env *Env) ([]Finding, error)
}

// Scoped checks say what they looked at, for the report's "checked:" line.
type Scoped interface {
	Scope(env *Env) string
}

// Checks returns every check, in report order. Each call returns fresh values.
func Checks() []Check {
	return []Check{APIs{}, Deprecated{}, CRDs{}, Addons{}, Classes{}, Webhooks{}, CIDR{}, PDB{}, Stateful{}}
}

// Names lists the names of every check.
func Names() []string {
	var out []string
	for _, c := range Checks() {
		out = append(out, c.Name())
	}
	return out
}

// Select returns the checks named (all of them for none); an unknown name is an error.
func Select(names []string) ([]Check, error) {
	all := Checks()
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]Check{}
	for _, c := range all {
		byName[c.Name()] = c
	}
	var out []Check
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		c, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("unknown check %q: want one of %s", n, strings.Join(Names(), ","))
		}
		seen[n] = true
		out = append(out, c)
	}
	return out, nil
}

// CheckResult is what one check did.
type CheckResult struct {
	Name     string `json:"name"`
	Scope    string `json:"scope,omitempty"`
	Errors   int    `json:"errors"`
	Warnings int    `json:"warnings"`
	Infos    int    `json:"infos"`
	Failed   string `json:"failed,omitempty"` // the check itself could not run
}

// Report is the outcome of a preflight run.
type Report struct {
	Source    string        `json:"source"`
	Target    string        `json:"target"`
	Resources int           `json:"resources"`
	Objects   int           `json:"objects"`
	Checks    []CheckResult `json:"checks"`
	Findings  []Finding     `json:"findings"`
}

// Errors counts error findings plus checks that failed to run.
func (r *Report) Errors() int {
	n := 0
	for _, c := range r.Checks {
		n += c.Errors
		if c.Failed != "" {
			n++
		}
	}
	return n
}

// Run runs the checks over env. A check that fails is reported in its
// CheckResult; the others still run.
func Run(ctx context.Context, env *Env, checks []Check) *Report {
	rep := &Report{Source: env.Source.Context, Target: env.Target.Context, Resources: len(env.Resources), Objects: len(env.Objects)}
	for _, c := range checks {
		res := CheckResult{Name: c.Name()}
		fs, err := c.Run(ctx, env)
		if err != nil {
			res.Failed = err.Error()
		}
		for i := range fs {
			fs[i].Check = c.Name()
			switch fs[i].Severity {
			case Error:
				res.Errors++
			case Warning:
				res.Warnings++
			default:
				res.Infos++
			}
		}
		if s, ok := c.(Scoped); ok {
			res.Scope = s.Scope(env)
		}
		rep.Checks = append(rep.Checks, res)
		rep.Findings = append(rep.Findings, fs...)
	}
	SortFindings(rep.Findings)
	return rep
}

// SortFindings orders by severity, then check, then object.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.rank() != b.Severity.rank() {
			return a.Severity.rank() < b.Severity.rank()
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Message < b.Message
	})
}
