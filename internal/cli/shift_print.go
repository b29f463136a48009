package cli

// What `tandem shift` draws: the plan of a dry run, the report, the weights
// and one progress line per shift event.

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// printPlan shows the steps of a dry run; each pause includes wait, the
// router's client delay (its TTL, and the publishing a Publisher may take).
func (o *ShiftOptions) printPlan(plan traffic.Plan, current traffic.Weights, wait time.Duration) error {
	out := struct {
		Current traffic.Weights `json:"current"`
		Plan    traffic.Plan    `json:"plan"`
		Pause   string          `json:"pause"`
		Gates   []string        `json:"gates"`
	}{current, plan, o.Pause, gateNames(o.gates)}
	return o.g.printObject(out, func(w io.Writer) {
		tw := newTable(w, "STEP", "SHARE", "WEIGHTS", "PAUSE", "GATES")
		for _, s := range plan.Steps {
			row(tw, s.Index+1, fmt.Sprintf("%d%%", s.Percent), s.Weights, o.pauses[s.Index]+wait, dash(strings.Join(gateNames(o.gates), "; ")))
		}
		tw.Flush()
		fmt.Fprintf(w, "dry run: nothing changed; on a failed gate traffic goes back to %s\n", plan.Start)
	})
}

func (o *ShiftOptions) printReport(rep traffic.Report) error {
	return o.g.printObject(rep, func(w io.Writer) {
		tw := newTable(w, "STEP", "SHARE", "WEIGHTS", "OBSERVED", "VERIFIED IN", "HELD", "GATE CHECKS", "RESULT")
		for _, s := range rep.Steps {
			result := "passed"
			switch {
			case s.Skipped:
				result = "done earlier"
			case s.Failed != "":
				result = "FAILED: " + s.Failed
			}
			held := "-"
			if !s.PauseStart.IsZero() {
				held = s.PauseEnd.Sub(s.PauseStart).Round(time.Millisecond).String()
			}
			row(tw, s.Index+1, fmt.Sprintf("%d%%", s.Percent), s.Weights, dash(observedText(s.Observed, "", "")), s.VerifyTook.Round(time.Millisecond), held, s.GateChecks, result)
		}
		tw.Flush()
		for _, sm := range rep.Smoke {
			if sm.Err != "" {
				fmt.Fprintf(w, "smoke test %s FAILED: %s; no weight changed\n", sm.Gate, sm.Err)
			}
		}
		if rb := rep.Rollback; rb != nil {
			if rb.VerifiedOK {
				fmt.Fprintf(w, "rolled back to %s: set in %s, verified in %s\n", rep.Plan.Start, rb.Set.Round(time.Millisecond), rb.Verified.Round(time.Millisecond))
			} else {
				fmt.Fprintf(w, "ROLLBACK NOT VERIFIED (%s): check the router now\n", rb.Err)
			}
		} else if rep.Completed {
			last := rep.Plan.Steps[len(rep.Plan.Steps)-1]
			fmt.Fprintf(w, "shifted to %s (%d%% to %s) in %s\n", last.Weights, last.Percent, rep.Plan.To, rep.Finished.Sub(rep.Started).Round(time.Millisecond))
		}
	})
}

func (o *ShiftOptions) printWeights(w traffic.Weights) error {
	return printWeights(o.g, o.Router, w)
}

func printWeights(g *Global, routerURL string, w traffic.Weights) error {
	out := struct {
		Router  string          `json:"router"`
		Weights traffic.Weights `json:"weights"`
	}{routerURL, w}
	return g.printObject(out, func(wr io.Writer) {
		tw := newTable(wr, "ROUTE", "CLUSTER", "WEIGHT", "SHARE")
		for _, route := range w.Routes() {
			sum := 0
			for _, v := range w[route] {
				sum += v
			}
			for _, c := range w.Clusters(route) {
				share := "-"
				if sum > 0 {
					share = fmt.Sprintf("%.0f%%", 100*float64(w[route][c])/float64(sum))
				}
				row(tw, route, c, w[route][c], share)
			}
		}
		tw.Flush()
	})
}

func gateNames(gates []traffic.Gate) []string {
	names := []string{}
	for _, g := range gates {
		names = append(names, g.Name())
	}
	return names
}

// observedText wraps the observed share in prefix and suffix; "" when nothing was counted.
func observedText(obs map[string]map[string]float64, prefix, suffix string) string {
	if len(obs) == 0 {
		return ""
	}
	return prefix + traffic.ShareString(obs) + suffix
}

// shiftProgress prints one line per shift event on stderr.
type shiftProgress struct {
	w      io.Writer
	n      int
	gates  int
	ttl    time.Duration
	router traffic.Router // says what its verification means (traffic.Verifier)
}

// Event implements traffic.Observer.
func (p *shiftProgress) Event(e traffic.Event) {
	at := e.Time.Format("15:04:05.000")
	step := fmt.Sprintf("step %d/%d %d%%", e.Step+1, p.n, e.Percent)
	switch e.Type {
	case traffic.EventResumed:
		if e.Run != "" {
			fmt.Fprintf(p.w, "resuming interrupted shift %s: %d of %d steps already done\n", e.Run, e.Done, p.n)
		}
		if e.Done > 0 {
			fmt.Fprintf(p.w, "%s resuming after the steps already done\n", at)
		}
	case traffic.EventSmoke:
		if e.Err != "" {
			fmt.Fprintf(p.w, "%s smoke test %s FAILED: %s\n", at, e.Gate, e.Err)
		} else {
			fmt.Fprintf(p.w, "%s smoke test %s passed\n", at, e.Gate)
		}
	case traffic.EventStepStart:
		fmt.Fprintf(p.w, "%s %s: setting %s\n", at, step, e.Weights)
	case traffic.EventVerified:
		what := ""
		if v, ok := p.router.(traffic.Verifier); ok {
			what = ": " + v.Verifies()
		}
		fmt.Fprintf(p.w, "%s %s: verified in %s%s\n", at, step, e.Wait.Round(time.Millisecond), what)
	case traffic.EventPause:
		fmt.Fprintf(p.w, "%s %s: pause %s, %d gate(s) checked throughout\n", at, step, e.Wait, p.gates)
		if pub, ok := p.router.(traffic.Publisher); ok && pub.PublishWithin() > 0 {
			then := ""
			if p.ttl > 0 {
				then = fmt.Sprintf(", then the DNS TTL %s", p.ttl)
			}
			fmt.Fprintf(p.w, "%s %s: waiting up to %s for the change to be published (nothing verifies it: the publisher's sync interval)%s (within the pause)\n", at, step, pub.PublishWithin(), then)
		} else if p.ttl > 0 {
			fmt.Fprintf(p.w, "%s %s: waiting out the DNS TTL %s (within the pause): resolvers that cached the old answer follow by its end\n", at, step, p.ttl)
		}
	case traffic.EventWaiting:
		fmt.Fprintf(p.w, "%s %s: %s left in the pause, %d gate round(s) passed\n", at, step, e.Wait.Round(time.Second), e.Checks)
	case traffic.EventGateBlind:
		fmt.Fprintf(p.w, "%s %s: gate %s cannot measure (%s): tolerated for %s, the step waits for an answer\n", at, step, e.Gate, e.Err, e.Wait)
	case traffic.EventGate:
		if e.Err != "" {
			fmt.Fprintf(p.w, "%s %s: gate %s FAILED: %s\n", at, step, e.Gate, e.Err)
		} else {
			fmt.Fprintf(p.w, "%s %s: gate %s passed\n", at, step, e.Gate)
		}
	case traffic.EventStepDone:
		fmt.Fprintf(p.w, "%s %s: done%s\n", at, step, observedText(e.Observed, " (observed share: ", ")"))
	case traffic.EventRollback:
		fmt.Fprintf(p.w, "%s ROLLBACK to %s\n", at, e.Weights)
	case traffic.EventRolledBack:
		fmt.Fprintf(p.w, "%s rolled back to %s, verified in %s\n", at, e.Weights, e.Wait.Round(time.Millisecond))
	}
}
