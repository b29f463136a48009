package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/plan"
)

// progress draws apply's events: a bar per wave on a terminal, else one line per wave.
type progress struct {
	w       io.Writer
	tty     bool
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	started time.Time
	counts  map[apply.Status]int
}

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty}
}

func (p *progress) WaveStarted(wv plan.Wave) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = time.Now()
	p.counts = map[apply.Status]int{}
	if p.tty {
		p.bar = progressbar.NewOptions(len(wv.Steps),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(fmt.Sprintf("wave %2d %-18s", wv.Index, wv.Name)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond))
	}
}

func (p *progress) ObjectDone(r apply.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[r.Status]++
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

func (p *progress) WaveDone(wv plan.Wave) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	c := p.counts
	fmt.Fprintf(p.w, "wave %2d %-18s %5d objects: %d created, %d updated, %d unchanged, %d skipped, %d conflict, %d failed (%s)\n",
		wv.Index, wv.Name, len(wv.Steps), c[apply.Created], c[apply.Updated], c[apply.Unchanged], c[apply.Skipped], c[apply.Conflict], c[apply.Failed],
		time.Since(p.started).Round(time.Millisecond))
}
