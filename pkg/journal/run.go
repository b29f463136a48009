package journal

import (
	"fmt"
	"maps"
	"path/filepath"
	"sync"
)

// Run is one run of a verb in its journal: begun (or resumed) once, its
// steps written as intent before they act and done after, ended when the
// verb finished. Every verb writes its journal through a Run, so the
// lifecycle — begin, resume, intent/done, end — is written once.
type Run struct {
	j  Log
	ID string
	// Resumed says the run continues an interrupted one (same ID).
	Resumed bool
	// Start is the detail of the run's start record (the interrupted run's when resumed).
	Start map[string]string

	mu      sync.Mutex
	done    map[string]map[string]string // key → done detail
	intents map[string]map[string]string // key → first intent detail
}

// Resume says what Begin does with an interrupted run of the journal.
type Resume int

const (
	// Continue: an interrupted run goes on under its own ID; its done steps stay done.
	Continue Resume = iota
	// Fresh: a new run always begins; what an interrupted one did is only
	// reported (Previous), for verbs whose steps are idempotent anyway.
	Fresh
)

// Begin opens the journal at path and begins a run: with Continue, an
// interrupted run (no end record) is resumed; else a new run is started
// with a start record carrying detail. Close the run when done (End first
// when it finished).
func Begin(path string, resume Resume, detail map[string]string) (*Run, *Previous, error) {
	j, recs, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	return BeginIn(j, recs, resume, detail)
}

// BeginIn is Begin in a journal opened elsewhere (a file, or an object of
// the management cluster for the controller): j and the records it holds.
func BeginIn(j Log, recs []Record, resume Resume, detail map[string]string) (*Run, *Previous, error) {
	last, ended := LastRun(recs)
	var prev *Previous
	if len(last) > 0 && !ended {
		prev = &Previous{ID: last[0].Run, Done: len(Done(last))}
	}
	r := &Run{j: j, done: map[string]map[string]string{}, intents: map[string]map[string]string{}}
	if prev != nil && resume == Continue {
		r.ID, r.Resumed = prev.ID, true
		for _, rec := range last {
			switch rec.Op {
			case OpStart:
				r.Start = rec.Detail
			case OpIntent:
				if _, seen := r.intents[rec.Key]; !seen {
					r.intents[rec.Key] = rec.Detail
				}
			case OpDone:
				r.done[rec.Key] = rec.Detail
			}
		}
		return r, prev, nil
	}
	r.ID, r.Start = NewRunID(), detail
	if err := r.append(Record{Op: OpStart, Detail: detail}); err != nil {
		j.Close()
		return nil, nil, err
	}
	return r, prev, nil
}

// Previous is an interrupted run Begin found.
type Previous struct {
	ID   string
	Done int // steps it finished
}

// Done says whether step key is done in this run, and its detail.
func (r *Run) Done(key string) (map[string]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.done[key]
	return d, ok
}

// DoneKeys returns the keys of the steps done in this run.
func (r *Run) DoneKeys() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]bool, len(r.done))
	for k := range r.done {
		out[k] = true
	}
	return out
}

// Intent writes that step key is about to act (detail: what a resume needs
// if it stops half-way). The first intent of a key in the run is kept.
func (r *Run) Intent(key string, detail map[string]string) error {
	r.mu.Lock()
	if _, seen := r.intents[key]; !seen {
		r.intents[key] = maps.Clone(detail)
	}
	r.mu.Unlock()
	return r.append(Record{Op: OpIntent, Key: key, Detail: detail})
}

// FirstIntent returns the detail of the first intent of key in this run (a copy).
func (r *Run) FirstIntent(key string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	maps.Copy(out, r.intents[key])
	return out
}

// MarkDone writes that step key finished, with what later steps need.
func (r *Run) MarkDone(key string, detail map[string]string) error {
	if err := r.append(Record{Op: OpDone, Key: key, Detail: detail}); err != nil {
		return err
	}
	if detail == nil {
		detail = map[string]string{}
	}
	r.mu.Lock()
	r.done[key] = detail
	r.mu.Unlock()
	return nil
}

// Failed writes that step key failed, and why.
func (r *Run) Failed(key, reason string) error {
	return r.append(Record{Op: OpFailed, Key: key, Detail: map[string]string{"reason": reason}})
}

// Step runs f as step key unless it is done: intent, f, done. It returns
// whether f ran.
func (r *Run) Step(key string, intent map[string]string, f func() (map[string]string, error)) (bool, error) {
	if _, ok := r.Done(key); ok {
		return false, nil
	}
	if err := r.Intent(key, intent); err != nil {
		return false, err
	}
	detail, err := f()
	if err != nil {
		return true, err
	}
	return true, r.MarkDone(key, detail)
}

// Note writes a record of the verb's own (op not one of the shared ones).
func (r *Run) Note(op, key string, detail map[string]string) error {
	return r.append(Record{Op: op, Key: key, Detail: detail})
}

// End writes that the run finished: nothing to resume. A journal file is
// then compacted to this run alone, so it never grows with history.
func (r *Run) End(detail map[string]string) error {
	if err := r.append(Record{Op: OpEnd, Detail: detail}); err != nil {
		return err
	}
	if j, ok := r.j.(*Journal); ok {
		return j.compact(r.ID, false)
	}
	return nil
}

// EndSummary is End for a run whose step records matter only while it
// runs (sync's per-object records): the journal keeps its start and end
// records alone, the end's detail being the summary.
func (r *Run) EndSummary(detail map[string]string) error {
	if err := r.append(Record{Op: OpEnd, Detail: detail}); err != nil {
		return err
	}
	if j, ok := r.j.(*Journal); ok {
		return j.compact(r.ID, true)
	}
	return nil
}

// Close closes the journal.
func (r *Run) Close() error { return r.j.Close() }

// Journal is the run's open journal, for a writer that appends records of
// its own under the run's ID (pkg/apply's per-object records).
func (r *Run) Journal() Log { return r.j }

// Path is the journal file under dir of a verb run against the clusters
// with these identities: "<verb>-<id>-….jsonl", each id cut to its first 8
// characters (one journal per verb and clusters).
func Path(dir, verb string, ids ...string) string {
	name := verb
	for _, id := range ids {
		if len(id) > 8 {
			id = id[:8]
		}
		name += "-" + id
	}
	return filepath.Join(dir, name+".jsonl")
}

func (r *Run) append(rec Record) error {
	rec.Run = r.ID
	if err := r.j.Append(rec); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
