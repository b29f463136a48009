package syncer

import (
	"context"
	"fmt"
	"sync"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/plan"
)

// journalVerb and importVerb name sync's and import's journals and are
// the verbs in their file names.
const (
	journalVerb = "sync"
	importVerb  = "import"
)

// Journal detail keys of a sync's start record.
const (
	detailSource = "source"
	detailTarget = "target"
)

// JournalPath is the journal file, under dir, of the syncs from the cluster
// with identity sourceID to the one with targetID.
func JournalPath(dir, sourceID, targetID string) string {
	return journal.Path(dir, journalVerb, sourceID, targetID)
}

// ImportJournalPath is the journal file, under dir, of the imports into
// the cluster with identity targetID of archives exported from source (the
// context the archive names).
func ImportJournalPath(dir, source, targetID string) string {
	return journal.Path(dir, importVerb, source, targetID)
}

// Options tune Run.
type Options struct {
	// JournalPath is where the run is journaled (see JournalPath); "" journals nothing.
	JournalPath string
	// Apply tunes the writes; Run sets its Journal and RunID.
	Apply apply.Options
	// Resuming, when set, is told of an interrupted run found in the journal
	// (its id and how many objects it wrote) before anything is written.
	Resuming func(run string, written int)
}

// Run writes a prepared plan into the target, journaled: a start record,
// pkg/apply's intent and result record per object, and an end record with
// the counts once every object has its result — then the journal keeps the
// start and end alone. An interrupted run is reported (how far it got), not
// continued: a re-run is idempotent through the content hashes — the plan is
// made against the target as it is now, so what that run wrote is
// unchanged this time and not written again. The results include prep's
// Unshared objects, as failed.
func Run(ctx context.Context, source, target *cluster.Conn, prep *Prepared, o Options) ([]apply.Result, error) {
	w, err := Begin(source.Context, target, o)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if err := w.Apply(ctx, prep.Plan); err != nil {
		return append(w.session.Results(), UnsharedResults(prep)...), err
	}
	return w.Finish(ctx, prep)
}

// Writer is one journaled run of writes (see Run) whose plan comes in
// parts: Begin, Apply for each part in order — the first may be applied
// while the rest is still being read (Request.Early) — or a Stream that
// takes the rest as it is planned (Request.Stream), then Finish.
type Writer struct {
	target  *cluster.Conn
	run     *journal.Run
	session *apply.Session
}

// Begin starts the journal of a run from source (a context, or what an
// archive names) into target, telling o.Resuming of an interrupted one.
func Begin(source string, target *cluster.Conn, o Options) (*Writer, error) {
	w := &Writer{target: target}
	if o.JournalPath != "" {
		run, prev, err := journal.Begin(o.JournalPath, journal.Fresh, map[string]string{detailSource: source, detailTarget: target.Context})
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if prev != nil && o.Resuming != nil {
			o.Resuming(prev.ID, prev.Done)
		}
		o.Apply.Journal, o.Apply.RunID = run.Journal(), run.ID
		w.run = run
	}
	w.session = apply.NewSession(target, o.Apply)
	return w, nil
}

// Deferred is a Writer begun at the first write, from whichever goroutine
// writes first: Request.Early writes in a goroutine of its own while
// Prepare asks for its Stream, and both must get the one run of the one
// journal (a second Begin would find the journal locked by the first).
type Deferred struct {
	mu     sync.Mutex
	begin  func() (*Writer, error)
	w      *Writer
	err    error
	called bool
}

// Defer is Begin at the first call of the Deferred's Writer.
func Defer(source string, target *cluster.Conn, o Options) *Deferred {
	return &Deferred{begin: func() (*Writer, error) { return Begin(source, target, o) }}
}

// Writer begins the run at its first call and returns it (or Begin's
// error) at every call.
func (d *Deferred) Writer() (*Writer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.called {
		d.called = true
		d.w, d.err = d.begin()
	}
	return d.w, d.err
}

// Close lets go of the journal of a run that began; one that did not is
// not begun now.
func (d *Deferred) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w != nil {
		d.w.Close()
	}
}

// Apply writes one part of the plan; its results are kept for Finish.
func (w *Writer) Apply(ctx context.Context, p plan.Plan) error {
	_, err := w.session.Run(ctx, p)
	return err
}

// Stream is a stream of the run (for Request.Stream): its steps' results
// are kept for Finish like those of Apply.
func (w *Writer) Stream() *apply.Stream { return w.session.NewStream() }

// Finish joins the copies to their DNS sets, adds prep's Unshared objects
// as failed, and ends the journal's run: every result of every part.
func (w *Writer) Finish(ctx context.Context, prep *Prepared) ([]apply.Result, error) {
	results := append(w.session.Results(), UnsharedResults(prep)...)
	if err := JoinDNSSets(ctx, w.target, prep.Joins, results); err != nil {
		return results, err
	}
	if w.run != nil {
		_, total := apply.Summarize(results)
		if err := w.run.EndSummary(countsDetail(total)); err != nil {
			return results, err
		}
	}
	return results, nil
}

// Close lets go of the journal (a run not finished stays interrupted in it).
func (w *Writer) Close() {
	if w.run != nil {
		w.run.Close()
	}
}

// UnsharedResults are prep's Unshared objects as failed results, with the fix.
func UnsharedResults(prep *Prepared) []apply.Result {
	var out []apply.Result
	for _, u := range prep.Unshared {
		o := u.Object
		out = append(out, apply.Result{Wave: "-", Group: o.GroupVersionKind().Group, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(),
			Status: apply.Failed, Reason: "no API version served by both clusters: " + u.Fix})
	}
	return out
}

// countsDetail is the end record's detail: objects per status.
func countsDetail(total map[apply.Status]int) map[string]string {
	d := map[string]string{}
	for k, v := range total {
		d[string(k)] = fmt.Sprint(v)
	}
	return d
}
