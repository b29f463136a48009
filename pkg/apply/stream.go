package apply

import (
	"context"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
)

// Stream applies a plan whose steps come one at a time, as they are
// decided (plan.Decide), instead of a whole plan made first: a sync's
// writes begin while the rest of its objects are still sanitized and
// hashed, and a step is let go of once it is written.
//
// The waves keep their order. A wave begins once the waves before it are
// done; its steps without owners are written as they come, and the rest
// once the wave has all its steps (their owners' target UIDs are then
// known), as Session.Run writes a whole wave. The CRDs and admission waves
// wait for all their steps and run as Session.Run runs them: after the
// CRDs, what the whole wave wrote must be Established; before the
// webhooks, their backends must be ready.
//
// Use: NewStream, Expect each object that is coming (and WantOwners what
// they name), Start, then Add or Drop for each of them, from any
// goroutine; Wait.
//
// The stream holds a bounded number of decided steps, and Add waits while
// it holds streamHeld: of the wave being written (it is writing them), or
// of later waves (a caller that decides the waves in order has decided
// the one being written whole by then). A caller deciding faster than the
// target takes writes is held to the writes' pace: its CPU is spread over
// the writes rather than taken from the target's apiserver at their start
// on a small machine, and the steps decided and not written stay few.
type Stream struct {
	ss   *Session
	mu   sync.Mutex
	cond *sync.Cond
	// expected are the steps each wave is still to get (Expect, less Add
	// and Drop); held are those it got and the writer has not taken yet.
	expected [plan.NumWaves]int
	held     [plan.NumWaves][]plan.Step
	// current is the wave being written, whole if it waits for all its
	// steps (the CRDs and admission waves); later counts the steps held
	// for later waves; stopped says the writer has ended.
	current, later int
	whole          bool
	stopped        bool
	done           chan struct{}
	err            error
}

// streamHeld bounds the steps a Stream holds of the wave being written
// (unless it is written whole), and those of later waves, before Add waits.
const streamHeld = 4096

// NewStream starts a stream of steps into the session; nothing is written
// before Start.
func (ss *Session) NewStream() *Stream {
	st := &Stream{ss: ss, done: make(chan struct{})}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// Expect says an object of kind gk is coming: a step (Add) or nothing
// (Drop). Call it before Start, once for each object.
func (st *Stream) Expect(gk schema.GroupKind) {
	i, _ := plan.WaveOf(gk)
	st.expected[i]++
}

// WantOwners says an object coming in namespace names these owners: their
// target UIDs are kept when they are written or seen, also before the
// step that names them comes. Call it before Start.
func (st *Stream) WantOwners(namespace string, owners []metav1.OwnerReference) {
	st.ss.r.owners.want(namespace, owners)
}

// Start begins writing, wave by wave, in the background.
func (st *Stream) Start(ctx context.Context) {
	go func() {
		err := st.run(ctx)
		st.mu.Lock()
		st.stopped, st.err = true, err
		st.cond.Broadcast()
		st.mu.Unlock()
		close(st.done)
	}()
}

// Add hands over the step of an expected object. It waits while the
// stream holds streamHeld steps of its wave's kind (see Stream), until the
// writer has caught up or has stopped.
func (st *Stream) Add(s plan.Step) {
	i, _ := plan.WaveOf(s.Ref.GroupVersionKind().GroupKind())
	st.ss.r.owners.rememberStep(s)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.expected[i] <= 0 {
		panic("apply: Stream.Add of a step whose object was not expected")
	}
	for !st.stopped && st.full(i) {
		st.cond.Wait()
	}
	if i > st.current {
		st.later++
	}
	st.held[i] = append(st.held[i], s)
	st.expected[i]--
	st.cond.Broadcast()
}

// full says whether a step of wave i waits before it is held. A step of the
// wave being written whole never does: that wave waits for all its steps.
func (st *Stream) full(i int) bool {
	switch {
	case i > st.current:
		return st.later >= streamHeld
	case st.whole:
		return false
	default:
		return len(st.held[i]) >= streamHeld
	}
}

// Drop says an expected object of kind gk has no step (not even one that
// reports it skipped).
func (st *Stream) Drop(gk schema.GroupKind) {
	i, _ := plan.WaveOf(gk)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.expected[i] <= 0 {
		panic("apply: Stream.Drop of an object that was not expected")
	}
	st.expected[i]--
	st.cond.Broadcast()
}

// Wait waits until every wave is written (or the writing stopped: its
// context was cancelled, the journal failed) and returns why it stopped.
// The results are the session's.
func (st *Stream) Wait() error {
	<-st.done
	return st.err
}

// Done is closed once the writing has ended: every wave written, or it
// stopped (Wait says why). A caller still deciding steps may stop then.
func (st *Stream) Done() <-chan struct{} { return st.done }

// take waits for steps of wave i and takes those held; all is true once
// the wave has every step it expected (or the context is done).
func (st *Stream) take(ctx context.Context, i int) (steps []plan.Step, all bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for len(st.held[i]) == 0 && st.expected[i] > 0 && ctx.Err() == nil {
		st.cond.Wait()
	}
	steps, st.held[i] = st.held[i], nil
	st.cond.Broadcast() // room for the Adds that wait
	return steps, st.expected[i] == 0 || ctx.Err() != nil
}

// begin makes wave i the one being written: its steps no longer count
// among the later ones.
func (st *Stream) begin(i int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.current, st.whole = i, i == plan.WaveCRDs || i == plan.WaveAdmission || i == plan.WaveAPIServices
	st.later -= len(st.held[i])
	st.cond.Broadcast()
}

// run writes the waves in order.
func (st *Stream) run(ctx context.Context) error {
	// A cancelled context wakes the waits on cond.
	stop := context.AfterFunc(ctx, func() {
		st.mu.Lock()
		st.cond.Broadcast()
		st.mu.Unlock()
	})
	defer stop()
	for i := range plan.NumWaves {
		st.mu.Lock()
		n := st.expected[i] + len(st.held[i])
		st.mu.Unlock()
		if n == 0 {
			continue
		}
		st.begin(i)
		w := plan.Wave{Index: i, Name: plan.WaveName(i)}
		var err error
		if st.whole {
			err = st.gather(ctx, w)
		} else {
			err = st.flow(ctx, w, n)
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return st.ss.relink(ctx)
}

// gather gathers wave w's steps and applies them as Session.Run does.
func (st *Stream) gather(ctx context.Context, w plan.Wave) error {
	for all := false; !all; {
		var steps []plan.Step
		steps, all = st.take(ctx, w.Index)
		w.Steps = append(w.Steps, steps...)
	}
	slices.SortStableFunc(w.Steps, plan.CompareSteps)
	return st.ss.runWave(ctx, w)
}

// flow applies wave w's steps as they come: those without owners at once,
// the others when the wave has them all. n is how many it expects.
func (st *Stream) flow(ctx context.Context, w plan.Wave, n int) error {
	ss, r := st.ss, st.ss.r
	r.o.Events.WaveStarted(w, n)
	// The results go straight into the session's records, in the order they come.
	start := ss.results.grow(n)
	put := func(at int, res Result) { ss.results.set(start+at, res) }
	tasks := make(chan task)
	worked := make(chan error, 1)
	go func() { worked <- r.work(ctx, w, tasks, put) }()
	got := 0
	var owned []plan.Step
	for all := false; !all && ctx.Err() == nil; {
		var steps []plan.Step
		steps, all = st.take(ctx, w.Index)
		for _, s := range steps {
			if len(s.Ref.Owners) > 0 {
				owned = append(owned, s)
				continue
			}
			tasks <- task{s: s, at: got}
			got++
		}
	}
	close(tasks)
	err := <-worked
	if err == nil && len(owned) > 0 {
		// Owned objects last, as Session.Run writes them.
		w.Steps = owned
		idx := make([]int, len(owned))
		for j := range idx {
			idx[j] = j
		}
		first := got
		err = r.applyBatch(ctx, w, idx, nil, func(at int, res Result) { put(first+at, res) })
		got += len(owned)
	}
	ss.results.truncate(start + got)
	if err != nil {
		return err
	}
	// In a fixed order, whichever was written first: by kind, namespace and name.
	ss.results.sortFrom(start)
	r.o.Events.WaveDone(w, got)
	return nil
}
