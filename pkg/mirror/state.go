package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/lease"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
)

// LeaseName is the Lease, in the target's standby.MarkerNamespace, that a
// running mirror holds and renews; its annotations carry the mirror's state
// and the pause handshake.
const LeaseName = "tandem-mirror"

// Annotations of the lease.
const (
	annSource         = "tandem.io/mirror-source"      // source context
	annStats          = "tandem.io/mirror-stats"       // Stats, JSON
	annPauseRequested = "tandem.io/mirror-pause"       // "true": finish in-flight work and hold
	annPaused         = "tandem.io/mirror-paused"      // "true": holding (the acknowledgement)
	leaseDuration     = 15 * time.Second               // its record unchanged for this long, as seen by the reader: the mirror is gone
	renewEvery        = 2 * time.Second                // also how often a pause request is noticed
	pausePoll         = 200 * time.Millisecond         // how often Pause looks for the acknowledgement
	annHolderStarted  = "tandem.io/mirror-started-at"  // RFC3339
	annTarget         = "tandem.io/mirror-target-hint" // informational
)

// ErrRunning is wrapped when a live mirror already writes into the target.
var ErrRunning = errors.New("a mirror is already running")

// Stats are the running counts a mirror publishes.
type Stats struct {
	Events    int64 `json:"events"`
	Applied   int64 `json:"applied"`
	Unchanged int64 `json:"unchanged"`
	Deleted   int64 `json:"deleted"`
	Failed    int64 `json:"failed"`
	// OutOfStep are the objects whose last attempt failed or waits to be
	// tried again, for outOfStepGrace (30 s) or longer (Mirror.NotInStep
	// names them all).
	OutOfStep int `json:"outOfStep"`
	// Retries are changes tried again after a failure: one that can pass
	// (the namespace not there yet, a webhook down, throttled) until it
	// goes through, any other a few times.
	Retries int64 `json:"retries,omitempty"`
	// SourceReads are changes whose object was read from the source: not
	// the copy their watch event brought (see fresh.go), or none was held.
	SourceReads int64 `json:"sourceReads,omitempty"`
	// Kept are deletions not pruned: the Namespace or CRD holds what tandem did not make.
	Kept      int64     `json:"keptNotPruned,omitempty"`
	LagP50    float64   `json:"lagP50Seconds"`
	LagP99    float64   `json:"lagP99Seconds"`
	Queue     int       `json:"queue"`
	LastApply time.Time `json:"lastApply,omitzero"`
}

// State is a mirror as the target's lease tells it.
type State struct {
	Holder  string    `json:"holder"`
	Source  string    `json:"source"`
	Live    bool      `json:"live"`              // held, and seen renewed within the lease duration
	Renewed lease.Ago `json:"renewedAgoSeconds"` // since the reader saw the lease change (for a released lease: by the holder's renew time, shown only)
	Started time.Time `json:"started,omitzero"`
	Paused  bool      `json:"paused"`
	Pausing bool      `json:"pauseRequested"`
	Stats   Stats     `json:"stats"`
}

// String is one line for status tables.
func (s *State) String() string {
	if s == nil {
		return "none"
	}
	state := "live, running"
	switch {
	case !s.Live:
		state = fmt.Sprintf("not running (its lease last renewed %s ago); its last counts", s.Renewed)
	case s.Paused:
		state = "live, paused"
	case s.Pausing:
		state = "live, pausing"
	}
	return fmt.Sprintf("from %s, %s: %d events, %d applied, %d failed, %d not in step, lag p99 %.3fs", s.Source, state, s.Stats.Events, s.Stats.Applied, s.Stats.Failed, s.Stats.OutOfStep, s.Stats.LagP99)
}

// Status reads the mirror writing into target: nil, nil when none ever ran.
// A held lease is watched until its mirror renews it (live), or for the lease
// duration when it does not (gone): liveness is judged by when this process
// saw the lease change, never by this machine's clock against the holder's.
func Status(ctx context.Context, target *cluster.Conn) (*State, error) {
	leases := leaseClient(target)
	l, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the mirror lease of %s: %w", target.Context, err)
	}
	r := lease.RecordOf(l)
	if !r.Held() {
		st := stateOf(r)
		if !r.Renewed.IsZero() {
			st.Renewed = lease.Ago(time.Since(r.Renewed)) // shown only: no decision rests on it
		}
		return st, nil
	}
	obs, err := lease.Watch(ctx, leases, LeaseName, r, leaseDuration, pausePoll)
	if err != nil {
		return nil, fmt.Errorf("read the mirror lease of %s: %w", target.Context, err)
	}
	if obs.Record == nil {
		return nil, nil // deleted while watched
	}
	st := stateOf(obs.Record)
	st.Live, st.Renewed = obs.Live, lease.Ago(obs.Unchanged)
	return st, nil
}

func leaseClient(target *cluster.Conn) coordinationv1client.LeaseInterface {
	return target.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
}

// stateOf reads a lease record; Live and Renewed are the caller's to judge.
func stateOf(r *lease.Record) *State {
	st := &State{Source: r.Annotations[annSource], Paused: r.Annotations[annPaused] == "true", Pausing: r.Annotations[annPauseRequested] == "true"}
	if r.Holder != "" {
		st.Holder = lease.ParseIdentity(r.Holder).Display()
	}
	st.Started, _ = time.Parse(time.RFC3339, r.Annotations[annHolderStarted])
	_ = json.Unmarshal([]byte(r.Annotations[annStats]), &st.Stats)
	return st
}

// Pause asks the mirror writing into target to finish its in-flight work and
// hold, and waits until it says it does. Without a mirror holding the lease it
// returns at once; a mirror that holds it but does not renew it (seen
// unchanged for the lease duration) is gone, and Pause returns then. A mirror
// started later starts unpaused.
func Pause(ctx context.Context, target *cluster.Conn, timeout time.Duration) error {
	if err := annotate(ctx, target, map[string]any{annPauseRequested: "true"}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // no mirror ever ran
		}
		return err
	}
	deadline := time.Now().Add(timeout)
	var seen lease.Observer
	for {
		l, err := leaseClient(target).Get(ctx, LeaseName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the mirror lease of %s: %w", target.Context, err)
		}
		r, now := lease.RecordOf(l), time.Now()
		seen.Observe(r, now)
		st := stateOf(r)
		if !r.Held() || st.Paused || seen.Stale(now, leaseDuration) {
			return nil
		}
		if now.After(deadline) {
			return fmt.Errorf("the mirror into %s (%s) did not pause within %s", target.Context, st.Holder, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pausePoll):
		}
	}
}

// Resume lets a paused mirror go on.
func Resume(ctx context.Context, target *cluster.Conn) error {
	err := annotate(ctx, target, map[string]any{annPauseRequested: nil})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func annotate(ctx context.Context, target *cluster.Conn, kv map[string]any) error {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kv}})
	_, err := leaseClient(target).Patch(ctx, LeaseName, types.MergePatchType, b, metav1.PatchOptions{FieldManager: plan.FieldManager})
	return err
}

// holder is this process, as the lease names it.
func holder(source string) lease.Identity {
	return lease.Self(fmt.Sprintf("(mirror from %s)", source))
}

// publisher writes a mirror's state into its lease at each renewal and
// passes on what the lease asks of it.
type publisher struct {
	stats func() Stats
	// held is the pause acknowledgement: set only once in-flight work is
	// done (a renewal in the background must not acknowledge earlier).
	held atomic.Bool
	// pause carries the newest pause request (true) or its withdrawal
	// (false), seen at a renewal.
	pause chan bool
}

func newPublisher(stats func() Stats) *publisher {
	return &publisher{stats: stats, pause: make(chan bool, 1)}
}

func (p *publisher) publish(ann map[string]string) {
	b, _ := json.Marshal(p.stats())
	ann[annStats] = string(b)
	if p.held.Load() {
		ann[annPaused] = "true"
	} else {
		delete(ann, annPaused)
	}
	want := ann[annPauseRequested] == "true"
	for {
		select {
		case p.pause <- want:
			return
		default:
			select { // replace an older, unread request
			case <-p.pause:
			default:
			}
		}
	}
}

// acquire takes the lease for id, refusing while another live mirror holds
// it: one seen renewing it. A lease left by a mirror of this machine whose
// process is gone is taken at once; one not renewed while watched for the
// lease duration is taken then. From then on the lease is renewed in the
// background, publishing through p, until release.
func acquire(ctx context.Context, target *cluster.Conn, id lease.Identity, source string, p *publisher, log *slog.Logger) (*lease.Lease, error) {
	spec := lease.Spec{
		Client: leaseClient(target), Namespace: standby.MarkerNamespace, Name: LeaseName, FieldManager: plan.FieldManager,
		Duration: leaseDuration, RenewEvery: renewEvery, Poll: pausePoll,
		Annotations: map[string]string{annSource: source, annHolderStarted: time.Now().UTC().Format(time.RFC3339), annTarget: target.Context},
		// A new mirror starts unpaused: a pause asked of an earlier one (a
		// switchover leaves its mirror paused) is not meant for it.
		Drop:    []string{annPaused, annPauseRequested},
		Publish: p.publish,
		RenewFailed: func(err error, failures int) {
			log.Warn("renew the mirror lease", "error", err, "failures", failures)
		},
		KeepOnRelease: true, // it stays, unheld, with the last stats
		DropOnRelease: []string{annPaused},
	}
	decide := func(c lease.Contest) error {
		if c.GoneHere || c.Stale {
			return nil
		}
		return fmt.Errorf("%w into %s: %s, renewed %s ago", ErrRunning, target.Context, c.Holder.Display(), c.Watched.Round(time.Millisecond))
	}
	l, err := lease.Acquire(ctx, spec, id, decide)
	if errors.Is(err, lease.ErrContended) {
		return nil, fmt.Errorf("%w into %s: the lease keeps changing hands", ErrRunning, target.Context)
	}
	return l, err
}

// lost says why the mirror lost its lease: taken by another (ErrRunning), or
// not renewed in time.
func lost(target *cluster.Conn, l *lease.Lease) error {
	err := l.Err()
	var taken *lease.TakenError
	if errors.As(err, &taken) {
		return fmt.Errorf("%w: the mirror lease of %s was taken by %s", ErrRunning, target.Context, taken.By)
	}
	return fmt.Errorf("the mirror lost its lease in %s: %w", target.Context, err)
}

// release gives the lease up (it stays, unheld, with the last stats).
func release(ctx context.Context, l *lease.Lease) {
	_ = l.Release(ctx)
}
