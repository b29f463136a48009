package dashboard

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/switchover"
)

// The feed's pace: weights and the run are read every fastEvery, the whole
// status as often as it can be read (every statusEvery at most); one hour
// of one-second points is kept for the charts.
const (
	fastEvery   = 500 * time.Millisecond
	statusEvery = time.Second
	pointEvery  = time.Second
	historyLen  = 3600
)

// Update is one Server-Sent Event: the pair's state now. History is sent
// whole in the first, Point in the next ones.
type Update struct {
	Pair    string                   `json:"pair"`
	Status  *pair.Status             `json:"status,omitempty"`
	Error   string                   `json:"error,omitempty"` // the status could not be read at all
	Run     *Run                     `json:"run,omitempty"`
	Drills  []switchover.DrillReport `json:"drills"`
	History []Point                  `json:"history,omitempty"`
	Point   *Point                   `json:"point,omitempty"`
	Updated time.Time                `json:"updated"`
}

// feed reads one pair in the background and fans its updates out.
type feed struct {
	name string
	src  Source
	log  *slog.Logger

	mu      sync.Mutex
	cur     Update
	history []Point
	subs    map[chan []byte]bool
	lastAt  time.Time // when the last point was taken
	events  float64   // the mirror's event count at the last point
}

func newFeed(name string, src Source, log *slog.Logger) *feed {
	return &feed{name: name, src: src, log: log, subs: map[chan []byte]bool{}, cur: Update{Pair: name}}
}

// run reads until ctx ends.
func (f *feed) run(ctx context.Context) {
	go f.statusLoop(ctx)
	t := time.NewTicker(fastEvery)
	defer t.Stop()
	for {
		f.fast(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *feed) statusLoop(ctx context.Context) {
	for ctx.Err() == nil {
		began := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		st, err := f.src.Status(rctx, f.name)
		drills, derr := f.src.Drills(rctx, f.name)
		cancel()
		f.mu.Lock()
		if err != nil {
			f.cur.Error = err.Error()
		} else {
			f.cur.Error = ""
			if f.cur.Status != nil && f.cur.Status.Weights != nil {
				st.Weights = f.cur.Status.Weights // the fast loop's are newer
			}
			f.cur.Status = st
		}
		if derr == nil {
			f.cur.Drills = drills
		}
		f.mu.Unlock()
		f.publish(nil)
		select {
		case <-ctx.Done():
		case <-time.After(statusEvery - time.Since(began)):
		}
	}
}

// fast reads the weights and the run, and takes a chart point each second.
func (f *feed) fast(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	w, werr := f.src.Weights(rctx, f.name)
	run, rerr := f.src.Run(rctx, f.name)
	f.mu.Lock()
	changed := false
	if werr == nil && f.cur.Status != nil && !reflect.DeepEqual(f.cur.Status.Weights, w) {
		// A new Status: the one published before may still be read by a subscriber.
		st := *f.cur.Status
		st.Weights = w
		f.cur.Status, changed = &st, true
	}
	if rerr == nil && !reflect.DeepEqual(f.cur.Run, run) {
		f.cur.Run, changed = run, true
	}
	var p *Point
	if now := time.Now(); now.Sub(f.lastAt) >= pointEvery {
		p = f.point(now)
		f.lastAt = now
	}
	f.mu.Unlock()
	if changed || p != nil {
		f.publish(p)
	}
}

// point samples the charts (f.mu held).
func (f *feed) point(now time.Time) *Point {
	p := Point{Time: now.UTC()}
	st := f.cur.Status
	if st == nil {
		return nil
	}
	if len(st.Weights) > 0 {
		p.Weights = map[string]int{}
		total := 0
		for _, route := range st.Weights {
			for c, v := range route {
				p.Weights[c] += v
				total += v
			}
		}
		for c, v := range p.Weights {
			if total > 0 {
				p.Weights[c] = 100 * v / total
			}
		}
	}
	for _, c := range st.Clusters {
		if m := c.Mirror; m != nil && m.Live {
			p.LagP99 = m.Stats.LagP99
			ev := float64(m.Stats.Events)
			if !f.lastAt.IsZero() && ev >= f.events {
				p.Events = (ev - f.events) / now.Sub(f.lastAt).Seconds()
			}
			f.events = ev
		}
	}
	f.history = append(f.history, p)
	if len(f.history) > historyLen {
		f.history = f.history[len(f.history)-historyLen:]
	}
	return &p
}

// publish sends the state to every subscriber (a slow one misses updates,
// never blocks the others).
func (f *feed) publish(p *Point) {
	f.mu.Lock()
	u := f.cur
	u.Point, u.Updated = p, time.Now().UTC()
	b, err := json.Marshal(u)
	subs := make([]chan []byte, 0, len(f.subs))
	for ch := range f.subs {
		subs = append(subs, ch)
	}
	f.mu.Unlock()
	if err != nil {
		f.log.Error("dashboard update", "error", err)
		return
	}
	for _, ch := range subs {
		select {
		case ch <- b:
		default:
		}
	}
}

// subscribe returns the first update (with the whole history) and a
// channel of the next ones; cancel ends it.
func (f *feed) subscribe() ([]byte, chan []byte, func()) {
	ch := make(chan []byte, 16)
	f.mu.Lock()
	u := f.cur
	u.History, u.Updated = append([]Point(nil), f.history...), time.Now().UTC()
	f.subs[ch] = true
	first, _ := json.Marshal(u)
	f.mu.Unlock()
	return first, ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

// snapshot is the history so far.
func (f *feed) historyCopy() []Point {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Point(nil), f.history...)
}
