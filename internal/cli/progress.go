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

// progress draws apply's events: a bar per wave on a terminal, else one
// line per wave, and for a long wave a line every progressEvery on the way
// (a log that says nothing for minutes looks like a hang).
type progress struct {
	w       io.Writer
	tty     bool
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	started time.Time
	counts  map[apply.Status]int
	// wave, done and total: the wave and its objects; said is when a line last said how far it is.
	wave        string
	done, total int
	said        time.Time
}

// progressEvery is how often a long wave says how far it is, without a terminal.
const progressEvery = 10 * time.Second

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty}
}

func (p *progress) WaveStarted(wv plan.Wave, objects int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = time.Now()
	p.counts = map[apply.Status]int{}
	p.wave, p.done, p.total, p.said = fmt.Sprintf("wave %d %s", wv.Index, wv.Name), 0, objects, p.started
	if p.tty {
		p.bar = progressbar.NewOptions(objects,
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
	p.done++
	if p.bar != nil {
		_ = p.bar.Add(1)
		return
	}
	if now := time.Now(); now.Sub(p.said) >= progressEvery && p.done < p.total {
		p.said = now
		fmt.Fprintf(p.w, "  %s: %d of %d objects done (%.0f/s), %d failed so far\n",
			p.wave, p.done, p.total, float64(p.done)/now.Sub(p.started).Seconds(), p.counts[apply.Failed]+p.counts[apply.Conflict])
	}
}

func (p *progress) WaveDone(wv plan.Wave, objects int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	c := p.counts
	fmt.Fprintf(p.w, "wave %2d %-18s %5d objects: %d created, %d updated, %d unchanged, %d skipped, %d conflict, %d failed (%s)\n",
		wv.Index, wv.Name, objects, c[apply.Created], c[apply.Updated], c[apply.Unchanged], c[apply.Skipped], c[apply.Conflict], c[apply.Failed],
		time.Since(p.started).Round(time.Millisecond))
}
