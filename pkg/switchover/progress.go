package switchover

import (
	"time"

	"github.com/tandem-io/tandem/pkg/journal"
)

// PhaseProgress is one phase (or undo step) of a run as its journal tells it.
type PhaseProgress struct {
	Name     string
	Started  time.Time // zero for a phase skipped
	Finished time.Time // zero while it runs
	Result   string    // running, ok, skipped: …, failed: …
}

// Progress folds the records of one run (journal.LastRun) into its phases,
// in the order they began; the undo steps come as "undo PHASE".
func Progress(run []journal.Record) []PhaseProgress {
	var out []PhaseProgress
	find := func(name string) *PhaseProgress {
		for i := range out {
			if out[i].Name == name {
				return &out[i]
			}
		}
		out = append(out, PhaseProgress{Name: name})
		return &out[len(out)-1]
	}
	for _, rec := range run {
		switch rec.Op {
		case journal.OpStart:
			out = nil
		case journal.OpIntent:
			p := find(rec.Key)
			p.Started, p.Finished, p.Result = rec.Time, time.Time{}, "running"
		case journal.OpDone:
			p := find(rec.Key)
			p.Finished, p.Result = rec.Time, "ok"
			if why := rec.Detail["skipped"]; why != "" {
				p.Result = "skipped: " + why
			}
		case journal.OpFailed:
			p := find(rec.Key)
			p.Finished, p.Result = rec.Time, "failed: "+rec.Detail["error"]
		case opUndo:
			p := find("undo " + rec.Key)
			p.Finished, p.Result = rec.Time, "ok"
			if e := rec.Detail["error"]; e != "" {
				p.Result = "failed: " + e
			}
		}
	}
	return out
}

// opUndo is the record of an undo step.
const opUndo = "undo"
