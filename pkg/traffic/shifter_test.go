package traffic_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/inmemory"
)

// gateFunc is a Gate from a function.
type gateFunc func() error

func (g gateFunc) Name() string                  { return "test gate" }
func (g gateFunc) Check(_ context.Context) error { return g() }

// recorder keeps the events of a shift.
type recorder struct {
	mu     sync.Mutex
	events []traffic.Event
}

func (r *recorder) Event(e traffic.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) types() []traffic.EventType {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []traffic.EventType
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

func start() traffic.Weights { return traffic.Weights{"app": {"blue": 100, "green": 0}} }

func TestShifter(t *testing.T) {
	boom := errors.New("green answers 503")
	cases := []struct {
		name         string
		steps        []int
		lag          int
		failSet      error
		failAtPct    int // gate fails while green has this share; -1 never
		wantErr      error
		wantFinal    traffic.Weights
		wantPassed   int
		wantRollback bool
	}{
		{"all steps pass", []int{10, 50, 100}, 0, nil, -1, nil, traffic.Weights{"app": {"blue": 0, "green": 100}}, 3, false},
		{"router applies late", []int{25, 100}, 3, nil, -1, nil, traffic.Weights{"app": {"blue": 0, "green": 100}}, 2, false},
		{"gate fails at 50", []int{10, 50, 100}, 0, nil, 50, traffic.ErrGateFailed, start(), 1, true},
		{"gate fails at first step", []int{25, 100}, 0, nil, 25, traffic.ErrGateFailed, start(), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			r := inmemory.New(start())
			r.Lag = c.lag
			plan, err := traffic.NewPlan([]string{"app"}, "blue", "green", c.steps)
			if err != nil {
				t.Fatal(err)
			}
			gate := gateFunc(func() error {
				w, _ := r.Observe(ctx)
				if c.failAtPct >= 0 && w["app"]["green"] == c.failAtPct {
					return boom
				}
				return nil
			})
			rec := &recorder{}
			s := &traffic.Shifter{Router: r, Plan: plan, Pause: 30 * time.Millisecond, GateEvery: 10 * time.Millisecond,
				Gates: []traffic.Gate{gate}, Observer: rec, VerifyTimeout: 2 * time.Second}
			rep, err := s.Shift(ctx)
			if !errors.Is(err, c.wantErr) && !(err == nil && c.wantErr == nil) {
				t.Fatalf("Shift: %v, want %v", err, c.wantErr)
			}
			if rep.Started.IsZero() || rep.Finished.Before(rep.Started) {
				t.Errorf("report times: started %s, finished %s", rep.Started, rep.Finished)
			}
			got, _ := r.Observe(ctx)
			if !c.wantFinal.Covers(got) {
				t.Errorf("final weights %s, want %s", got, c.wantFinal)
			}
			passed := 0
			for _, st := range rep.Steps {
				if st.Passed {
					passed++
				}
			}
			if passed != c.wantPassed {
				t.Errorf("%d steps passed, want %d: %+v", passed, c.wantPassed, rep.Steps)
			}
			if rep.RolledBack != c.wantRollback || rep.Completed == c.wantRollback {
				t.Errorf("rolledBack=%v completed=%v, want rollback %v", rep.RolledBack, rep.Completed, c.wantRollback)
			}
			if c.wantRollback {
				if rep.Rollback == nil || !rep.Rollback.VerifiedOK {
					t.Errorf("rollback not verified: %+v", rep.Rollback)
				}
				last := rec.types()[len(rec.types())-1]
				if last != traffic.EventRolledBack {
					t.Errorf("last event %s, want %s", last, traffic.EventRolledBack)
				}
			}
		})
	}
}

// A router that never reports the weights fails the step and the shift rolls back.
func TestShifterVerifyTimeoutRollsBack(t *testing.T) {
	ctx := context.Background()
	r := inmemory.New(start())
	r.Lag = 1 << 30 // never applies
	plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{50, 100})
	s := &traffic.Shifter{Router: r, Plan: plan, VerifyTimeout: 200 * time.Millisecond}
	rep, err := s.Shift(ctx)
	if err == nil || rep.Completed || !rep.RolledBack {
		t.Fatalf("Shift: err=%v report=%+v; want a failed, rolled back shift", err, rep)
	}
}

// A target that fails its smoke test gets no weight at all.
func TestShifterSmokeFailureChangesNothing(t *testing.T) {
	cases := []struct {
		name    string
		smoke   error
		wantErr error
		sets    int
	}{
		{"smoke passes", nil, nil, 2},
		{"smoke fails", errors.New("green answers 404"), traffic.ErrSmokeFailed, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := inmemory.New(start())
			plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{50, 100})
			s := &traffic.Shifter{Router: r, Plan: plan, Smoke: []traffic.Gate{gateFunc(func() error { return c.smoke })}}
			rep, err := s.Shift(context.Background())
			if !errors.Is(err, c.wantErr) && !(err == nil && c.wantErr == nil) {
				t.Fatalf("Shift: %v, want %v", err, c.wantErr)
			}
			if r.Sets != c.sets || len(rep.Smoke) != 1 {
				t.Errorf("%d SetWeights, smoke %+v; want %d sets and one smoke result", r.Sets, rep.Smoke, c.sets)
			}
		})
	}
}

// Pauses holds each step for its own time.
func TestShifterPausePerStep(t *testing.T) {
	r := inmemory.New(start())
	plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{50, 100})
	rec := &recorder{}
	s := &traffic.Shifter{Router: r, Plan: plan, Pause: time.Hour, Pauses: []time.Duration{0, 80 * time.Millisecond},
		ProgressEvery: 20 * time.Millisecond, GateEvery: 5 * time.Millisecond, Observer: rec}
	rep, err := s.Shift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	held := func(i int) time.Duration { return rep.Steps[i].PauseEnd.Sub(rep.Steps[i].PauseStart) }
	if held(0) > 50*time.Millisecond || held(1) < 80*time.Millisecond || held(1) > time.Second {
		t.Errorf("held %s and %s, want ~0 and ~80ms", held(0), held(1))
	}
	waiting := 0
	for _, e := range rec.events {
		if e.Type == traffic.EventWaiting {
			waiting++
			if e.Step != 1 || e.Wait <= 0 || e.Wait > 80*time.Millisecond {
				t.Errorf("waiting event %+v: want step 1 with time left ≤ 80ms", e)
			}
		}
	}
	if waiting < 2 {
		t.Errorf("%d waiting events in an 80ms pause reported every 20ms, want ≥ 2", waiting)
	}
}

// Rollback reaches the start weights from any state, and verifies them.
func TestShifterRollbackFromAnyState(t *testing.T) {
	cases := []traffic.Weights{
		{"app": {"blue": 0, "green": 100}},
		{"app": {"blue": 50, "green": 50}},
		{"app": {"blue": 100, "green": 0}},
	}
	for _, from := range cases {
		t.Run(from.String(), func(t *testing.T) {
			r := inmemory.New(from)
			r.Lag = 2
			plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{50, 100})
			rec := &recorder{}
			rb := (&traffic.Shifter{Router: r, Plan: plan, Observer: rec}).Rollback(context.Background(), "test")
			got, _ := r.Observe(context.Background())
			if !rb.VerifiedOK || !start().Covers(got) {
				t.Errorf("rollback %+v, weights %s; want verified blue 100", rb, got)
			}
			if types := rec.types(); len(types) != 2 || types[1] != traffic.EventRolledBack {
				t.Errorf("events %v, want rollback then rolled-back", types)
			}
		})
	}
}

// A DNS router's TTL is waited out after each change before the gates judge.
func TestShifterWaitsTTLBeforeGates(t *testing.T) {
	const ttl = 80 * time.Millisecond
	r := inmemory.New(start()).WithTTL(ttl)
	plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{100})
	var first time.Time
	gate := gateFunc(func() error {
		if first.IsZero() {
			first = time.Now()
		}
		return nil
	})
	rep, err := (&traffic.Shifter{Router: r, Plan: plan, Pause: 20 * time.Millisecond, GateEvery: 5 * time.Millisecond, Gates: []traffic.Gate{gate}}).Shift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := rep.Steps[0]
	if held := st.PauseEnd.Sub(st.PauseStart); held < ttl+20*time.Millisecond {
		t.Errorf("held %s, want at least TTL + pause", held)
	}
	if first.Sub(st.PauseStart) < ttl {
		t.Errorf("first gate %s after the change, want after the TTL %s", first.Sub(st.PauseStart), ttl)
	}
}

// SendAllTo moves every route, whatever its weights, to the one cluster.
func TestSendAllToMovesEveryRoute(t *testing.T) {
	r := inmemory.New(traffic.Weights{"app": {"blue": 0, "green": 100}, "api": {"blue": 30, "green": 70}})
	r.Lag = 1
	if err := traffic.SendAllTo(context.Background(), r, "", "blue", "green", "test"); err != nil {
		t.Fatal(err)
	}
	got, _ := r.Observe(context.Background())
	want := traffic.Weights{"app": {"blue": 100, "green": 0}, "api": {"blue": 100, "green": 0}}
	if !want.Covers(got) || !got.Covers(want) {
		t.Fatalf("weights %s, want %s", got, want)
	}
}

// A shift never moves traffic back: run again where it finished, it says
// so and changes nothing; with the target already past its next step (a
// shift back without --rollback, weights raised by hand) it is refused.
func TestShifterOnlyGoesForward(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		now     traffic.Weights
		steps   []int
		wantErr error
	}{
		{"finished, run again", traffic.Weights{"app": {"blue": 0, "green": 100}}, []int{10, 50, 100}, traffic.ErrAlreadyShifted},
		{"half way, the first step lower", traffic.Weights{"app": {"blue": 50, "green": 50}}, []int{10, 50, 100}, traffic.ErrInvalid},
		{"half way, steps from there", traffic.Weights{"app": {"blue": 50, "green": 50}}, []int{50, 100}, nil},
		{"finished, a plan that ends lower", traffic.Weights{"app": {"blue": 0, "green": 100}}, []int{10, 50}, traffic.ErrInvalid},
		{"at the start", start(), []int{10, 100}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := inmemory.New(c.now)
			plan, err := traffic.NewPlan([]string{"app"}, "blue", "green", c.steps)
			if err != nil {
				t.Fatal(err)
			}
			s := &traffic.Shifter{Router: r, Plan: plan, Pause: time.Millisecond, GateEvery: time.Millisecond, VerifyTimeout: time.Second}
			_, err = s.Shift(ctx)
			if !errors.Is(err, c.wantErr) && !(err == nil && c.wantErr == nil) {
				t.Fatalf("Shift: %v, want %v", err, c.wantErr)
			}
			got, _ := r.Observe(ctx)
			if c.wantErr != nil && !c.now.Covers(got) {
				t.Errorf("weights %s after a refused shift, want %s untouched", got, c.now)
			}
			if c.wantErr == nil && got["app"]["green"] != 100 {
				t.Errorf("weights %s after the shift, want green 100", got)
			}
		})
	}
}

// A gate that cannot measure (its Prometheus restarting) is tolerated for the
// gate grace: the step waits for an answer past its pause rather than passing
// blind, and passes once the gate measures again. Blind for longer than the
// grace, the step fails and rolls back.
func TestShifterToleratesAGateThatCannotMeasureForItsGrace(t *testing.T) {
	down := fmt.Errorf("gate prometheus: %w: connection refused", traffic.ErrUnavailable)
	for _, c := range []struct {
		name      string
		blindFor  time.Duration // from the first check
		wantErr   error
		wantFinal traffic.Weights
	}{
		{"back within the grace, after the pause", 120 * time.Millisecond, nil, traffic.Weights{"app": {"blue": 0, "green": 100}}},
		{"down past the grace", time.Hour, traffic.ErrGateFailed, start()},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := inmemory.New(start())
			plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{100})
			var first time.Time
			gate := gateFunc(func() error {
				if first.IsZero() {
					first = time.Now()
				}
				if time.Since(first) < c.blindFor {
					return down
				}
				return nil
			})
			rec := &recorder{}
			s := &traffic.Shifter{Router: r, Plan: plan, Pause: 20 * time.Millisecond, GateEvery: 5 * time.Millisecond,
				GateGrace: 300 * time.Millisecond, Gates: []traffic.Gate{gate}, Observer: rec}
			rep, err := s.Shift(context.Background())
			if !errors.Is(err, c.wantErr) && (err != nil || c.wantErr != nil) {
				t.Fatalf("Shift = %v, want %v", err, c.wantErr)
			}
			got, _ := r.Observe(context.Background())
			if !got.Covers(c.wantFinal) {
				t.Errorf("final weights %s, want %s", got, c.wantFinal)
			}
			blind := 0
			for _, e := range rec.events {
				if e.Type == traffic.EventGateBlind {
					blind++
				}
			}
			if blind != 1 {
				t.Errorf("%d gate-unavailable events, want 1 (the first check of the outage)", blind)
			}
			if c.wantErr == nil {
				if held := rep.Steps[0].PauseEnd.Sub(rep.Steps[0].PauseStart); held < c.blindFor {
					t.Errorf("the step ended after %s, while its gate could not measure (%s)", held, c.blindFor)
				}
			}
		})
	}
}

// Weights changed by someone else during a step (an emergency rollback run
// beside the shift) stop the shift before its next step, and at the end:
// it leaves them as they are instead of writing over them.
func TestShifterStopsWhenTheWeightsChangeUnderIt(t *testing.T) {
	for _, steps := range [][]int{{50, 100}, {50}} {
		r := inmemory.New(start())
		plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", steps)
		var once sync.Once
		gate := gateFunc(func() error {
			once.Do(func() { _ = r.SetWeights(context.Background(), start()) }) // a rollback by hand
			return nil
		})
		s := &traffic.Shifter{Router: r, Plan: plan, Pause: 30 * time.Millisecond, GateEvery: 5 * time.Millisecond, Gates: []traffic.Gate{gate}}
		_, err := s.Shift(context.Background())
		if !errors.Is(err, traffic.ErrWeightsChanged) {
			t.Errorf("steps %v: err %v, want ErrWeightsChanged", steps, err)
		}
		if got, _ := r.Observe(context.Background()); !start().Covers(got) {
			t.Errorf("steps %v: router at %s, want the weights set by hand (%s) left", steps, got, start())
		}
	}
}
