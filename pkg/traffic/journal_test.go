package traffic_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/inmemory"
)

// interruptedAfter10 writes the journal of a shift through plan that a kill
// -9 stopped after its 10 % step was done, and returns its path.
func interruptedAfter10(t *testing.T, plan traffic.Plan) string {
	t.Helper()
	path := traffic.JournalPath(t.TempDir(), "inmemory://test")
	r := inmemory.New(start())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crash := gateFunc(func() error {
		if w, _ := r.Observe(context.Background()); w["app"]["green"] == 50 {
			cancel()
		}
		return nil
	})
	s := &traffic.Shifter{Router: r, Plan: plan, Gates: []traffic.Gate{crash}, GateEvery: time.Millisecond, JournalPath: path}
	_, _ = s.Shift(ctx)
	// The cancelled run rolled back and ended; a kill -9 would have left
	// only what was written up to the 10 % step's done.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		keep = append(keep, l)
		if strings.Contains(l, `"op":"done","key":"step-10"`) {
			break
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(keep, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastRun reads the journal at path: the last run's id and whether it ended.
func lastRun(t *testing.T, path string) (string, bool) {
	t.Helper()
	j, recs, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	run, ended := journal.LastRun(recs)
	if len(run) == 0 {
		return "", ended
	}
	return run[0].Run, ended
}

func TestShifterJournalPath(t *testing.T) {
	plan, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{10, 50, 100})
	atTen := func() traffic.Weights { return traffic.Weights{"app": {"blue": 90, "green": 10}} }

	t.Run("same plan resumes after the done steps", func(t *testing.T) {
		path := interruptedAfter10(t, plan)
		before, _ := lastRun(t, path)
		r, rec := inmemory.New(atTen()), &recorder{}
		rep, err := (&traffic.Shifter{Router: r, Plan: plan, Observer: rec, JournalPath: path}).Shift(context.Background())
		if err != nil || !rep.Completed {
			t.Fatalf("resumed shift: %v %+v", err, rep)
		}
		if !rep.Steps[0].Skipped || rep.Steps[1].Skipped || r.Sets != 2 {
			t.Errorf("steps %+v, %d SetWeights; want step 10 skipped and 2 sets", rep.Steps, r.Sets)
		}
		if e := rec.events[0]; e.Type != traffic.EventResumed || e.Run != before || e.Done != 1 {
			t.Errorf("first event %+v, want resumed run %s with 1 step done", e, before)
		}
		if id, ended := lastRun(t, path); id != before || !ended {
			t.Errorf("journal: last run %s ended=%v, want %s ended", id, ended, before)
		}
	})

	t.Run("another plan starts afresh", func(t *testing.T) {
		path := interruptedAfter10(t, plan)
		before, _ := lastRun(t, path)
		other, _ := traffic.NewPlan([]string{"app"}, "blue", "green", []int{20, 100})
		r := inmemory.New(start())
		rep, err := (&traffic.Shifter{Router: r, Plan: other, JournalPath: path}).Shift(context.Background())
		if err != nil || !rep.Completed || rep.Steps[0].Skipped || r.Sets != 2 {
			t.Fatalf("shift of another plan: %v %+v, %d sets", err, rep, r.Sets)
		}
		if id, ended := lastRun(t, path); id == before || !ended {
			t.Errorf("journal: last run %s ended=%v, want a new run, ended", id, ended)
		}
	})

	t.Run("undo ends the interrupted run", func(t *testing.T) {
		path := interruptedAfter10(t, plan)
		r := inmemory.New(atTen())
		s := &traffic.Shifter{Router: r, Plan: plan, JournalPath: path}
		rb, err := s.Undo(context.Background(), "asked for with --rollback")
		if err != nil || !rb.VerifiedOK {
			t.Fatalf("Undo: %v %+v", err, rb)
		}
		if w, _ := r.Observe(context.Background()); !start().Covers(w) {
			t.Errorf("after Undo the router has %s, want %s", w, start())
		}
		if _, ended := lastRun(t, path); !ended {
			t.Error("the interrupted run did not end")
		}
		rep, err := s.Shift(context.Background())
		if err != nil || rep.Steps[0].Skipped {
			t.Errorf("a shift after Undo: %v, steps %+v; want it to start from the first step", err, rep.Steps)
		}
	})

	t.Run("undo that is not verified leaves the run resumable", func(t *testing.T) {
		path := interruptedAfter10(t, plan)
		r := inmemory.New(atTen())
		r.Lag = 1 << 30 // never applies
		s := &traffic.Shifter{Router: r, Plan: plan, JournalPath: path, VerifyTimeout: 100 * time.Millisecond}
		if _, err := s.Undo(context.Background(), "test"); err == nil || !strings.Contains(err.Error(), "rollback to ") {
			t.Fatalf("Undo = %v, want a rollback error", err)
		}
		if _, ended := lastRun(t, path); ended {
			t.Error("the interrupted run ended though the rollback was not verified")
		}
	})
}

func TestJournalPath(t *testing.T) {
	dir := t.TempDir()
	a, b := traffic.JournalPath(dir, "haproxy:///a.sock?backend=x"), traffic.JournalPath(dir, "haproxy:///b.sock?backend=x")
	if a == b || filepath.Dir(a) != dir || !strings.HasPrefix(filepath.Base(a), "shift-") || filepath.Ext(a) != ".jsonl" {
		t.Errorf("JournalPath = %s, %s; want distinct shift-KEY.jsonl files in %s", a, b, dir)
	}
	if got := traffic.JournalPath(dir, "haproxy:///a.sock?backend=x"); got != a {
		t.Errorf("JournalPath is not stable: %s, then %s", a, got)
	}
}

// A rollback that fails (the router refuses every try) ends the run: run
// again, the shift does not resume at the step whose gate failed, with the
// target still at its weight; it is refused, saying to roll back.
func TestShifterFailedRollbackIsNotResumedForward(t *testing.T) {
	defer traffic.QuickRollbackRetries()()
	path := traffic.JournalPath(t.TempDir(), "inmemory://test")
	r := inmemory.New(traffic.Weights{"app": {"blue": 100, "green": 0}})
	plan, err := traffic.NewPlan([]string{"app"}, "blue", "green", []int{10, 50, 100})
	if err != nil {
		t.Fatal(err)
	}
	failing := gateFunc(func() error {
		w, _ := r.Observe(context.Background())
		if w["app"]["green"] == 50 {
			r.FailSet = errors.New("throttled")
			return errors.New("green answers 503")
		}
		return nil
	})
	s := &traffic.Shifter{Router: r, Plan: plan, Gates: []traffic.Gate{failing}, GateEvery: time.Millisecond, Pause: 5 * time.Millisecond, VerifyTimeout: time.Second, JournalPath: path}
	if _, err := s.Shift(context.Background()); err == nil || !strings.Contains(err.Error(), "--rollback") {
		t.Fatalf("shift with a failing rollback: %v, want an error saying to roll back", err)
	}
	r.FailSet = nil
	again := &traffic.Shifter{Router: r, Plan: plan, GateEvery: time.Millisecond, Pause: 5 * time.Millisecond, VerifyTimeout: time.Second, JournalPath: path}
	if _, err := again.Shift(context.Background()); !errors.Is(err, traffic.ErrInvalid) {
		t.Fatalf("the same shift run again: %v, want it refused", err)
	}
	if w, _ := r.Observe(context.Background()); w["app"]["green"] != 50 {
		t.Fatalf("weights after the refused re-run: %s, want green still at 50 (nothing set)", w)
	}
}
