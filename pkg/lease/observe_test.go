package lease

import (
	"testing"
	"time"
)

func TestStale(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"just seen", t0, false},
		{"within the duration", t0.Add(14 * time.Second), false},
		{"at the duration", t0.Add(15 * time.Second), true},
		{"past it", t0.Add(time.Minute), true},
	} {
		if got := Stale(t0, c.now, 15*time.Second); got != c.want {
			t.Errorf("%s: Stale = %v, want %v", c.name, got, c.want)
		}
	}
}

// The holder's renewTime is never compared with the observer's clock: a
// holder whose clock is an hour behind (or ahead) is live as long as its
// record keeps changing, and a record that stops changing goes stale after
// the duration measured from when this observer saw it change.
func TestObserverJudgesByObservedTime(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	skewed := now.Add(-time.Hour) // the holder's clock
	rec := func(renewed time.Time, ann map[string]string) *Record {
		return &Record{Holder: "sre@box pid 1", Acquired: skewed, Renewed: renewed, DurationSeconds: 15, Annotations: ann}
	}
	var o Observer
	if !o.Observe(rec(skewed, nil), now) {
		t.Fatal("the first record is not a change")
	}
	if o.Stale(now, time.Minute) {
		t.Fatal("a record an hour old by the holder's clock, just seen, is stale")
	}
	// Renewed 2s later by the holder's clock, seen 10s later here.
	if !o.Observe(rec(skewed.Add(2*time.Second), nil), now.Add(10*time.Second)) {
		t.Fatal("a renewal is not a change")
	}
	// Others annotating the lease (a pause request) say nothing about the holder.
	if o.Observe(rec(skewed.Add(2*time.Second), map[string]string{"tandem.io/mirror-pause": "true"}), now.Add(20*time.Second)) {
		t.Fatal("an annotation is taken for a renewal")
	}
	if o.Record().Annotations["tandem.io/mirror-pause"] != "true" {
		t.Error("the newest annotations are not kept")
	}
	if got := o.Unchanged(now.Add(20 * time.Second)); got != 10*time.Second {
		t.Errorf("Unchanged = %s, want 10s", got)
	}
	// The record's own duration (15s) rules, not the caller's default.
	if o.Stale(now.Add(24*time.Second), time.Minute) {
		t.Error("stale 14s after the last change seen")
	}
	if !o.Stale(now.Add(25*time.Second), time.Minute) {
		t.Error("not stale 15s after the last change seen")
	}
	// A new holder is a change.
	taken := rec(skewed.Add(2*time.Second), nil)
	taken.Holder = "sre@other pid 2"
	if !o.Observe(taken, now.Add(30*time.Second)) || o.Stale(now.Add(30*time.Second), time.Minute) {
		t.Error("a new holder is not a fresh change")
	}
}

func TestReleasedIsFreeNotStale(t *testing.T) {
	var o Observer
	t0 := time.Now()
	o.Observe(&Record{Holder: ""}, t0)
	if o.Stale(t0.Add(time.Hour), time.Second) {
		t.Error("a released lease is judged stale")
	}
	var empty Observer
	if empty.Stale(t0, time.Second) || empty.Unchanged(t0) != 0 {
		t.Error("an observer that saw nothing judges")
	}
}

func TestRecordDuration(t *testing.T) {
	if got := (&Record{}).Duration(7 * time.Second); got != 7*time.Second {
		t.Errorf("no declared duration: %s", got)
	}
	if got := (&Record{DurationSeconds: 30}).Duration(7 * time.Second); got != 30*time.Second {
		t.Errorf("declared 30s: %s", got)
	}
}
