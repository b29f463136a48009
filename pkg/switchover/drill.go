package switchover

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// DrillReport is a rehearsal: a switchover to the standby and back, with a
// load probe running throughout.
type DrillReport struct {
	Active   string               `json:"active"`  // active at the start (and again at the end)
	Standby  string               `json:"standby"` // the one rehearsed
	Router   string               `json:"router"`
	Started  time.Time            `json:"started"`
	Finished time.Time            `json:"finished"`
	Took     Duration             `json:"took"`
	Legs     []Report             `json:"legs"`
	Probe    *traffic.ProbeResult `json:"probe,omitempty"`
	Passed   bool                 `json:"passed"`
	Result   string               `json:"result"`
	// Pair are the two clusters' identities (kube-system UIDs), sorted:
	// whose drill it was, when report directories are shared.
	Pair []string `json:"pair,omitempty"`
}

// Of says whether the report is of the pair of clusters ids (their
// identities) named contexts: by identity, else (a report from before
// they were kept) by the contexts' names.
func (r DrillReport) Of(ids, contexts [2]string) bool {
	if len(r.Pair) == 2 {
		return (r.Pair[0] == ids[0] && r.Pair[1] == ids[1]) || (r.Pair[0] == ids[1] && r.Pair[1] == ids[0])
	}
	return (r.Active == contexts[0] && r.Standby == contexts[1]) || (r.Active == contexts[1] && r.Standby == contexts[0])
}

// Drill runs a rehearsal: the switchover Active → Standby, then back, with
// the probe (if any) running throughout. The CLI and the controller each
// say how a leg runs (its flags or resource, its journal) and what to do
// after one; the order, the probe and the verdict are the same for both.
type Drill struct {
	Active, Standby, Router string
	Started                 time.Time
	Probe                   *traffic.Probe // nil: no load is sent, failed requests are not counted
	// Leg runs switchover i (0, then 1) from → to; a Report with no Run
	// means it did not start, and err says why.
	Leg func(ctx context.Context, i int, from, to string) (Report, error)
	// AfterLeg, if set, hears the report so far after each leg.
	AfterLeg func(*DrillReport)
}

// Run runs the legs — the second only when the first completed — stops
// the probe and judges. interrupted is true when ctx ended during a leg
// that neither completed nor rolled back: its journal resumes it, so the
// report is no verdict (the controller leaves it to its next leader;
// AfterLeg does not hear that leg).
func (d *Drill) Run(ctx context.Context) (rep *DrillReport, interrupted bool) {
	rep = &DrillReport{Active: d.Active, Standby: d.Standby, Router: d.Router, Started: d.Started}
	if d.Probe != nil {
		d.Probe.Start(ctx)
	}
	for i, leg := range [][2]string{{d.Active, d.Standby}, {d.Standby, d.Active}} {
		lr, err := d.Leg(ctx, i, leg[0], leg[1])
		interrupted = ctx.Err() != nil && !lr.RolledBack && !lr.Completed
		if lr.Run == "" {
			lr = Report{From: leg[0], To: leg[1], Err: fmt.Sprint(err)}
		}
		rep.Legs = append(rep.Legs, lr)
		if interrupted {
			break
		}
		if d.AfterLeg != nil {
			d.AfterLeg(rep)
		}
		if err != nil {
			break
		}
	}
	if d.Probe != nil {
		res := d.Probe.Stop()
		rep.Probe = &res
	}
	rep.Finished = time.Now()
	rep.Judge()
	return rep, interrupted
}

// Duration marshals as seconds with a text twin, for humans and scripts.
type Duration time.Duration

// MarshalJSON writes seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", time.Duration(d).Seconds())), nil
}

// UnmarshalJSON reads what MarshalJSON wrote (a report read back).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return err
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// Judge sets Passed and Result from the legs and the probe.
func (r *DrillReport) Judge() {
	r.Took = Duration(r.Finished.Sub(r.Started))
	var why []string
	for _, l := range r.Legs {
		if !l.Completed {
			why = append(why, fmt.Sprintf("switchover to %s failed (%s)", l.To, l.Err))
		}
	}
	if len(r.Legs) < 2 && len(why) == 0 {
		why = append(why, "did not switch back")
	}
	if r.Probe != nil && r.Probe.Failed > 0 {
		why = append(why, fmt.Sprintf("%d of %d requests failed", r.Probe.Failed, r.Probe.Sent))
	}
	r.Passed = len(why) == 0
	if r.Passed {
		r.Result = "passed"
	} else {
		r.Result = "failed: " + strings.Join(why, "; ")
	}
}

// Summary is what the records keep of the drill; report says where the
// whole report is.
func (r *DrillReport) Summary(report string) *Drilled {
	d := &Drilled{Time: r.Started.UTC(), Result: r.Result, Seconds: time.Duration(r.Took).Seconds(), Report: report}
	if r.Probe != nil {
		d.Failed = r.Probe.Failed
	}
	return d
}

// Markdown renders the report for people (a runbook appendix, a ticket).
func (r *DrillReport) Markdown() string {
	var b strings.Builder
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "# Drill %s → %s → %s: %s\n\n", r.Active, r.Standby, r.Active, verdict)
	fmt.Fprintf(&b, "- Started: %s\n- Finished: %s\n- Took: %s\n", r.Started.UTC().Format(time.RFC3339), r.Finished.UTC().Format(time.RFC3339), time.Duration(r.Took).Round(time.Millisecond))
	if r.Router != "" {
		fmt.Fprintf(&b, "- Router: `%s`\n", r.Router)
	}
	fmt.Fprintf(&b, "- Result: %s\n\n", r.Result)
	if r.Probe != nil {
		p := r.Probe
		fmt.Fprintf(&b, "## Requests during the drill\n\n%d sent, %d answered, **%d failed**", p.Sent, p.OK, p.Failed)
		if len(p.ByCluster) > 0 {
			var parts []string
			for _, c := range sortedKeys(p.ByCluster) {
				parts = append(parts, fmt.Sprintf("%s %d", c, p.ByCluster[c]))
			}
			fmt.Fprintf(&b, " (answered by: %s)", strings.Join(parts, ", "))
		}
		b.WriteString(".\n\n")
		for _, f := range p.Failures {
			fmt.Fprintf(&b, "- %s %s\n", f.Time.UTC().Format("15:04:05.000"), f.Error)
		}
		if len(p.Failures) > 0 {
			b.WriteString("\n")
		}
	}
	for i, l := range r.Legs {
		fmt.Fprintf(&b, "## Leg %d: %s → %s (epoch %d)\n\n", i+1, l.From, l.To, l.Epoch)
		b.WriteString("| phase | took | result |\n|---|---:|---|\n")
		for _, p := range l.All() {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", p.Phase, p.Took.Round(time.Millisecond), strings.ReplaceAll(p.Result(), "|", "\\|"))
		}
		fmt.Fprintf(&b, "| **total** | %s | %s |\n\n", l.Took.Round(time.Millisecond), legResult(l))
	}
	return b.String()
}

func legResult(l Report) string {
	switch {
	case l.Completed:
		return "completed"
	case l.RolledBack:
		return "rolled back: " + l.Err
	default:
		return "failed: " + l.Err
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
