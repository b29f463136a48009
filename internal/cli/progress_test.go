package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/plan"
)

// Without a terminal, a long wave says how far it is at most every
// progressEvery, and its closing line is the one a wave always had.
func TestProgressSaysHowFarALongWaveIs(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out)
	wv := plan.Wave{Index: 3, Name: "config", Steps: make([]plan.Step, 3)}
	p.WaveStarted(wv, len(wv.Steps))
	p.ObjectDone(apply.Result{Status: apply.Created})
	if out.Len() != 0 {
		t.Fatalf("a line before progressEvery: %q", out.String())
	}
	p.said = time.Now().Add(-progressEvery) // as if the last line were that old
	p.ObjectDone(apply.Result{Status: apply.Failed})
	p.ObjectDone(apply.Result{Status: apply.Created})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "wave 3 config: 2 of 3 objects done") || !strings.Contains(lines[0], "1 failed so far") {
		t.Fatalf("progress lines %q: want one, at 2 of 3 with 1 failed", lines)
	}
	p.WaveDone(wv, len(wv.Steps))
	if last := strings.TrimSpace(out.String()); !strings.Contains(last, "3 objects: 2 created, 0 updated") {
		t.Errorf("closing line: %q", last)
	}
}
