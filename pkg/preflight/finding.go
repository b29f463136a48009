package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Severity is how much a finding matters.
type Severity string

// Severities, most serious first.
const (
	Error   Severity = "error"   // the move will break or cannot proceed
	Warning Severity = "warning" // the move will block or needs a decision
	Info    Severity = "info"    // worth knowing; nothing to do
)

// ParseSeverity reads a severity as users type it (error, warning, info).
func ParseSeverity(s string) (Severity, error) {
	switch sev := Severity(strings.ToLower(strings.TrimSpace(s))); sev {
	case Error, Warning, Info:
		return sev, nil
	}
	return "", fmt.Errorf("unknown severity %q: want error, warning or info", s)
}

// AtLeast says whether s is as serious as other or more.
func (s Severity) AtLeast(other Severity) bool { return s.rank() <= other.rank() }

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
	return []Check{APIs{}, Deprecated{}, CRDs{}, Addons{}, Classes{}, Webhooks{}, CIDR{}, PDB{}, Stateful{}, Owners{}, Identity{}, Keys{}, Capacity{}, Exposure{}}
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

// CheckUnchecked is the Check of the findings that name what could not be
// read: the report is incomplete, which is not the same as a blocker.
const CheckUnchecked = "unchecked"

// Unchecked is a resource (or a whole group/version) of the source that
// could not be read, so no check saw its objects.
type Unchecked struct {
	Resource string `json:"resource"`
	Reason   string `json:"reason"`
}

// ClusterInfo says which cluster a report is about.
type ClusterInfo struct {
	Context  string `json:"context"`
	Server   string `json:"server,omitempty"`
	Version  string `json:"version,omitempty"`
	Identity string `json:"identity,omitempty"` // kube-system namespace uid
}

// Report is the outcome of a preflight run.
type Report struct {
	Source    string        `json:"source"`
	Target    string        `json:"target"`
	Clusters  []ClusterInfo `json:"clusters,omitempty"` // the source, then the target
	Time      time.Time     `json:"time"`
	Resources int           `json:"resources"`
	Objects   int           `json:"objects"`
	Checks    []CheckResult `json:"checks"`
	Findings  []Finding     `json:"findings"`
	Unchecked []Unchecked   `json:"unchecked,omitempty"`
}

// Errors counts error findings.
func (r *Report) Errors() int { return r.Blocking(Error) }

// Blocking counts the findings at sev or more serious, leaving out what
// could not be checked (that is Incomplete, not a finding about the move).
func (r *Report) Blocking(sev Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Check != CheckUnchecked && f.Severity.AtLeast(sev) {
			n++
		}
	}
	return n
}

// Incomplete says whether something could not be looked at: a resource
// that could not be read, or a check that could not run.
func (r *Report) Incomplete() bool {
	if len(r.Unchecked) > 0 {
		return true
	}
	for _, c := range r.Checks {
		if c.Failed != "" {
			return true
		}
	}
	return false
}

// Run runs the checks over env. A check that fails is reported in its
// CheckResult; the others still run. What Load could not read becomes a
// finding of its own (CheckUnchecked).
func Run(ctx context.Context, env *Env, checks []Check) *Report {
	rep := &Report{Source: env.Source.Context, Target: env.Target.Context, Clusters: env.Clusters, Time: time.Now().UTC().Truncate(time.Second),
		Resources: len(env.Resources), Objects: env.Seen.Objects, Unchecked: env.Unchecked}
	for _, u := range env.Unchecked {
		rep.Findings = append(rep.Findings, Finding{Severity: Warning, Check: CheckUnchecked, Object: u.Resource,
			Message: "could not be read in " + env.Source.Context + ": " + u.Reason + "; no check saw its objects",
			Fix:     "make the resource readable (its CRD, its aggregated API's backend, RBAC) and run the plan again"})
	}
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
