package switchover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/standby"
)

// The phases of a switchover, in order. The order is the one storage DR
// tools use: nothing is activated before the last copy, nothing is
// deactivated before traffic has moved, records are written last.
const (
	PhasePauseMirror = "pause-mirror" // let an in-flight mirror pass finish, then hold it
	PhaseSync        = "sync"         // last sync pass, old → new, as standby
	PhaseActivate    = "activate"     // new: policy off, replicas restored, wait available
	PhaseShift       = "shift"        // traffic old → new, gated, with rollback
	PhaseDeactivate  = "deactivate"   // old: parked at 0, policy on
	PhaseRecords     = "records"      // both records at epoch+1
)

// Phases lists them in order.
var Phases = []string{PhasePauseMirror, PhaseSync, PhaseActivate, PhaseShift, PhaseDeactivate, PhaseRecords}

// Journal details of the start record.
const (
	detailFrom  = "from"
	detailTo    = "to"
	detailEpoch = "epoch"
	detailOrig  = "records" // the records before the switchover, JSON
	detailMode  = "mode"    // "switchover" or "emergency"
)

// Mirror is the part of a running mirror a switchover needs (pkg/mirror).
type Mirror interface {
	// Pause asks the mirror writing into target to finish its in-flight
	// work and hold; it returns once it has (at once when none runs).
	Pause(ctx context.Context, target *cluster.Conn, timeout time.Duration) error
	// Resume lets it go on.
	Resume(ctx context.Context, target *cluster.Conn) error
	// Running says whether a live mirror writes into target.
	Running(ctx context.Context, target *cluster.Conn) (bool, error)
}

// Switchover moves the active role from From to To.
type Switchover struct {
	From     *cluster.Conn // nil when SourceUnreachable
	FromName string        // context of the old active cluster
	To       *cluster.Conn
	// SourceUnreachable is an emergency failover: every phase that needs the
	// old cluster is skipped, and recorded as skipped.
	SourceUnreachable bool

	// Sync runs the last sync pass From → To in standby form; nil skips it.
	Sync func(ctx context.Context) error
	// Shift moves the traffic (gated, rolling itself back on a failed gate);
	// ShiftBack sends it all to From again and verifies.
	Shift     func(ctx context.Context) error
	ShiftBack func(ctx context.Context) error
	Mirror    Mirror // nil: no mirror to pause
	Router    string // kept in the records

	Timeout  time.Duration // for activate/deactivate waits and the mirror pause
	Journal  journal.Log
	Progress func(phase, msg string)
	Reason   string
	// Who is written into the records as their author; default Who() (user@host).
	Who string

	run   string
	epoch int64
	orig  map[string]*Record // context → record before the switchover
	done  map[string]bool
	begun map[string]bool
}

// PhaseReport is one phase's outcome.
type PhaseReport struct {
	Phase   string        `json:"phase"`
	Started time.Time     `json:"started,omitzero"`
	Took    time.Duration `json:"took"`
	Skipped string        `json:"skipped,omitempty"` // why it did not run
	Err     string        `json:"error,omitempty"`
}

// Result is "ok", "failed: …" or "skipped: …".
func (p PhaseReport) Result() string {
	switch {
	case p.Err != "":
		return "failed: " + p.Err
	case p.Skipped != "":
		return "skipped: " + p.Skipped
	}
	return "ok"
}

// All is the phases then the undo steps, in the order they ran.
func (r Report) All() []PhaseReport {
	return append(append([]PhaseReport(nil), r.Phases...), r.Undo...)
}

// Report is what a switchover did.
type Report struct {
	From       string        `json:"from"`
	To         string        `json:"to"`
	Run        string        `json:"run"`
	Epoch      int64         `json:"epoch"`
	Resumed    bool          `json:"resumed,omitempty"`
	Phases     []PhaseReport `json:"phases"`
	Completed  bool          `json:"completed"`
	RolledBack bool          `json:"rolledBack,omitempty"`
	Undo       []PhaseReport `json:"undo,omitempty"`
	Err        string        `json:"error,omitempty"`
	Started    time.Time     `json:"started"`
	Took       time.Duration `json:"took"`
}

// Pending is an interrupted switchover found in the journal.
type Pending struct {
	Run      string
	From, To string
	Epoch    int64
	Done     map[string]bool // phases finished
	Begun    map[string]bool // phases started (finished or not)
	Orig     map[string]*Record
}

// FindPending returns the last run of the journal when it did not end.
func FindPending(recs []journal.Record) *Pending {
	last, ended := journal.LastRun(recs)
	if len(last) == 0 || ended || last[0].Op != journal.OpStart {
		return nil
	}
	p := &Pending{Run: last[0].Run, From: last[0].Detail[detailFrom], To: last[0].Detail[detailTo], Done: map[string]bool{}, Begun: map[string]bool{}}
	p.Epoch, _ = strconv.ParseInt(last[0].Detail[detailEpoch], 10, 64)
	_ = json.Unmarshal([]byte(last[0].Detail[detailOrig]), &p.Orig)
	for _, r := range last {
		switch r.Op {
		case journal.OpIntent:
			p.Begun[r.Key] = true
		case journal.OpDone:
			p.Done[r.Key] = true
		}
	}
	return p
}

// Resume makes s continue p instead of starting over.
func (s *Switchover) Resume(p *Pending) {
	s.run, s.epoch, s.orig, s.done, s.begun = p.Run, p.Epoch, p.Orig, p.Done, p.Begun
}

func (s *Switchover) say(phase, format string, args ...any) {
	if s.Progress != nil {
		s.Progress(phase, fmt.Sprintf(format, args...))
	}
}

func (s *Switchover) note(op, key string, detail map[string]string) error {
	if s.Journal == nil {
		return nil
	}
	return s.Journal.Append(journal.Record{Run: s.run, Op: op, Key: key, Detail: detail})
}

// Begin reads both records, decides the new epoch and journals the start.
// Resume instead of Begin continues an interrupted run.
func (s *Switchover) Begin(ctx context.Context) error {
	s.run = journal.NewRunID()
	s.orig = map[string]*Record{}
	s.done, s.begun = map[string]bool{}, map[string]bool{}
	var top int64
	for _, c := range []*cluster.Conn{s.From, s.To} {
		if c == nil {
			continue
		}
		r, err := ReadRecord(ctx, c)
		if err != nil {
			return err
		}
		s.orig[c.Context] = r
		if r != nil && r.Epoch > top {
			top = r.Epoch
		}
	}
	s.epoch = top + 1
	orig, _ := json.Marshal(s.orig)
	mode := "switchover"
	if s.SourceUnreachable {
		mode = "emergency"
	}
	return s.note(journal.OpStart, "", map[string]string{detailFrom: s.FromName, detailTo: s.To.Context, detailEpoch: strconv.FormatInt(s.epoch, 10), detailOrig: string(orig), detailMode: mode})
}

// Run walks the phases; a failure undoes what was done, in reverse, and
// returns the error. The report says what happened either way.
func (s *Switchover) Run(ctx context.Context) (rep Report, err error) {
	rep = Report{From: s.FromName, To: s.To.Context, Run: s.run, Epoch: s.epoch, Started: time.Now(), Resumed: len(s.begun) > 0}
	defer func() { rep.Took = time.Since(rep.Started) }()
	for _, phase := range Phases {
		pr := PhaseReport{Phase: phase}
		if s.done[phase] {
			pr.Skipped = "done by the interrupted run"
			rep.Phases = append(rep.Phases, pr)
			continue
		}
		if why := s.skip(ctx, phase); why != "" {
			pr.Skipped = why
			s.say(phase, "skipped: %s", why)
			rep.Phases = append(rep.Phases, pr)
			if err := s.note(journal.OpDone, phase, map[string]string{"skipped": why}); err != nil {
				return rep, err
			}
			continue
		}
		pr.Started = time.Now()
		if err := s.note(journal.OpIntent, phase, nil); err != nil {
			return rep, err
		}
		s.begun[phase] = true
		err := s.phase(ctx, phase)
		pr.Took = time.Since(pr.Started)
		if err != nil {
			pr.Err = err.Error()
			rep.Phases = append(rep.Phases, pr)
			_ = s.note(journal.OpFailed, phase, map[string]string{"error": err.Error()})
			s.say(phase, "failed after %s: %v", pr.Took.Round(time.Millisecond), err)
			rep.Err = fmt.Sprintf("%s: %v", phase, err)
			rep.RolledBack = true
			// The undo must run even when ctx was cancelled (Ctrl-C).
			undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout()+time.Minute)
			rep.Undo = s.Undo(undoCtx)
			cancel()
			_ = s.note(journal.OpEnd, "", map[string]string{"result": "rolled back", "error": rep.Err})
			return rep, fmt.Errorf("switchover failed at %s: %w", phase, err)
		}
		s.done[phase] = true
		if err := s.note(journal.OpDone, phase, nil); err != nil {
			return rep, err
		}
		s.say(phase, "done in %s", pr.Took.Round(time.Millisecond))
		rep.Phases = append(rep.Phases, pr)
	}
	rep.Completed = true
	return rep, s.note(journal.OpEnd, "", map[string]string{"result": "completed"})
}

func (s *Switchover) timeout() time.Duration {
	if s.Timeout <= 0 {
		return 5 * time.Minute
	}
	return s.Timeout
}

// skip says why a phase does not run ("" when it does).
func (s *Switchover) skip(ctx context.Context, phase string) string {
	switch phase {
	case PhasePauseMirror:
		if s.Mirror == nil {
			return "no mirror"
		}
		if live, err := s.Mirror.Running(ctx, s.To); err == nil && !live {
			return "no mirror running into " + s.To.Context
		}
	case PhaseSync:
		if s.SourceUnreachable {
			return "source unreachable (emergency failover)"
		}
		if s.Sync == nil {
			return "not asked (--sync=false)"
		}
	case PhaseShift:
		if s.Shift == nil {
			return "no router"
		}
	case PhaseDeactivate:
		if s.SourceUnreachable {
			return fmt.Sprintf("source unreachable (emergency failover): deactivate %s by hand when it is back", s.FromName)
		}
	}
	return ""
}

func (s *Switchover) phase(ctx context.Context, phase string) error {
	switch phase {
	case PhasePauseMirror:
		s.say(phase, "pausing the mirror into %s (waiting for its in-flight pass)", s.To.Context)
		return s.Mirror.Pause(ctx, s.To, s.timeout())
	case PhaseSync:
		s.say(phase, "last sync pass %s → %s (standby form)", s.FromName, s.To.Context)
		return s.Sync(ctx)
	case PhaseActivate:
		return s.activate(ctx, s.To)
	case PhaseShift:
		s.say(phase, "shifting traffic %s → %s", s.FromName, s.To.Context)
		return s.Shift(ctx)
	case PhaseDeactivate:
		s.say(phase, "parking %s at 0 replicas behind the standby policy", s.FromName)
		_, _, err := standby.Deactivate(ctx, s.From, nil, standby.Options{Timeout: s.timeout()})
		return err
	case PhaseRecords:
		return s.writeRecords(ctx)
	}
	return fmt.Errorf("unknown phase %q", phase)
}

func (s *Switchover) activate(ctx context.Context, c *cluster.Conn) error {
	ok, err := standby.IsStandby(ctx, c)
	if err != nil {
		return err
	}
	if !ok {
		s.say(PhaseActivate, "%s is already active", c.Context)
		return nil
	}
	s.say(PhaseActivate, "activating %s: policy off, replicas restored, waiting until available", c.Context)
	last := time.Time{}
	_, err = standby.Activate(ctx, c, standby.Options{Timeout: s.timeout(), Progress: func(avail, total int) {
		if time.Since(last) > 2*time.Second || avail == total {
			last = time.Now()
			s.say(PhaseActivate, "%s: available %d/%d workloads", c.Context, avail, total)
		}
	}})
	return err
}

func (s *Switchover) writeRecords(ctx context.Context) error {
	who := s.Who
	if who == "" {
		who = Who()
	}
	now := time.Now().UTC()
	toID, err := s.To.Identity(ctx)
	if err != nil {
		return err
	}
	fromID := ""
	if s.From != nil {
		if fromID, err = s.From.Identity(ctx); err != nil {
			return err
		}
	}
	reason := s.Reason
	if reason == "" {
		reason = "switchover"
		if s.SourceUnreachable {
			reason = "emergency failover: " + s.FromName + " unreachable"
		}
	}
	newTo := &Record{Role: RoleActive, Epoch: s.epoch, Peer: fromID, PeerContext: s.FromName, Time: now, Who: who, Reason: reason, Router: s.Router}
	if o := s.orig[s.To.Context]; o != nil {
		newTo.LastDrill = o.LastDrill
	}
	// The new active first: if the second write fails, the higher epoch already says who is active.
	if err := WriteRecord(ctx, s.To, newTo); err != nil {
		return err
	}
	s.say(PhaseRecords, "%s: active, epoch %d", s.To.Context, s.epoch)
	if s.From == nil {
		s.say(PhaseRecords, "%s: not written (unreachable); its older epoch makes it the loser when it returns", s.FromName)
		return nil
	}
	newFrom := &Record{Role: RoleStandby, Epoch: s.epoch, Peer: toID, PeerContext: s.To.Context, Time: now, Who: who, Reason: reason, Router: s.Router}
	if o := s.orig[s.FromName]; o != nil {
		newFrom.LastDrill = o.LastDrill
	}
	if err := WriteRecord(ctx, s.From, newFrom); err != nil {
		return err
	}
	s.say(PhaseRecords, "%s: standby, epoch %d", s.FromName, s.epoch)
	return nil
}

// Undo puts back what the begun phases changed, last first: records, the
// old cluster's activity, traffic, the new cluster's standby, the mirror.
func (s *Switchover) Undo(ctx context.Context) []PhaseReport {
	var out []PhaseReport
	step := func(phase string, f func() error) {
		pr := PhaseReport{Phase: "undo " + phase, Started: time.Now()}
		s.say("undo", "%s", phase)
		if err := f(); err != nil {
			pr.Err = err.Error()
			s.say("undo", "%s failed: %v", phase, err)
		}
		pr.Took = time.Since(pr.Started)
		_ = s.note(opUndo, phase, map[string]string{"error": pr.Err})
		out = append(out, pr)
	}
	if s.begun[PhaseRecords] {
		step(PhaseRecords, func() error { return s.restoreRecords(ctx) })
	}
	if s.begun[PhaseDeactivate] && s.From != nil {
		step(PhaseDeactivate, func() error { return s.activate(ctx, s.From) })
	}
	if s.begun[PhaseShift] && s.ShiftBack != nil {
		step(PhaseShift, func() error { return s.ShiftBack(ctx) })
	}
	if s.begun[PhaseActivate] {
		step(PhaseActivate, func() error {
			_, _, err := standby.Deactivate(ctx, s.To, nil, standby.Options{Timeout: s.timeout()})
			return err
		})
	}
	if s.begun[PhasePauseMirror] && s.Mirror != nil {
		step(PhasePauseMirror, func() error { return s.Mirror.Resume(ctx, s.To) })
	}
	return out
}

func (s *Switchover) restoreRecords(ctx context.Context) error {
	var errs []error
	for _, c := range []*cluster.Conn{s.To, s.From} {
		if c == nil {
			continue
		}
		if r := s.orig[c.Context]; r != nil {
			errs = append(errs, WriteRecord(ctx, c, r))
		} else {
			errs = append(errs, deleteRecord(ctx, c))
		}
	}
	return errors.Join(errs...)
}

// Finish ends an undone run in the journal (after Undo outside Run).
func (s *Switchover) Finish(result string) error {
	return s.note(journal.OpEnd, "", map[string]string{"result": result})
}
