package switchover

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/traffic"
)

func rec(role string, epoch int64) *Record { return &Record{Role: role, Epoch: epoch} }

func TestDecide(t *testing.T) {
	cases := []struct {
		name       string
		a, b       Side
		active     string
		epoch      int64
		problemHas string // "" means no problems
	}{
		{"equal epochs, opposite roles", Side{Context: "blue", Record: rec(RoleActive, 3)}, Side{Context: "green", Record: rec(RoleStandby, 3), Standby: true}, "blue", 3, ""},
		{"higher epoch wins", Side{Context: "blue", Record: rec(RoleActive, 3)}, Side{Context: "green", Record: rec(RoleActive, 4)}, "green", 4, "blue still says active at epoch 3"},
		{"both active same epoch", Side{Context: "blue", Record: rec(RoleActive, 2)}, Side{Context: "green", Record: rec(RoleActive, 2)}, "", 2, "records disagree"},
		{"no records: the marker decides", Side{Context: "blue"}, Side{Context: "green", Standby: true}, "blue", 0, ""},
		{"no records, no marker", Side{Context: "blue"}, Side{Context: "green"}, "", 0, "both would take traffic"},
		{"a later deactivate agrees", Side{Context: "blue", Record: rec(RoleStandby, 7), Standby: true}, Side{Context: "green", Record: rec(RoleActive, 6)}, "green", 7, ""},
		{"one record only", Side{Context: "blue"}, Side{Context: "green", Record: rec(RoleActive, 1)}, "green", 1, ""},
		{"standby record but no marker", Side{Context: "blue", Record: rec(RoleActive, 5)}, Side{Context: "green", Record: rec(RoleStandby, 5)}, "blue", 5, "no standby marker"},
		{"active record but marker", Side{Context: "blue", Record: rec(RoleActive, 5), Standby: true}, Side{Context: "green", Record: rec(RoleStandby, 5), Standby: true}, "blue", 5, "carries the standby marker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Decide(c.a, c.b)
			if v.Active != c.active || v.Epoch != c.epoch {
				t.Fatalf("Decide = active %q epoch %d, want %q %d (problems %v)", v.Active, v.Epoch, c.active, c.epoch, v.Problems)
			}
			all := strings.Join(v.Problems, "\n")
			if c.problemHas == "" && all != "" {
				t.Fatalf("unexpected problems: %s", all)
			}
			if !strings.Contains(all, c.problemHas) {
				t.Fatalf("problems %q do not mention %q", all, c.problemHas)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	in := &Record{Role: RoleStandby, Epoch: 7, Peer: "uid-1", PeerContext: "green", Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Who: "sre@host", Reason: "drill", Router: "haproxy:///x.sock?backend=b",
		LastDrill: &Drilled{Time: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), Result: "passed", Seconds: 12.5}}
	out, err := decodeRecord(encodeRecord(in))
	if err != nil {
		t.Fatal(err)
	}
	if out.Role != in.Role || out.Epoch != in.Epoch || out.Peer != in.Peer || !out.Time.Equal(in.Time) || out.Router != in.Router || out.LastDrill == nil || out.LastDrill.Result != "passed" {
		t.Fatalf("round trip: %+v", out)
	}
	if _, err := decodeRecord(map[string]string{"role": "primary", "epoch": "1"}); err == nil {
		t.Fatal("a role other than active/standby was accepted")
	}
	if _, err := decodeRecord(map[string]string{"role": "active", "epoch": "x"}); err == nil {
		t.Fatal("a bad epoch was accepted")
	}
}

func TestHolderRoundTrip(t *testing.T) {
	h := Holder{Who: "sre@box", PID: 4242, Run: "r1", What: "switchover to green"}
	got := parseHolder(h.String())
	if got != h {
		t.Fatalf("parseHolder(%q) = %+v", h.String(), got)
	}
	// A process of this machine that does not exist is a crashed run; this process is not.
	gone := Holder{Who: Who(), PID: 1 << 22}
	if !gone.crashedHere() {
		t.Fatal("a holder whose pid does not exist on this machine is not taken for crashed")
	}
	if (Holder{Who: "someone@elsewhere", PID: 1 << 22}).crashedHere() {
		t.Fatal("a holder on another machine was taken for crashed")
	}
}

func TestFindPending(t *testing.T) {
	recs := []journal.Record{
		{Run: "a", Op: journal.OpStart, Detail: map[string]string{detailFrom: "blue", detailTo: "green", detailEpoch: "3"}},
		{Run: "a", Op: journal.OpEnd},
		{Run: "b", Op: journal.OpStart, Detail: map[string]string{detailFrom: "blue", detailTo: "green", detailEpoch: "4", detailOrig: `{"blue":{"role":"active","epoch":3}}`}},
		{Run: "b", Op: journal.OpIntent, Key: PhasePauseMirror},
		{Run: "b", Op: journal.OpDone, Key: PhasePauseMirror},
		{Run: "b", Op: journal.OpIntent, Key: PhaseSync},
	}
	p := FindPending(recs)
	if p == nil || p.Run != "b" || p.Epoch != 4 || !p.Done[PhasePauseMirror] || p.Done[PhaseSync] || !p.Begun[PhaseSync] || p.Orig["blue"].Epoch != 3 {
		t.Fatalf("FindPending = %+v", p)
	}
	if FindPending(recs[:2]) != nil {
		t.Fatal("an ended run was taken for pending")
	}
}

func TestRunbookNamesTheCommands(t *testing.T) {
	md := Runbook(Pair{Active: "blue", Standby: "green", Epoch: 4, Router: "haproxy:///run/h.sock?backend=app", Generated: time.Now(), Problems: []string{"green: lag"}})
	for _, want := range []string{
		"tandem switchover --source blue --target green --to green --router 'haproxy:///run/h.sock?backend=app'",
		"--source-unreachable",
		"tandem shift --router 'haproxy:///run/h.sock?backend=app' --from blue --to green --rollback",
		"tandem deactivate --cluster blue",
		"tandem drill",
		"epoch 5",
		"green: lag",
		"No drill recorded yet",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("runbook lacks %q", want)
		}
	}
}

func TestDrillJudge(t *testing.T) {
	ok := Report{From: "blue", To: "green", Completed: true, Phases: []PhaseReport{{Phase: PhaseShift, Took: time.Second}}}
	back := Report{From: "green", To: "blue", Completed: true}
	r := DrillReport{Active: "blue", Standby: "green", Legs: []Report{ok, back}, Probe: &traffic.ProbeResult{Sent: 100, OK: 100}, Started: time.Now().Add(-time.Minute), Finished: time.Now()}
	r.Judge()
	if !r.Passed || r.Result != "passed" {
		t.Fatalf("clean drill judged %q", r.Result)
	}
	r.Probe = &traffic.ProbeResult{Sent: 100, OK: 97, Failed: 3}
	r.Judge()
	if r.Passed || !strings.Contains(r.Result, "3 of 100 requests failed") {
		t.Fatalf("drill with failures judged %q", r.Result)
	}
	r.Probe = nil
	r.Legs = []Report{ok}
	r.Judge()
	if r.Passed || !strings.Contains(r.Result, "did not switch back") {
		t.Fatalf("one-leg drill judged %q", r.Result)
	}
	md := r.Markdown()
	if !strings.Contains(md, "FAILED") || !strings.Contains(md, "| shift | 1s | ok |") {
		t.Fatalf("markdown:\n%s", md)
	}
}

func TestDrillReportReadsBack(t *testing.T) {
	in := DrillReport{Active: "a", Standby: "b", Took: Duration(1500 * time.Millisecond), Result: "passed", Passed: true}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out DrillReport
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if out.Took != in.Took || out.Result != "passed" {
		t.Fatalf("read back %+v from %s", out, b)
	}
}

// A drill report is told to be a pair's by the clusters' identities, and
// a report kept before those were by the contexts' names.
func TestDrillReportOf(t *testing.T) {
	ids, contexts := [2]string{"uid-a", "uid-b"}, [2]string{"blue", "green"}
	for _, c := range []struct {
		name string
		r    DrillReport
		want bool
	}{
		{"same identities", DrillReport{Active: "x", Standby: "y", Pair: []string{"uid-a", "uid-b"}}, true},
		{"same identities, other order", DrillReport{Pair: []string{"uid-b", "uid-a"}}, true},
		{"another pair of the same names", DrillReport{Active: "blue", Standby: "green", Pair: []string{"uid-a", "uid-c"}}, false},
		{"an old report of these names", DrillReport{Active: "green", Standby: "blue"}, true},
		{"an old report of other names", DrillReport{Active: "prod", Standby: "dr"}, false},
	} {
		if got := c.r.Of(ids, contexts); got != c.want {
			t.Errorf("%s: Of = %v, want %v", c.name, got, c.want)
		}
	}
}
