package cli

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/apply"
)

// The results of a sync are written one at a time, and the document is
// the one json.Encoder would write of the whole: the same JSON, whatever
// the number of results (none included: an empty list, never null).
func TestResultsJSONIsTheWholeDocument(t *testing.T) {
	for _, results := range [][]apply.Result{{}, {
		{Wave: "config", Kind: "ConfigMap", Namespace: "shop", Name: "a", Action: "create", Status: apply.Created},
		{Wave: "config", Kind: "Secret", Namespace: "shop", Name: "b", Action: "skip", Status: apply.Skipped, Reason: "why", Notes: []string{"n"}},
	}} {
		summary, total := apply.Summarize(results)
		var streamed, whole bytes.Buffer
		if err := writeResultsJSON(&streamed, results, summary, total, 1.5); err != nil {
			t.Fatal(err)
		}
		g := &Global{Output: "json", Out: &whole}
		out := struct {
			Results []apply.Result       `json:"results"`
			Summary []apply.Summary      `json:"summary"`
			Total   map[apply.Status]int `json:"total"`
			Seconds float64              `json:"seconds"`
		}{results, summary, total, (1500 * time.Millisecond).Seconds()}
		if err := g.printObject(out, nil); err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(streamed.Bytes(), &a); err != nil {
			t.Fatalf("streamed results are not JSON: %v\n%s", err, streamed.String())
		}
		_ = json.Unmarshal(whole.Bytes(), &b)
		if !jsonEqual(a, b) {
			t.Errorf("streamed:\n%s\nwant:\n%s", streamed.String(), whole.String())
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
