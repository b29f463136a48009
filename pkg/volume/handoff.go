package volume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
)

// Directions of a run.
const (
	DirectionHandoff  = "handoff"
	DirectionRollback = "rollback"
)

// Step statuses in events and reports.
const (
	StatusStarted = "started"
	StatusDone    = "done"
	StatusSkipped = "done earlier"
	StatusFailed  = "failed"
)

// Event is one step of one volume or owner, for progress output.
type Event struct {
	Key    string        // Volume.Key or Owner.Key
	Name   string        // what to show: namespace/claim or the owner
	Step   string        //
	Status string        // StatusStarted, StatusDone, StatusSkipped, StatusFailed
	Took   time.Duration // for done and failed
	Err    string
}

// Observer receives events; only internal/cli draws them.
type Observer interface{ Event(Event) }

// StepResult is how one step went.
type StepResult struct {
	Step    string  `json:"step"`
	Status  string  `json:"status"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
	// Snapshot is what the snapshot step took ("namespace/name" of a
	// VolumeSnapshot, an EBS snapshot id; "" for none).
	Snapshot string `json:"snapshot,omitempty"`
	// SnapshotState is the snapshot's state when the step ended: "pending"
	// (its point in time is taken; it completes in the background) or
	// "completed"; "" where the snapshotter does not say.
	SnapshotState string `json:"snapshotState,omitempty"`
}

// Result is how one volume or owner went.
type Result struct {
	Name    string       `json:"name"`
	PV      string       `json:"pv,omitempty"`
	Steps   []StepResult `json:"steps"`
	Seconds float64      `json:"seconds"`
	Error   string       `json:"error,omitempty"`
}

// Report is a whole run.
type Report struct {
	Run       string    `json:"run"`
	Direction string    `json:"direction"`
	Source    string    `json:"source"`
	Target    string    `json:"target"`
	Volumes   []*Result `json:"volumes"`
	Owners    []*Result `json:"owners"`
	Completed bool      `json:"completed"`
	Seconds   float64   `json:"seconds"`
}

// ErrFailed says some volumes or owners failed; the report says which.
var ErrFailed = errors.New("handoff incomplete")

// Handoff moves volumes from Source to Target. Build one per run.
type Handoff struct {
	Source, Target *cluster.Conn
	Snapshotter    Snapshotter
	Journal        *journal.Journal
	Run            string // run id; a resumed run keeps its id
	Direction      string
	Selection      string
	// Origin is the interrupted handoff a recovery (DirectionRecover) undoes.
	Origin   *Origin
	State    State // done steps of this run (from the journal when resuming)
	Intents  State // first intent detail per step key (recorded counts survive a crash mid-step)
	Parallel int
	Timeout  time.Duration // bound of each wait
	Observer Observer
	// ReplaceTargetClaims: a same-name claim in the target that no handoff
	// made may be deleted (see Options).
	ReplaceTargetClaims bool
	// KeepRetain leaves the PV that holds the volume at the end Retain,
	// instead of giving it the reclaim policy the source PV had.
	KeepRetain bool
	// AfterStep, when set, is called after a step's done record is written
	// (the e2e crash tests exit the process there).
	AfterStep func(key, step string)
	// BeforeDone, when set, is called after a step acted but before its done
	// record is written (a crash there makes the re-run act again).
	BeforeDone func(key, step string)

	mu      sync.Mutex
	watches map[*cluster.Conn]*watch
}

// watchOf is the run's watch of c (watch.go), started on first use and
// stopped when Execute returns.
func (h *Handoff) watchOf(c *cluster.Conn) *watch {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watches == nil {
		h.watches = map[*cluster.Conn]*watch{}
	}
	w, ok := h.watches[c]
	if !ok {
		w = newWatch(c)
		h.watches[c] = w
	}
	return w
}

func (h *Handoff) closeWatches() {
	h.mu.Lock()
	ws := h.watches
	h.watches = nil
	h.mu.Unlock()
	for _, w := range ws {
		w.Close()
	}
}

// Execute runs every step not done yet for vols and their owners.
func (h *Handoff) Execute(ctx context.Context, vols []Volume) (*Report, error) {
	started := time.Now()
	if h.State == nil {
		h.State = State{}
	}
	if h.Intents == nil {
		h.Intents = State{}
	}
	if h.Snapshotter == nil {
		h.Snapshotter = None{}
	}
	if h.Timeout <= 0 {
		h.Timeout = 3 * time.Minute
	}
	defer h.closeWatches()
	owners := ownersOf(vols)
	rep := &Report{Run: h.Run, Direction: h.Direction, Source: h.Source.Context, Target: h.Target.Context}
	vb, _ := json.Marshal(vols)
	ob, _ := json.Marshal(owners)
	start := map[string]string{DetailDirection: h.Direction, DetailSelection: h.Selection, DetailVolumes: string(vb), DetailOwners: string(ob)}
	if h.Direction == DirectionRecover {
		if h.Origin == nil {
			return rep, fmt.Errorf("a recovery needs the interrupted handoff it undoes")
		}
		orig, _ := json.Marshal(h.Origin)
		start[DetailOrigin] = string(orig)
	}
	if err := h.note(journal.Record{Op: journal.OpStart, Detail: start}); err != nil {
		return rep, err
	}
	vres := map[string]*Result{}
	for _, v := range vols {
		r := &Result{Name: v.String(), PV: v.PV}
		vres[v.Key()] = r
		rep.Volumes = append(rep.Volumes, r)
	}
	ores := map[Owner]*Result{}
	for _, o := range owners {
		r := &Result{Name: o.String()}
		ores[o] = r
		rep.Owners = append(rep.Owners, r)
	}
	ownerOK := func(o Owner) bool {
		if ores[o].Error != "" {
			return false
		}
		for _, v := range vols {
			for _, vo := range v.Owners {
				if vo == o && vres[v.Key()].Error != "" {
					return false
				}
			}
		}
		return true
	}
	ownerPhase := func(step string) {
		for _, o := range owners {
			if ownerOK(o) {
				h.step(ctx, o.Key(), o.String(), step, ores[o], func(intent map[string]string) error {
					return h.ownerPrepare(ctx, o, step, intent)
				}, func(intent map[string]string) (map[string]string, error) {
					return h.ownerStep(ctx, o, step, intent)
				})
			}
		}
	}
	volumePhase := func(slots int, steps ...string) {
		sem := make(chan struct{}, max(slots, 1))
		var wg sync.WaitGroup
		for _, v := range vols {
			if !h.ownersOK(v, ores) {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				r := vres[v.Key()]
				for _, step := range steps {
					if r.Error != "" {
						return
					}
					vStart := time.Now()
					h.step(ctx, v.Key(), v.String(), step, r, func(intent map[string]string) error {
						return h.volumePrepare(ctx, v, step, intent)
					}, func(intent map[string]string) (map[string]string, error) {
						return h.volumeStep(ctx, v, step, intent)
					})
					r.Seconds += time.Since(vStart).Seconds()
				}
			}()
		}
		wg.Wait()
	}
	lastVolumeStep := StepReclaimPolicy
	if h.Direction == DirectionRecover {
		// Nothing runs in the target while the volumes go back; the owners
		// get their recorded replicas once every volume is home.
		ownerPhase(StepStopTarget)
		volumePhase(h.Parallel, StepRestoreSource, StepRemoveTarget, StepReclaimPolicy)
		ownerPhase(StepSourceBack)
		ownerPhase(StepTargetBack)
	} else {
		// Retain before anything stops: a claim deleted from here on (by
		// hand, or by a controller the checks could not see) leaves its disk.
		volumePhase(h.Parallel, StepRetain)
		ownerPhase(StepScaleSource)
		volumePhase(h.Parallel, StepUnmounted, StepDetached, StepSnapshot, StepSave)
		ownerPhase(StepScaleTarget)
		volumePhase(h.Parallel, StepClearTarget, StepCreatePVC, StepCreatePV, StepReleaseSource)
		// Verifying only waits, on one watch for all volumes: no slot each.
		volumePhase(len(vols), StepVerify)
		volumePhase(h.Parallel, StepReclaimPolicy)
		ownerPhase(StepScaleUp)
	}
	rep.Seconds = time.Since(started).Seconds()
	failed := 0
	for _, r := range append(append([]*Result{}, rep.Volumes...), rep.Owners...) {
		if r.Error != "" || len(r.Steps) == 0 || r.Steps[len(r.Steps)-1].Status == StatusFailed {
			failed++
		}
	}
	for _, r := range rep.Volumes {
		if len(r.Steps) == 0 || r.Steps[len(r.Steps)-1].Step != lastVolumeStep {
			failed++
		}
	}
	if failed > 0 || ctx.Err() != nil {
		// No end record: a re-run resumes where this one stopped.
		return rep, ErrFailed
	}
	rep.Completed = true
	return rep, h.note(journal.Record{Op: journal.OpEnd})
}

// ownersOK says whether every owner of v got through its steps so far.
func (h *Handoff) ownersOK(v Volume, ores map[Owner]*Result) bool {
	for _, o := range v.Owners {
		if ores[o].Error != "" {
			return false
		}
	}
	return true
}

// step runs one journaled step: skip when done, else prep → intent → f → done.
// prep may add to the intent what must survive a crash mid-step.
func (h *Handoff) step(ctx context.Context, key, name, step string, r *Result, prep func(intent map[string]string) error, f func(intent map[string]string) (map[string]string, error)) {
	sk := StepKey(key, step)
	if h.done(sk) {
		d := h.detail(key, step)
		r.Steps = append(r.Steps, StepResult{Step: step, Status: StatusSkipped, Snapshot: d[DetailSnapshot], SnapshotState: d[DetailSnapshotState]})
		h.emit(Event{Key: key, Name: name, Step: step, Status: StatusSkipped})
		return
	}
	fail := func(start time.Time, err error) {
		took := time.Since(start)
		r.Error = fmt.Sprintf("%s: %v", step, err)
		r.Steps = append(r.Steps, StepResult{Step: step, Status: StatusFailed, Seconds: took.Seconds(), Error: err.Error()})
		_ = h.note(journal.Record{Op: journal.OpFailed, Key: sk, Detail: map[string]string{DetailReason: err.Error()}})
		h.emit(Event{Key: key, Name: name, Step: step, Status: StatusFailed, Took: took, Err: err.Error()})
	}
	start := time.Now()
	if err := ctx.Err(); err != nil {
		fail(start, err)
		return
	}
	h.emit(Event{Key: key, Name: name, Step: step, Status: StatusStarted})
	intent := h.intent(sk)
	if prep != nil {
		if err := prep(intent); err != nil {
			fail(start, err)
			return
		}
	}
	if err := h.note(journal.Record{Op: journal.OpIntent, Key: sk, Detail: intent}); err != nil {
		fail(start, err)
		return
	}
	detail, err := f(intent)
	if err != nil {
		fail(start, err)
		return
	}
	if h.BeforeDone != nil {
		h.BeforeDone(key, step)
	}
	if err := h.note(journal.Record{Op: journal.OpDone, Key: sk, Detail: detail}); err != nil {
		fail(start, err)
		return
	}
	if detail == nil {
		detail = map[string]string{}
	}
	h.mu.Lock()
	h.State[sk] = detail
	h.mu.Unlock()
	took := time.Since(start)
	r.Steps = append(r.Steps, StepResult{Step: step, Status: StatusDone, Seconds: took.Seconds(), Snapshot: detail[DetailSnapshot], SnapshotState: detail[DetailSnapshotState]})
	h.emit(Event{Key: key, Name: name, Step: step, Status: StatusDone, Took: took})
	if h.AfterStep != nil {
		h.AfterStep(key, step)
	}
}

func (h *Handoff) done(sk string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.State[sk]
	return ok
}

// detail returns the done detail of a step (nil when not done).
func (h *Handoff) detail(key, step string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.State[StepKey(key, step)]
}

// intent returns the detail of the first intent of sk in this run (a copy;
// empty when none), so that a count recorded before a crash is kept.
func (h *Handoff) intent(sk string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := map[string]string{}
	maps.Copy(d, h.Intents[sk])
	return d
}

func (h *Handoff) emit(e Event) {
	if h.Observer != nil {
		h.Observer.Event(e)
	}
}

func (h *Handoff) note(r journal.Record) error {
	if h.Journal == nil {
		return nil
	}
	r.Run = h.Run
	if err := h.Journal.Append(r); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
