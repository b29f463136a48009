package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tandem-io/tandem/pkg/switchover"
)

func undoneText(rep switchover.Report) string {
	var parts []string
	for _, u := range rep.Undo {
		s := strings.TrimPrefix(u.Phase, "undo ")
		if u.Err != "" {
			s += " (FAILED: " + u.Err + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "nothing had changed"
	}
	return strings.Join(parts, ", ")
}

func (o *SwitchoverOptions) print(rep switchover.Report) error {
	if rep.Run == "" {
		return nil
	}
	return o.g.printObject(rep, func(w io.Writer) { printLegTable(w, rep) })
}

func printLegTable(w io.Writer, rep switchover.Report) {
	tw := newTable(w, "PHASE", "TOOK", "RESULT")
	for _, p := range rep.All() {
		row(tw, p.Phase, p.Took.Round(time.Millisecond), p.Result())
	}
	tw.Flush()
	switch {
	case rep.Completed:
		fmt.Fprintf(w, "\n%s is active (epoch %d), %s is standby; took %s\n", rep.To, rep.Epoch, rep.From, rep.Took.Round(time.Millisecond))
		for _, p := range rep.Phases {
			if p.Phase == switchover.PhasePauseMirror && p.Skipped == "" {
				fmt.Fprintf(w, "the mirror %s → %s stays paused; keep %s in step the other way: tandem mirror --source %s --target %s --standby\n", rep.From, rep.To, rep.From, rep.To, rep.From)
			}
		}
	case rep.RolledBack:
		fmt.Fprintf(w, "\nswitchover %s → %s undone; %s stays active\n", rep.From, rep.To, rep.From)
	}
}
