package traffic

import (
	"context"
	"errors"
	"fmt"
	"github.com/tandem-io/tandem/pkg/journal"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// Journal ops of a shift, beside journal's own.
const (
	OpRollback   = "rollback" // a failed step sent traffic back to the safe weights
	DetailPlan   = "plan"     // Plan.Key of the run
	DetailReason = "reason"   // why a step failed
	defaultEvery = 250 * time.Millisecond
)

// ErrGateFailed is wrapped by Shift's error when a gate failed and the shift rolled back.
var ErrGateFailed = errors.New("gate failed")

// ErrSmokeFailed is wrapped by Shift's error when the smoke test of the
// target failed; no weight was changed.
var ErrSmokeFailed = errors.New("smoke test failed")

// ErrAlreadyShifted says a shift found the router at its plan's last step
// already (a shift that finished, run again): nothing is changed.
var ErrAlreadyShifted = errors.New("already shifted")

// Shifter walks a Plan: for each step SetWeights → Verify (bounded) → pause
// (plus the router's TTL) with the gates checked throughout; a failure sends
// the plan's start weights at once and verifies them.
type Shifter struct {
	Router        Router
	Plan          Plan
	Pause         time.Duration
	Pauses        []time.Duration // per step index, overriding Pause when set
	VerifyTimeout time.Duration   // default: the router's (Paced), else DefaultVerifyTimeout
	GateEvery     time.Duration   // how often gates run during a pause; default 250 ms
	// GateGrace is how long a gate may fail to measure (ErrUnavailable: its
	// Prometheus unreachable, answering 5xx) before the step fails; default
	// 30 s. A step does not end while a gate cannot measure: it waits for
	// an answer, within the grace.
	GateGrace     time.Duration
	ProgressEvery time.Duration // how often EventWaiting tells the time left in a pause; default 10 s
	Gates         []Gate
	Smoke         []Gate   // run once before any weight changes (straight to the target)
	Observer      Observer // may be nil
	// JournalPath is the shift's journal (JournalPath(dir, routerURL)); ""
	// for none. Shift begins its run there, or resumes an interrupted run
	// of the same plan after its done steps; Undo ends an interrupted run.
	JournalPath string
	// OpenJournal, when set, opens the shift's journal instead of
	// JournalPath (the controller keeps it in its management cluster).
	OpenJournal func() (journal.Log, []journal.Record, error)
}

// journaled says whether the shift has a journal.
func (s *Shifter) journaled() bool { return s.JournalPath != "" || s.OpenJournal != nil }

// openJournal opens the shift's journal: its log and the records so far.
func (s *Shifter) openJournal() (journal.Log, []journal.Record, error) {
	if s.OpenJournal != nil {
		return s.OpenJournal()
	}
	j, recs, err := journal.Open(s.JournalPath)
	return j, recs, err
}

// StepReport is what happened to one step.
type StepReport struct {
	Index      int           `json:"index"`
	Percent    int           `json:"percent"`
	Weights    Weights       `json:"weights"`
	Skipped    bool          `json:"skipped,omitempty"` // done by an earlier run
	Started    time.Time     `json:"started"`
	Verified   time.Time     `json:"verified,omitzero"`
	VerifyTook time.Duration `json:"verifyTook"`
	PauseStart time.Time     `json:"pauseStart,omitzero"`
	PauseEnd   time.Time     `json:"pauseEnd,omitzero"`
	GateChecks int           `json:"gateChecks"`
	// Observed is the share each cluster really served during the pause, in
	// percent, when the router counts it (ServedCounter).
	Observed   map[string]map[string]float64 `json:"observed,omitempty"`
	Failed     string                        `json:"failed,omitempty"`
	FailedAt   time.Time                     `json:"failedAt,omitzero"`
	FailedGate string                        `json:"failedGate,omitempty"`
	Passed     bool                          `json:"passed"`
}

// Report is the outcome of a shift.
type Report struct {
	Plan       Plan          `json:"plan"`
	Steps      []StepReport  `json:"steps"`
	Smoke      []GateResult  `json:"smoke,omitempty"`
	Completed  bool          `json:"completed"`
	RolledBack bool          `json:"rolledBack"`
	Rollback   *RollbackInfo `json:"rollback,omitempty"`
	Started    time.Time     `json:"started"`
	Finished   time.Time     `json:"finished"`
}

// GateResult is one gate's verdict.
type GateResult struct {
	Gate string `json:"gate"`
	Err  string `json:"error,omitempty"`
}

// RollbackInfo times a rollback.
type RollbackInfo struct {
	Reason     string        `json:"reason"`
	Started    time.Time     `json:"started"`
	Set        time.Duration `json:"set"`      // SetWeights took
	Verified   time.Duration `json:"verified"` // from Started until Verify said yes
	VerifiedOK bool          `json:"verifiedOK"`
	Err        string        `json:"error,omitempty"`
}

// Shift runs the plan. A failed gate or step returns an error wrapping
// ErrGateFailed (or the router's error) after the rollback; the report says
// what happened either way.
func (s *Shifter) Shift(ctx context.Context) (rep Report, err error) {
	rep = Report{Plan: s.Plan, Started: time.Now()}
	// Named results: the deferred time lands in what the caller gets.
	defer func() { rep.Finished = time.Now() }()
	log, done, err := s.openLog()
	if err != nil {
		return rep, err
	}
	defer log.close()
	if log.runID() != "" || len(done) > 0 {
		s.emit(Event{Type: EventResumed, Step: -1, Run: log.runID(), Done: len(done)})
	}
	if err := s.forwardOnly(ctx, done, log.runID() == ""); err != nil {
		if len(done) == 0 {
			_ = log.end(err.Error())
		}
		return rep, err
	}
	if len(done) == 0 {
		// Not even one step done: the target has had no weight from this run yet.
		if err := s.smoke(ctx, &rep); err != nil {
			_ = log.end(err.Error())
			return rep, err
		}
	}
	var last Weights // what this run's last step set (nil: none yet)
	for _, step := range s.Plan.Steps {
		if done[step.Key()] {
			rep.Steps = append(rep.Steps, StepReport{Index: step.Index, Percent: step.Percent, Weights: step.Weights, Skipped: true, Passed: true})
			last = step.Weights
			continue
		}
		if err := s.stillAt(ctx, last); err != nil {
			_ = log.end(err.Error())
			return rep, err
		}
		sr, err := s.step(ctx, log, step)
		rep.Steps = append(rep.Steps, sr)
		if err != nil {
			rb := s.Rollback(ctx, err.Error())
			rep.RolledBack, rep.Rollback = true, &rb
			_ = log.rolledBack(step.Key(), err.Error())
			if rb.Err != "" {
				// The run ends: resumed, it would set this step's weights
				// again. Run again, it is refused (the target has more than
				// its first step) and says to roll back.
				_ = log.end("rollback failed: " + rb.Err)
				return rep, fmt.Errorf("step %d%%: %w; rollback: %s (run it again with --rollback)", step.Percent, err, rb.Err)
			}
			// The safe weights are in place: nothing to resume.
			_ = log.end(err.Error())
			return rep, fmt.Errorf("step %d%%: %w", step.Percent, err)
		}
		last = step.Weights
	}
	if err := s.stillAt(ctx, last); err != nil {
		_ = log.end(err.Error())
		return rep, err
	}
	rep.Completed = true
	return rep, log.end("")
}

// ErrWeightsChanged is a shift that found the router's weights changed by
// someone else since its last step (a `shift --rollback` in an emergency,
// a hand on the router): it stops there, and leaves them as they are.
var ErrWeightsChanged = errors.New("the router's weights were changed by someone else")

// stillAt checks, before a step and at the end, that the router still has
// last, the weights this run's last step set (nil: nothing to check). A
// router that cannot be read now is left to the step's own write and
// verification.
func (s *Shifter) stillAt(ctx context.Context, last Weights) error {
	if last == nil {
		return nil
	}
	now, err := s.Router.Observe(ctx)
	if err != nil || last.Covers(now) {
		return nil
	}
	return fmt.Errorf("%w: the router is at %s, not at %s, which this run set last; this run ends here and leaves them as they are (shift again to go on from there)", ErrWeightsChanged, now, last)
}

// CheckForward is forwardOnly for a fresh run, for a dry run to refuse
// what the run would refuse.
func (s *Shifter) CheckForward(ctx context.Context) error { return s.forwardOnly(ctx, nil, true) }

// forwardOnly refuses a run whose next step would give the target less than
// the router gives it now: a shift that finished run again (a CI retry)
// would start over at its first step, moving the traffic back to the
// cluster being left; so would one shifting back mid-way without --rollback,
// or one resumed after the weights were raised by hand. Found at the plan's
// last step already on every route by a fresh run, it says so
// (ErrAlreadyShifted); a resumed run there goes on, its gates to judge the
// step it was interrupted in.
func (s *Shifter) forwardOnly(ctx context.Context, done map[string]bool, fresh bool) error {
	var next *Step
	for i := range s.Plan.Steps {
		if !done[s.Plan.Steps[i].Key()] {
			next = &s.Plan.Steps[i]
			break
		}
	}
	if next == nil {
		return nil // every step done: the run only ends
	}
	cur, err := s.Router.Observe(ctx)
	if err != nil {
		return fmt.Errorf("read the router's weights: %w", err)
	}
	last := s.Plan.Steps[len(s.Plan.Steps)-1]
	at, ahead := true, ""
	for _, r := range s.Plan.Routes {
		share := cur[r][s.Plan.To]
		if share != last.Percent || cur[r][s.Plan.From] != last.Weights[r][s.Plan.From] {
			at = false
		}
		if share > next.Percent && ahead == "" {
			ahead = fmt.Sprintf("route %s gives %s %d%% now", r, s.Plan.To, share)
		}
	}
	switch {
	case at && fresh:
		return fmt.Errorf("%w: every route gives %s %d%% (%s): nothing to do", ErrAlreadyShifted, s.Plan.To, last.Percent, cur)
	case ahead != "":
		return invalid("%s, and the next step gives it %d%%: it would move traffic back to %s; to go back, use --rollback (or shift --from %s --to %s); to go on, pass --steps from %s's share now",
			ahead, next.Percent, s.Plan.From, s.Plan.To, s.Plan.From, s.Plan.To)
	}
	return nil
}

// smoke runs the smoke gates once; the target must answer before it gets any weight.
func (s *Shifter) smoke(ctx context.Context, rep *Report) error {
	for _, g := range s.Smoke {
		err := g.Check(ctx)
		res := GateResult{Gate: g.Name()}
		if err != nil {
			res.Err = err.Error()
		}
		rep.Smoke = append(rep.Smoke, res)
		s.emit(Event{Type: EventSmoke, Step: -1, Gate: g.Name(), Err: res.Err})
		if err != nil {
			return fmt.Errorf("%w: %s: %v (no weight changed)", ErrSmokeFailed, g.Name(), err)
		}
	}
	return nil
}

func (s *Shifter) step(ctx context.Context, log *shiftLog, step Step) (StepReport, error) {
	sr := StepReport{Index: step.Index, Percent: step.Percent, Weights: step.Weights, Started: time.Now()}
	fail := func(gate string, err error) (StepReport, error) {
		sr.Failed, sr.FailedAt, sr.FailedGate = err.Error(), time.Now(), gate
		_ = log.failed(step.Key(), err.Error())
		return sr, err
	}
	if err := log.intent(step.Key(), map[string]string{"weights": step.Weights.String()}); err != nil {
		return sr, err
	}
	s.emit(Event{Type: EventStepStart, Step: step.Index, Percent: step.Percent, Weights: step.Weights})
	if err := s.Router.SetWeights(ctx, step.Weights); err != nil {
		return fail("", fmt.Errorf("set weights: %w", err))
	}
	if err := s.verify(ctx, step.Weights); err != nil {
		return fail("", err)
	}
	sr.Verified = time.Now()
	sr.VerifyTook = sr.Verified.Sub(sr.Started)
	s.emit(Event{Type: EventVerified, Step: step.Index, Percent: step.Percent, Weights: step.Weights, Wait: sr.VerifyTook})

	pause := s.Pause
	if step.Index < len(s.Pauses) {
		pause = s.Pauses[step.Index]
	}
	ttl := ClientDelay(ctx, s.Router)
	wait := pause + ttl
	sr.PauseStart = time.Now()
	s.emit(Event{Type: EventPause, Step: step.Index, Percent: step.Percent, Weights: step.Weights, Wait: wait})
	counter, counts := s.Router.(ServedCounter)
	var before map[string]map[string]int64
	if counts {
		// Only for the report: a router that cannot count still shifts.
		before, _ = counter.Served(ctx)
	}
	gate, err := s.judge(ctx, step, ttl, wait, &sr.GateChecks)
	sr.PauseEnd = time.Now()
	if counts && before != nil {
		if after, cerr := counter.Served(ctx); cerr == nil {
			sr.Observed = Share(before, after)
		}
	}
	if err != nil {
		return fail(gate, err)
	}
	sr.Passed = true
	if err := log.done(step.Key()); err != nil {
		return sr, err
	}
	s.emit(Event{Type: EventStepDone, Step: step.Index, Percent: step.Percent, Weights: step.Weights, Observed: sr.Observed})
	return sr, nil
}

// verify polls the router until it reports w, within VerifyTimeout (by
// default the router's own, else DefaultVerifyTimeout).
func (s *Shifter) verify(ctx context.Context, w Weights) error {
	return VerifyWithin(ctx, s.Router, w, s.verifyTimeout())
}

func (s *Shifter) verifyTimeout() time.Duration {
	if s.VerifyTimeout > 0 {
		return s.VerifyTimeout
	}
	if p, ok := s.Router.(Paced); ok {
		_, _, timeout := p.Pace()
		return timeout
	}
	return DefaultVerifyTimeout
}

// VerifyByObserve is Verify for routers whose writes take effect as soon as
// they are read back: Observe covers w.
func VerifyByObserve(ctx context.Context, r Router, w Weights) (bool, error) {
	got, err := r.Observe(ctx)
	if err != nil {
		return false, err
	}
	return w.Covers(got), nil
}

// VerifyWithin polls r.Verify(w) until it says yes or timeout passes: every
// 50 ms, or as a Paced router asks (an error, a throttled call among them,
// is only remembered: the next poll comes after the next interval).
func VerifyWithin(ctx context.Context, r Router, w Weights, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval, maxInterval := 50*time.Millisecond, 50*time.Millisecond
	if p, ok := r.(Paced); ok {
		interval, maxInterval, _ = p.Pace()
	}
	var lastErr error
	for {
		ok, err := r.Verify(ctx, w)
		if err == nil && ok {
			return nil
		}
		if err != nil && ctx.Err() == nil { // a call cut off by the deadline itself says nothing about the router
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("verify %s: not in effect after %s: %w", w, timeout, lastErr)
			}
			if l, ok := r.(Lagger); ok {
				lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if why := l.Lag(lctx, w); why != "" {
					return fmt.Errorf("verify %s: not in effect after %s: %s", w, timeout, why)
				}
			}
			return fmt.Errorf("verify %s: not in effect after %s", w, timeout)
		case <-time.After(interval):
		}
		interval = min(2*interval, maxInterval)
	}
}

// Undo is `shift --rollback`: Rollback, and once the start weights are
// verified, the interrupted run in JournalPath (if any) ends with reason, so
// a re-run starts from the first step. It fails when the rollback is not
// verified (the run stays resumable) or the journal cannot be written.
func (s *Shifter) Undo(ctx context.Context, reason string) (RollbackInfo, error) {
	rb := s.Rollback(ctx, reason)
	if !rb.VerifiedOK {
		return rb, fmt.Errorf("rollback to %s: %s", s.Plan.Start, rb.Err)
	}
	if !s.journaled() {
		return rb, nil
	}
	return rb, s.endInterrupted(reason)
}

// Rollback sends the plan's start weights (the last safe ones) and verifies
// them, from whatever weights the router has. It ignores a cancelled ctx: the
// way back must stay open after a Ctrl-C.
func (s *Shifter) Rollback(ctx context.Context, reason string) RollbackInfo {
	ctx = context.WithoutCancel(ctx)
	rb := RollbackInfo{Reason: reason, Started: time.Now()}
	s.emit(Event{Type: EventRollback, Step: -1, Weights: s.Plan.Start, Err: reason})
	// Tried again a few times: the way back must not fail on one throttled
	// or timed-out request (Route53's 5 requests/s are shared with ExternalDNS).
	if err := retry.OnError(rollbackRetry, func(error) bool { return true }, func() error {
		return s.Router.SetWeights(ctx, s.Plan.Start)
	}); err != nil {
		rb.Err = err.Error()
		return rb
	}
	rb.Set = time.Since(rb.Started)
	if err := s.verify(ctx, s.Plan.Start); err != nil {
		rb.Err = err.Error()
		return rb
	}
	rb.Verified, rb.VerifiedOK = time.Since(rb.Started), true
	s.emit(Event{Type: EventRolledBack, Step: -1, Weights: s.Plan.Start, Wait: rb.Verified})
	return rb
}

// rollbackRetry paces a rollback's tries: 1 s, then doubling, 5 in all.
var rollbackRetry = wait.Backoff{Duration: time.Second, Factor: 2, Steps: 5}

func (s *Shifter) emit(e Event) {
	if s.Observer == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.Observer.Event(e)
}

// SendAllTo sends every route of r to active (away from other) and
// verifies it, as `shift --rollback` does; an interrupted shift journaled
// at journalPath ("": none) ends there with reason.
func SendAllTo(ctx context.Context, r Router, journalPath, active, other, reason string) error {
	w, err := r.Observe(ctx)
	if err != nil {
		return err
	}
	plan, err := NewPlan(w.Routes(), active, other, []int{100})
	if err != nil {
		return err
	}
	s := &Shifter{Router: r, Plan: plan, VerifyTimeout: 30 * time.Second, JournalPath: journalPath}
	_, err = s.Undo(ctx, reason)
	return err
}
