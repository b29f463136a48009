package switchover

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// legs answers each leg from a table and records the order it was asked.
func legs(answers ...func(ctx context.Context, from, to string) (Report, error)) (func(context.Context, int, string, string) (Report, error), *[]string) {
	var asked []string
	return func(ctx context.Context, i int, from, to string) (Report, error) {
		asked = append(asked, from+"→"+to)
		return answers[i](ctx, from, to)
	}, &asked
}

func completed(_ context.Context, from, to string) (Report, error) {
	return Report{From: from, To: to, Run: "r-" + to, Completed: true}, nil
}

func TestDrillRunsBothLegsInOrderAndJudges(t *testing.T) {
	leg, asked := legs(completed, completed)
	var heard []int
	d := &Drill{Active: "a", Standby: "s", Started: time.Now(), Leg: leg, AfterLeg: func(r *DrillReport) { heard = append(heard, len(r.Legs)) }}
	rep, interrupted := d.Run(context.Background())
	if interrupted || !rep.Passed || rep.Result != "passed" {
		t.Fatalf("interrupted=%v passed=%v result=%q", interrupted, rep.Passed, rep.Result)
	}
	if strings.Join(*asked, ",") != "a→s,s→a" || len(heard) != 2 || heard[1] != 2 {
		t.Fatalf("asked %v, AfterLeg heard %v", *asked, heard)
	}
}

func TestDrillStopsAfterAFailedLeg(t *testing.T) {
	rolledBack := func(_ context.Context, from, to string) (Report, error) {
		return Report{From: from, To: to, Run: "r1", RolledBack: true, Err: "gate failed"}, errors.New("gate failed")
	}
	leg, asked := legs(rolledBack, completed)
	rep, interrupted := (&Drill{Active: "a", Standby: "s", Leg: leg}).Run(context.Background())
	if interrupted || rep.Passed || len(*asked) != 1 || !strings.Contains(rep.Result, "switchover to s failed (gate failed)") {
		t.Fatalf("interrupted=%v passed=%v asked=%v result=%q", interrupted, rep.Passed, *asked, rep.Result)
	}
}

func TestDrillLegThatDidNotStartIsReportedWithItsError(t *testing.T) {
	refused := func(context.Context, string, string) (Report, error) {
		return Report{}, errors.New("locked by someone")
	}
	leg, _ := legs(refused, completed)
	rep, _ := (&Drill{Active: "a", Standby: "s", Leg: leg}).Run(context.Background())
	if len(rep.Legs) != 1 || rep.Legs[0].From != "a" || rep.Legs[0].To != "s" || rep.Legs[0].Err != "locked by someone" || rep.Passed {
		t.Fatalf("legs %+v passed=%v", rep.Legs, rep.Passed)
	}
}

func TestDrillInterruptedLegIsNoVerdict(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cut := func(ctx context.Context, from, to string) (Report, error) {
		cancel()
		return Report{From: from, To: to, Run: "r1"}, ctx.Err()
	}
	leg, asked := legs(cut, completed)
	heard := 0
	rep, interrupted := (&Drill{Active: "a", Standby: "s", Leg: leg, AfterLeg: func(*DrillReport) { heard++ }}).Run(ctx)
	if !interrupted || len(*asked) != 1 || heard != 0 || len(rep.Legs) != 1 {
		t.Fatalf("interrupted=%v asked=%v AfterLeg heard %d legs %d", interrupted, *asked, heard, len(rep.Legs))
	}
}
