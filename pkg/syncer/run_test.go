package syncer

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
)

func TestJournalPath(t *testing.T) {
	// Where earlier syncs left their journal: it must not change.
	if got, want := JournalPath("/j", "0f3c9a51-2b6e", "a1b2c3d4e5f6"), filepath.Join("/j", "sync-0f3c9a51-a1b2c3d4.jsonl"); got != want {
		t.Errorf("JournalPath = %s, want %s", got, want)
	}
}

// An empty plan writes nothing to the target, so Run's journal can be
// checked without a cluster.
func TestRunJournal(t *testing.T) {
	ctx := context.Background()
	source, target := &cluster.Conn{Context: "blue"}, &cluster.Conn{Context: "green"}
	path := filepath.Join(t.TempDir(), "sync.jsonl")

	// A run that stopped after writing one object.
	old, _, err := journal.Begin(path, journal.Fresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.MarkDone("/ConfigMap/shop/a", nil); err != nil {
		t.Fatal(err)
	}
	old.Close()

	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("example.com/v2")
	cm.SetKind("Widget")
	cm.SetNamespace("shop")
	cm.SetName("w")
	prep := &Prepared{Unshared: []Unshared{{Object: cm, Fix: "upgrade"}}}
	var told []string
	results, err := Run(ctx, source, target, prep, Options{JournalPath: path, Resuming: func(run string, written int) {
		if run != old.ID || written != 1 {
			t.Errorf("Resuming(%s, %d), want (%s, 1)", run, written, old.ID)
		}
		told = append(told, run)
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(told) != 1 {
		t.Errorf("Resuming called %d times, want once", len(told))
	}
	if len(results) != 1 || results[0].Status != apply.Failed || results[0].Kind != "Widget" {
		t.Errorf("results %+v, want the unshared Widget as failed", results)
	}

	_, recs, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	last, ended := journal.LastRun(recs)
	if !ended || len(last) != 2 || last[0].Run == old.ID {
		t.Fatalf("last run %+v (ended %v), want a new run of a start and an end", last, ended)
	}
	if s := last[0]; s.Op != journal.OpStart || s.Detail[detailSource] != "blue" || s.Detail[detailTarget] != "green" {
		t.Errorf("start record %+v", s)
	}
	if e := last[1]; e.Detail[string(apply.Failed)] != "1" {
		t.Errorf("end record %+v, want the counts (failed 1)", e)
	}
}

// The early start's goroutine and the stream both ask for the writer, at
// the same moment when the namespaced lists are quick: they get the one run
// (a second Begin would find the journal locked: "in use by another run").
func TestDeferredBeginsOneRunForConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync.jsonl")
	d := Defer("source", &cluster.Conn{Context: "target"}, Options{JournalPath: path})
	const n = 8
	got := make([]*Writer, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = d.Writer()
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] == nil || got[i] != got[0] {
			t.Fatalf("writer %d: %p, %v; want the one writer %p", i, got[i], errs[i], got[0])
		}
	}
	if _, err := got[0].Finish(context.Background(), &Prepared{}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	recs, err := journal.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	for _, r := range recs {
		if r.Op == journal.OpStart {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("%d runs began in the journal, want 1: %+v", starts, recs)
	}
	// Closed: the journal is free for the next run.
	j, _, err := journal.Open(path)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	j.Close()
}

// A run that never wrote is not begun by Close: no journal file.
func TestDeferredNotBegunLeavesNoJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync.jsonl")
	Defer("source", &cluster.Conn{Context: "target"}, Options{JournalPath: path}).Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("journal %s after a run that never wrote: %v, want none", path, err)
	}
}

// A stash lets go only of the APIServices the apply put in the target.
func TestUnheldWritten(t *testing.T) {
	p := &Prepared{Unheld: []string{"v1.a.example.com", "v1.b.example.com", "v1.c.example.com"}}
	got := p.UnheldWritten([]apply.Result{
		{Kind: "APIService", Name: "v1.a.example.com", Status: apply.Created},
		{Kind: "APIService", Name: "v1.b.example.com", Status: apply.Failed},
		{Kind: "APIService", Name: "v1.c.example.com", Status: apply.Unchanged},
		{Kind: "ConfigMap", Name: "v1.b.example.com", Status: apply.Created},
	})
	if len(got) != 2 || got[0] != "v1.a.example.com" || got[1] != "v1.c.example.com" {
		t.Errorf("UnheldWritten: %v, want [v1.a.example.com v1.c.example.com]", got)
	}
}
