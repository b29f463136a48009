package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/tandem-io/tandem/pkg/drain"
)

// print writes the report: for a dry run, the classes found and each pod in
// eviction order, the first ones with why.
func (o *DrainOptions) print(rep *drain.Report) error {
	return o.g.printObject(rep, func(w io.Writer) {
		if rep.DryRun {
			fmt.Fprintf(w, "would taint %s and cordon %d nodes: %s\n", o.Taint, len(rep.Nodes), strings.Join(rep.Nodes, ", "))
			printClasses(w, rep)
			why := map[string][]drain.Reason{}
			for _, f := range rep.First {
				why[f.Pod] = f.Why
			}
			fmt.Fprintf(w, "would evict %d pods, in order (%d first, before any node is drained):\n", len(rep.Planned), len(rep.First))
			for _, p := range rep.Planned {
				if rs, ok := why[p]; ok {
					fmt.Fprintf(w, "  %s  first: %s\n", p, reasons(rs))
					continue
				}
				fmt.Fprintf(w, "  %s\n", p)
			}
			for _, e := range rep.Errors {
				fmt.Fprintf(w, "BLOCKER %s\n", e)
			}
			fmt.Fprintln(w, "dry run: nothing changed")
			return
		}
		fmt.Fprintf(w, "drained %d of %d nodes (%d skipped, done earlier), %d pods evicted in %.1fs\n",
			len(rep.Drained)+len(rep.Skipped), len(rep.Nodes), len(rep.Skipped), rep.PodsEvicted, rep.Seconds)
		for _, f := range rep.First {
			fmt.Fprintf(w, "  first %s: %s\n", f.Pod, reasons(f.Why))
		}
	})
}

// printClasses says what each class found contributed to the default --first.
func printClasses(w io.Writer, rep *drain.Report) {
	if len(rep.Classes) == 0 && len(rep.FirstNotes) == 0 {
		return
	}
	fmt.Fprintln(w, "ingress/gateway classes found:")
	for _, cl := range rep.Classes {
		what := ""
		switch cl.Outcome {
		case drain.ClassFirst:
			what = cl.KnownAs + ": its pods go first"
		case drain.ClassOffPath:
			what = cl.KnownAs + ": not in the data path, nothing to evict first"
		default:
			what = "unknown controller: its pods are drained as ordinary pods (name them with --first)"
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", cl.Class, cl.Controller, what)
	}
	for _, n := range rep.FirstNotes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func reasons(rs []drain.Reason) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, "; ")
}
