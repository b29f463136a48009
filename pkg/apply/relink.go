package apply

import (
	"context"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// relinks are the objects a session wrote without some of their owner
// references, their owners not in the target then: a ConfigMap that a
// Deployment owns without being its controller is written in an earlier
// wave than its owner. Once the waves are done, each is written again
// with the references whose owners are there by then (Session.relink), so
// one run leaves them as the source has them. Few objects have such
// references, and they are held only until then.
type relinks struct {
	mu      sync.Mutex
	pending map[string]relink // by journalKey
}

// relink is one object to write again: its step, and the references left
// out when it was first written (its result's notes name them; a relink
// replaces those).
type relink struct {
	s       plan.Step
	dropped []metav1.OwnerReference
}

func (rl *relinks) add(s plan.Step, dropped []metav1.OwnerReference) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.pending == nil {
		rl.pending = map[string]relink{}
	}
	rl.pending[journalKey(s)] = relink{s: s, dropped: dropped}
}

// take hands over the pending objects, leaving none.
func (rl *relinks) take() map[string]relink {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	p := rl.pending
	rl.pending = nil
	return p
}

// relinkNote replaces the notes of the references dropped at the first
// write, on an object that has them all now.
const relinkNote = "owner references added once their owners were written (a later wave)"

// relink writes again each pending object whose owners, or some of them,
// are in the target now, and amends its result: its notes say what it has.
// One still missing an owner it had before is left as it is (its hash,
// plan.OwnersDroppedHash, has the next run try again); one still missing
// some stays pending for a later plan of the session. The error is only
// for a run that cannot go on (context, journal).
func (ss *Session) relink(ctx context.Context) error {
	r := ss.r
	pending := r.relinks.take()
	if len(pending) == 0 {
		return nil
	}
	amend := map[string]func(*Result){}
	for key, p := range pending {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var res Result
		body, dropped, err := r.body(ctx, p.s, &res)
		if err != nil || len(dropped) >= len(p.dropped) {
			if err == nil {
				r.relinks.add(p.s, p.dropped)
			}
			continue
		}
		if err := r.journal("intent", key, map[string]string{"action": "relink", "hash": p.s.Hash}); err != nil {
			return err
		}
		_, err = r.ssaWithRetry(ctx, p.s, body, &res)
		if aligned, ok := r.alignOnConflict(ctx, p.s, body, err); ok {
			_, err = r.ssaWithRetry(ctx, p.s, aligned, &res)
		}
		op, status := "done", Updated
		if err != nil {
			op, status = "failed", Failed
		}
		if jerr := r.journal(op, key, map[string]string{"status": string(status), "step": "relink"}); jerr != nil {
			return jerr
		}
		if len(dropped) > 0 {
			r.relinks.add(p.s, dropped) // its result's notes now name these
		}
		amend[key] = func(out *Result) {
			notes := make([]string, 0, len(out.Notes))
			droppedNotes := sanitize.DroppedNotes(p.dropped)
			for _, n := range out.Notes {
				if !slices.Contains(droppedNotes, n) {
					notes = append(notes, n)
				}
			}
			switch {
			case err != nil:
				notes = append(notes, "its owners' references could not be added once they were written: "+shortErr(err)+"; the next run adds them")
				notes = append(notes, res.Notes...)
			case len(dropped) > 0:
				notes = append(notes, res.Notes...)
			default:
				notes = append(notes, relinkNote)
			}
			out.Notes, out.OwnersDropped = notes, err != nil || len(dropped) > 0
			if err == nil && out.Status == Unchanged {
				out.Status = Updated // left as it was at first, written now
			}
		}
	}
	ss.results.amend(func(r Result) string { return strings.Join([]string{r.Group, r.Kind, r.Namespace, r.Name}, "/") }, amend)
	return nil
}
