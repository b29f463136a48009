package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/volume"
)

// printPlan writes the dry run (or the blockers) of a handoff.
func (o *HandoffOptions) printPlan(source, target *cluster.Conn, vols []volume.Volume, blockers []volume.Blocker, warnings []string) error {
	out := struct {
		Source   string           `json:"source"`
		Target   string           `json:"target"`
		Volumes  []volume.Volume  `json:"volumes"`
		Steps    []string         `json:"steps"`
		Blockers []volume.Blocker `json:"blockers"`
		Warnings []string         `json:"warnings,omitempty"`
	}{source.Context, target.Context, vols, volume.Steps, blockers, warnings}
	return o.g.printObject(out, func(w io.Writer) {
		fmt.Fprintf(w, "handoff %s → %s\n", source.Context, target.Context)
		tw := newTable(w, "VOLUME", "PV", "OWNERS", "STEPS")
		for _, v := range vols {
			var owners []string
			for _, ow := range v.Owners {
				owners = append(owners, ow.String())
			}
			row(tw, v.String(), v.PV, dash(strings.Join(owners, ", ")), strings.Join(volume.Steps, " → "))
		}
		tw.Flush()
		for _, b := range blockers {
			fmt.Fprintf(w, "BLOCKER %s: %s\n", b.Volume, b.Message)
			if b.Fix != "" {
				fmt.Fprintf(w, "        fix: %s\n", b.Fix)
			}
		}
		if o.DryRun {
			fmt.Fprintln(w, "dry run: nothing changed")
		}
	})
}

func (o *HandoffOptions) printReport(rep *volume.Report) error {
	return o.g.printObject(rep, func(w io.Writer) {
		tw := newTable(w, "VOLUME/OWNER", "PV", "STEPS DONE", "SECONDS", "RESULT")
		for _, r := range append(append([]*volume.Result{}, rep.Volumes...), rep.Owners...) {
			done := 0
			for _, s := range r.Steps {
				if s.Status == volume.StatusDone || s.Status == volume.StatusSkipped {
					done++
				}
			}
			result := "ok"
			if r.Error != "" {
				result = "FAILED: " + r.Error
			}
			row(tw, r.Name, dash(r.PV), done, fmt.Sprintf("%.2f", r.Seconds), result)
		}
		tw.Flush()
		switch {
		case rep.Completed && rep.Direction == volume.DirectionRecover:
			fmt.Fprintf(w, "rollback of the interrupted handoff done in %.1fs: %d volumes back in %s, nothing of it left in %s\n", rep.Seconds, len(rep.Volumes), rep.Source, rep.Target)
		case rep.Completed:
			fmt.Fprintf(w, "%s of %d volumes %s → %s done in %.1fs\n", rep.Direction, len(rep.Volumes), rep.Source, rep.Target, rep.Seconds)
		}
		var pending []string
		for _, r := range rep.Volumes {
			for _, s := range r.Steps {
				if s.SnapshotState == "pending" {
					pending = append(pending, s.Snapshot+" ("+r.Name+")")
				}
			}
		}
		if len(pending) > 0 {
			fmt.Fprintf(w, "snapshots still pending (their point in time is taken; they complete in the background, keep them until then): %s\n", strings.Join(pending, ", "))
		}
	})
}

// handoffProgress prints one line per finished step to stderr.
type handoffProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *handoffProgress) Event(e volume.Event) {
	if e.Status == volume.StatusStarted {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Status {
	case volume.StatusFailed:
		fmt.Fprintf(p.w, "%-40s %-15s FAILED after %s: %s\n", e.Name, e.Step, e.Took.Round(time.Millisecond), e.Err)
	case volume.StatusSkipped:
		fmt.Fprintf(p.w, "%-40s %-15s done earlier\n", e.Name, e.Step)
	default:
		fmt.Fprintf(p.w, "%-40s %-15s done in %s\n", e.Name, e.Step, e.Took.Round(time.Millisecond))
	}
}
