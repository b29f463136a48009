package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tandem-io/tandem/pkg/apply"
)

// printResults prints per-object results (unchanged ones only with -v) and a summary per kind.
func (g *Global) printResults(results []apply.Result, summary []apply.Summary, total map[apply.Status]int, took time.Duration) error {
	out := struct {
		Results []apply.Result       `json:"results"`
		Summary []apply.Summary      `json:"summary"`
		Total   map[apply.Status]int `json:"total"`
		Seconds float64              `json:"seconds"`
	}{results, summary, total, took.Seconds()}
	if g.Output == "json" {
		return writeResultsJSON(g.Out, out.Results, out.Summary, out.Total, out.Seconds)
	}
	return g.printObject(out, func(w io.Writer) {
		tw := newTable(w, "STATUS", "KIND", "NAMESPACE", "NAME", "REASON / NOTES")
		for _, r := range results {
			// A skip with a note (a copy left in the target) is shown.
			if (r.Status == apply.Unchanged || (r.Status == apply.Skipped && len(r.Notes) == 0)) && g.Verbose == 0 {
				continue
			}
			row(tw, r.Status, kindOf(r), dash(r.Namespace), r.Name, reasonText(r))
		}
		tw.Flush()
		fmt.Fprintln(w)
		tw = newTable(w, "KIND", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED", "CONFLICT", "FAILED")
		for _, s := range summary {
			c := s.Counts
			row(tw, s.Kind, c[apply.Created], c[apply.Updated], c[apply.Unchanged], c[apply.Skipped], c[apply.Conflict], c[apply.Failed])
		}
		row(tw, "TOTAL", total[apply.Created], total[apply.Updated], total[apply.Unchanged], total[apply.Skipped], total[apply.Conflict], total[apply.Failed])
		tw.Flush()
		fmt.Fprintf(w, "\n%d objects in %s (unchanged and skipped objects are listed with -v)\n", len(results), took.Round(time.Millisecond))
	})
}

func kindOf(r apply.Result) string {
	if r.Group == "" {
		return r.Kind
	}
	return r.Kind + "." + r.Group
}

func reasonText(r apply.Result) string {
	parts := []string{}
	if r.Reason != "" {
		parts = append(parts, r.Reason)
	}
	if r.Why != "" {
		parts = append(parts, "selected: "+r.Why)
	}
	parts = append(parts, r.Notes...)
	return strings.Join(parts, "; ")
}

// writeResultsJSON writes what printObject would for results, summary,
// total and seconds in JSON, one result at a time: the document of a
// 100,000-object sync is never held whole in memory.
func writeResultsJSON(w io.Writer, results []apply.Result, summary []apply.Summary, total map[apply.Status]int, seconds float64) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{\n  \"results\": [")
	for i, r := range results {
		data, err := json.MarshalIndent(r, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(data)
	}
	if len(results) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n")
	rest, err := json.MarshalIndent(struct {
		Summary []apply.Summary      `json:"summary"`
		Total   map[apply.Status]int `json:"total"`
		Seconds float64              `json:"seconds"`
	}{summary, total, seconds}, "", "  ")
	if err != nil {
		return err
	}
	bw.Write(rest[2:]) // without its opening "{\n": the fields follow the results
	bw.WriteByte('\n')
	return bw.Flush()
}
