package apply

import (
	"github.com/tandem-io/tandem/pkg/plan"
)

// Status is what happened to one object.
type Status string

// Statuses of a result.
const (
	Created   Status = "created"
	Updated   Status = "updated"
	Unchanged Status = "unchanged"
	Skipped   Status = "skipped"
	Conflict  Status = "conflict"
	Failed    Status = "failed"
	// Planned is the status of every object in a dry run.
	Planned Status = "planned"
)

// Result is the outcome for one object.
type Result struct {
	Wave      string      `json:"wave"`
	Group     string      `json:"group,omitempty"`
	Kind      string      `json:"kind"`
	Namespace string      `json:"namespace,omitempty"`
	Name      string      `json:"name"`
	Action    plan.Action `json:"action"`
	Status    Status      `json:"status"`
	Reason    string      `json:"reason,omitempty"`
	Notes     []string    `json:"notes,omitempty"`
	Why       string      `json:"why,omitempty"`
	// Transient says the failure can pass by itself (the namespace not
	// there yet, an owner not copied yet, a webhook or the apiserver
	// unavailable, throttled): a caller that keeps going (the mirror)
	// tries again later.
	Transient bool `json:"transient,omitempty"`
	// OwnersDropped says the object was written without some of its
	// owner references, their owners not in the target (its notes say
	// which): a caller that keeps going (the mirror) writes it again once
	// they may be there.
	OwnersDropped bool `json:"-"`
}

// Wrote reports whether the result changed the target.
func (r Result) Wrote() bool { return r.Status == Created || r.Status == Updated }

// Bad reports whether the result needs the user's attention.
func (r Result) Bad() bool { return r.Status == Failed || r.Status == Conflict }

// Events receives progress as the plan runs; implementations must be safe
// for concurrent use. The CLI draws progress bars from it.
// A wave's objects are counted apart from its Steps: a wave applied as
// its steps come (Stream) has none when it starts.
type Events interface {
	WaveStarted(w plan.Wave, objects int)
	ObjectDone(r Result)
	WaveDone(w plan.Wave, objects int)
}

// NoEvents ignores progress.
type NoEvents struct{}

// WaveStarted does nothing.
func (NoEvents) WaveStarted(plan.Wave, int) {}

// ObjectDone does nothing.
func (NoEvents) ObjectDone(Result) {}

// WaveDone does nothing.
func (NoEvents) WaveDone(plan.Wave, int) {}

func resultOf(w plan.Wave, s plan.Step) Result {
	d := s.Ref
	return Result{Wave: w.Name, Group: d.GroupVersionKind().Group, Kind: d.Kind, Namespace: d.Namespace, Name: d.Name,
		Action: s.Action, Reason: s.Reason, Notes: append([]string(nil), s.Decision.Notes...), Why: s.Why}
}

// Summary counts results per kind and status.
type Summary struct {
	Kind   string         `json:"kind"`
	Counts map[Status]int `json:"counts"`
}

// Summarize tallies results per kind (in first-seen order) and overall.
func Summarize(rs []Result) ([]Summary, map[Status]int) {
	idx := map[string]int{}
	var out []Summary
	total := map[Status]int{}
	for _, r := range rs {
		k := r.Kind
		if r.Group != "" {
			k += "." + r.Group
		}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Summary{Kind: k, Counts: map[Status]int{}})
		}
		out[i].Counts[r.Status]++
		total[r.Status]++
	}
	return out, total
}
