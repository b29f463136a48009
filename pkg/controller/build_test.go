package controller

import (
	"testing"
	"time"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/journal"
)

func TestParseTraffic(t *testing.T) {
	tests := []struct {
		name       string
		in         tandemv1.Traffic
		wantReason string
		steps      int
		gates      int
	}{
		{name: "defaults", in: tandemv1.Traffic{}, steps: 5},
		{name: "steps and gates", in: tandemv1.Traffic{Steps: []int32{0, 50, 100}, Pause: "1s",
			Gates: []tandemv1.Gate{{HTTP: &tandemv1.HTTPGate{URL: "http://x/", MaxFailures: 0.1}}, {Command: "true"}}}, steps: 3, gates: 2},
		{name: "decreasing steps", in: tandemv1.Traffic{Steps: []int32{50, 10}}, wantReason: ReasonInvalidSpec},
		{name: "bad pause", in: tandemv1.Traffic{Pause: "soon"}, wantReason: ReasonInvalidSpec},
		{name: "gate without a kind", in: tandemv1.Traffic{Gates: []tandemv1.Gate{{}}}, wantReason: ReasonInvalidSpec},
		{name: "http gate not a URL", in: tandemv1.Traffic{Gates: []tandemv1.Gate{{HTTP: &tandemv1.HTTPGate{URL: "ftp://x"}}}}, wantReason: ReasonInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := parseTraffic(tt.in)
			if tt.wantReason != "" {
				if r, ok := reasonOf(err); !ok || r != tt.wantReason {
					t.Fatalf("err %v, want reason %s", err, tt.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tp.steps) != tt.steps || len(tp.pauses) != tt.steps || len(tp.gates) != tt.gates {
				t.Fatalf("steps %v pauses %v gates %d", tp.steps, tp.pauses, len(tp.gates))
			}
		})
	}
}

func TestPhaseLogFollowsTheJournal(t *testing.T) {
	at := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	recs := []journal.Record{
		{Op: journal.OpStart, Time: at},
		{Op: journal.OpDone, Key: "pause-mirror", Time: at, Detail: map[string]string{"skipped": "no mirror"}},
		{Op: journal.OpIntent, Key: "sync", Time: at},
		{Op: journal.OpDone, Key: "sync", Time: at.Add(time.Second)},
		{Op: journal.OpIntent, Key: "activate", Time: at.Add(time.Second)},
		{Op: journal.OpFailed, Key: "activate", Time: at.Add(2 * time.Second), Detail: map[string]string{"error": "timeout"}},
		{Op: "undo", Key: "activate", Time: at.Add(3 * time.Second)},
	}
	var l phaseLog
	for _, r := range recs {
		l.add(r)
	}
	got := map[string]string{}
	for _, p := range l.list() {
		got[p.Name] = p.Result
	}
	want := map[string]string{"pause-mirror": "skipped: no mirror", "sync": "ok", "activate": "failed: timeout", "undo activate": "ok"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("phases %v, want %v", got, want)
	}
	// A new run starts the list over.
	l.add(journal.Record{Op: journal.OpStart})
	if n := len(l.list()); n != 0 {
		t.Fatalf("%d phases after a new start", n)
	}
}

func TestLeaderElectionIDPerShard(t *testing.T) {
	a, b := LeaderElectionID("team=a"), LeaderElectionID("team=b")
	if a == b || a == LeaderElectionID("") || a != LeaderElectionID("team=a") {
		t.Fatalf("ids: %q %q %q", a, b, LeaderElectionID(""))
	}
	if len(a) > 63 {
		t.Fatalf("%q is too long for a Lease name", a)
	}
}
