package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Client is the part of a namespaced Lease client this package uses
// (client-go's CoordinationV1().Leases(ns) is one).
type Client interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// ErrTaken is wrapped when another holder has the lease (a *TakenError says who).
var ErrTaken = errors.New("the lease is held by another")

// ErrContended is wrapped when the lease changed hands every time Acquire
// tried to take it.
var ErrContended = errors.New("keeps changing hands")

// TakenError is a lease found held by another, or deleted, when its holder
// renewed it.
type TakenError struct {
	Name string
	By   string // the new holder for people (Identity.Display), "nobody" when deleted or released
}

// Error implements error.
func (e *TakenError) Error() string { return fmt.Sprintf("lease %s was taken by %s", e.Name, e.By) }

// Is makes a TakenError match ErrTaken.
func (e *TakenError) Is(target error) bool { return target == ErrTaken }

// Spec says which lease, how it is timed and what its holder writes in it.
type Spec struct {
	Client       Client
	Namespace    string // for the object created
	Name         string
	FieldManager string
	// Duration: a lease whose record does not change for this long (as seen
	// by whoever watches it) is stale. RenewEvery: the holder renews this
	// often. RenewDeadline (default 2/3 of Duration, as client-go's 10s of
	// 15s): a holder that could not renew for this long is fenced, before
	// anyone can judge its lease stale. Poll (default RenewEvery/4): how often
	// a contested lease is read.
	Duration, RenewEvery, RenewDeadline, Poll time.Duration
	// Annotations are set when the lease is taken; Drop are removed then.
	Annotations map[string]string
	Drop        []string
	// Publish, when set, is called at each renewal with the lease's
	// annotations (never nil) to change them in place.
	Publish func(annotations map[string]string)
	// RenewFailed, when set, hears of each failed renewal that did not (yet)
	// lose the lease, with the failures in a row.
	RenewFailed func(err error, failures int)
	// Same, when set, says a holder is this taker under another process (a
	// controller replica resuming the run its dead predecessor held): its
	// lease is taken at once, unwatched, as decide allows.
	Same func(holder Identity) bool
	// KeepOnRelease: Release clears the holder and keeps the object (and its
	// annotations, less DropOnRelease) rather than deleting it.
	KeepOnRelease bool
	DropOnRelease []string
}

func (s *Spec) defaults() {
	if s.RenewDeadline <= 0 {
		s.RenewDeadline = s.Duration * 2 / 3
	}
	if s.Poll <= 0 {
		s.Poll = s.RenewEvery / 4
	}
	if s.Poll <= 0 {
		s.Poll = 250 * time.Millisecond
	}
}

// Contest is a lease held by someone else when a process wants it.
type Contest struct {
	Record   *Record
	Holder   Identity      // parsed from Record.Holder
	GoneHere bool          // the holder was a process of this machine that is gone (not watched)
	Same     bool          // Spec.Same says the holder is the same logical holder (not watched)
	Stale    bool          // watched, its record did not change for its duration
	Watched  time.Duration // how long the record stayed the same, as seen here
}

// Decide says whether to take a contested lease: nil takes it, an error
// refuses (and is returned by Acquire).
type Decide func(Contest) error

// TakeGoneOrStale is the usual Decide: take the lease of a gone or stale
// holder, refuse a live one.
func TakeGoneOrStale(c Contest) error {
	if c.GoneHere || c.Stale {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrTaken, c.Holder.Display())
}

// Lease is a lease this process holds, renewed in the background until
// Release; Done is closed when it is lost.
type Lease struct {
	spec Spec
	id   string

	mu        sync.Mutex // one renewal at a time
	lastRenew time.Time  // this machine's clock: when the last successful renewal began
	failures  int        // failed renewals in a row

	lostOnce sync.Once
	lost     chan struct{}
	lostErr  error

	stopOnce sync.Once
	stop     chan struct{}
	stopped  chan struct{}
}

// Acquire takes the lease for id. A lease free, deleted, or already id's is
// taken at once; one held by another is watched (unless its holder is gone
// from this machine) and decide says what to do. Taking is a
// compare-and-swap on the resourceVersion: of two racing takers one wins.
// From then on the lease is renewed every spec.RenewEvery until Release.
func Acquire(ctx context.Context, spec Spec, id Identity, decide Decide) (*Lease, error) {
	spec.defaults()
	if decide == nil {
		decide = TakeGoneOrStale
	}
	l := &Lease{spec: spec, id: id.String(), lost: make(chan struct{}), stop: make(chan struct{}), stopped: make(chan struct{})}
	for attempt := 0; attempt < 5; attempt++ {
		begin := time.Now()
		cur, err := spec.Client.Get(ctx, spec.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			err = l.create(ctx)
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			l.start(begin)
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		if r := RecordOf(cur); r.Held() && r.Holder != l.id {
			c := Contest{Record: r, Holder: ParseIdentity(r.Holder)}
			c.GoneHere = c.Holder.GoneHere()
			c.Same = spec.Same != nil && spec.Same(c.Holder)
			if !c.GoneHere && !c.Same {
				obs, err := Watch(ctx, spec.Client, spec.Name, r, spec.Duration, spec.Poll)
				if err != nil {
					return nil, err
				}
				if !obs.Record.Held() {
					continue // released or deleted while watched: try again
				}
				c.Record, c.Holder, c.Watched = obs.Record, ParseIdentity(obs.Record.Holder), obs.Unchanged
				c.Stale = !obs.Live
				if obs.Record.Holder == l.id {
					continue
				}
			}
			if err := decide(c); err != nil {
				return nil, err
			}
			// Take what was judged: if it changed since, judge it again (and
			// if it changes before the update, the update conflicts).
			if cur, err = spec.Client.Get(ctx, spec.Name, metav1.GetOptions{}); err != nil {
				return nil, err
			}
			if !RecordOf(cur).same(c.Record) {
				continue
			}
		}
		begin = time.Now()
		err = l.take(ctx, cur)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		l.start(begin)
		return l, nil
	}
	return nil, fmt.Errorf("lease %s: %w", spec.Name, ErrContended)
}

func (l *Lease) create(ctx context.Context) error {
	now := metav1.NewMicroTime(time.Now())
	dur := int32(l.spec.Duration / time.Second)
	ann := map[string]string{}
	for k, v := range l.spec.Annotations {
		ann[k] = v
	}
	_, err := l.spec.Client.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: l.spec.Name, Namespace: l.spec.Namespace, Annotations: ann},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &l.id, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{FieldManager: l.spec.FieldManager})
	return err
}

func (l *Lease) take(ctx context.Context, cur *coordinationv1.Lease) error {
	now := metav1.NewMicroTime(time.Now())
	dur := int32(l.spec.Duration / time.Second)
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	for k, v := range l.spec.Annotations {
		cur.Annotations[k] = v
	}
	for _, k := range l.spec.Drop {
		delete(cur.Annotations, k)
	}
	if cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != l.id {
		transitions := int32(1)
		if cur.Spec.LeaseTransitions != nil {
			transitions = *cur.Spec.LeaseTransitions + 1
		}
		cur.Spec.LeaseTransitions = &transitions
	}
	cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds, cur.Spec.AcquireTime, cur.Spec.RenewTime = &l.id, &dur, &now, &now
	_, err := l.spec.Client.Update(ctx, cur, metav1.UpdateOptions{FieldManager: l.spec.FieldManager})
	return err
}

func (l *Lease) start(renewed time.Time) {
	l.lastRenew = renewed
	if l.spec.RenewEvery <= 0 {
		close(l.stopped)
		return
	}
	go l.loop()
}

// Identity is the holder's identity as the lease records it.
func (l *Lease) Identity() string { return l.id }

// Done is closed when the lease is lost: taken by another, or not renewed
// within the renew deadline. Its holder must stop before its next write.
func (l *Lease) Done() <-chan struct{} { return l.lost }

// Err says why the lease was lost; nil while it is held.
func (l *Lease) Err() error {
	select {
	case <-l.lost:
		return l.lostErr
	default:
		return nil
	}
}

func (l *Lease) lose(err error) {
	l.lostOnce.Do(func() {
		l.lostErr = err
		close(l.lost)
	})
}

func (l *Lease) loop() {
	defer close(l.stopped)
	t := time.NewTicker(l.spec.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.lost:
			return
		case <-t.C:
		}
		_ = l.Renew(context.Background())
	}
}

// Renew renews the lease now (the background loop does it every
// RenewEvery): it checks that the lease is still this holder's, calls
// Publish and writes. A lease found taken, or not renewed within the
// deadline, is lost; the error is returned either way.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.Err(); err != nil {
		return err
	}
	begin := time.Now()
	left := l.spec.RenewDeadline - begin.Sub(l.lastRenew)
	if left <= 0 {
		err := fmt.Errorf("lease %s not renewed for %s", l.spec.Name, begin.Sub(l.lastRenew).Round(time.Second))
		l.lose(err)
		return err
	}
	// A renewal that hangs must not outlive the deadline.
	rctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = l.renewOnce(rctx); !apierrors.IsConflict(err) {
			break // a conflict is someone annotating the lease: read it again
		}
	}
	switch {
	case err == nil:
		l.lastRenew, l.failures = begin, 0
	case errors.Is(err, ErrTaken):
		l.lose(err)
	case time.Since(l.lastRenew) >= l.spec.RenewDeadline:
		err = fmt.Errorf("lease %s not renewed for %s: %w", l.spec.Name, time.Since(l.lastRenew).Round(time.Second), err)
		l.lose(err)
	default:
		l.failures++
		if l.spec.RenewFailed != nil {
			l.spec.RenewFailed(err, l.failures)
		}
	}
	return err
}

func (l *Lease) renewOnce(ctx context.Context) error {
	cur, err := l.spec.Client.Get(ctx, l.spec.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &TakenError{Name: l.spec.Name, By: "nobody"}
	}
	if err != nil {
		return err
	}
	if cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != l.id {
		return &TakenError{Name: l.spec.Name, By: holderOf(cur)}
	}
	now := metav1.NewMicroTime(time.Now())
	cur.Spec.RenewTime = &now
	if l.spec.Publish != nil {
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		l.spec.Publish(cur.Annotations)
	}
	_, err = l.spec.Client.Update(ctx, cur, metav1.UpdateOptions{FieldManager: l.spec.FieldManager})
	return err
}

func holderOf(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return "nobody"
	}
	return ParseIdentity(*l.Spec.HolderIdentity).Display()
}

// Release stops renewing and gives the lease up, if it is still this
// holder's: deleted, or with KeepOnRelease cleared of its holder.
func (l *Lease) Release(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.stopped
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := l.spec.Client.Get(ctx, l.spec.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != l.id {
		return nil
	}
	if !l.spec.KeepOnRelease {
		return l.spec.Client.Delete(ctx, l.spec.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &cur.ResourceVersion}})
	}
	empty := ""
	cur.Spec.HolderIdentity = &empty
	for _, k := range l.spec.DropOnRelease {
		delete(cur.Annotations, k)
	}
	_, err = l.spec.Client.Update(ctx, cur, metav1.UpdateOptions{FieldManager: l.spec.FieldManager})
	return err
}
