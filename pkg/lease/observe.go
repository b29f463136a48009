package lease

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Record is a lease as read. Acquired and Renewed are the holder's clock:
// shown to people, never compared with this machine's clock to judge
// staleness.
type Record struct {
	Holder          string
	Acquired        time.Time
	Renewed         time.Time
	DurationSeconds int32
	Transitions     int32
	Annotations     map[string]string
	ResourceVersion string
}

// Held reports whether someone holds the lease.
func (r *Record) Held() bool { return r != nil && r.Holder != "" }

// Duration is the lease duration the record declares, or def when it
// declares none.
func (r *Record) Duration(def time.Duration) time.Duration {
	if r == nil || r.DurationSeconds <= 0 {
		return def
	}
	return time.Duration(r.DurationSeconds) * time.Second
}

// same reports whether two records are the same as far as liveness goes: the
// holder's fields (as client-go's LeaderElectionRecord), not the annotations
// (others write those: a pause request says nothing about the holder).
func (r *Record) same(o *Record) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.Holder == o.Holder && r.Acquired.Equal(o.Acquired) && r.Renewed.Equal(o.Renewed) &&
		r.DurationSeconds == o.DurationSeconds && r.Transitions == o.Transitions
}

// RecordOf reads a Lease object.
func RecordOf(l *coordinationv1.Lease) *Record {
	r := &Record{Annotations: l.Annotations, ResourceVersion: l.ResourceVersion}
	if l.Spec.HolderIdentity != nil {
		r.Holder = *l.Spec.HolderIdentity
	}
	if l.Spec.AcquireTime != nil {
		r.Acquired = l.Spec.AcquireTime.Time
	}
	if l.Spec.RenewTime != nil {
		r.Renewed = l.Spec.RenewTime.Time
	}
	if l.Spec.LeaseDurationSeconds != nil {
		r.DurationSeconds = *l.Spec.LeaseDurationSeconds
	}
	if l.Spec.LeaseTransitions != nil {
		r.Transitions = *l.Spec.LeaseTransitions
	}
	return r
}

// Observer remembers when this process last saw a lease's record change:
// client-go's observedTime.
type Observer struct {
	last     *Record
	observed time.Time
}

// Observe notes the record read at now; it reports whether it changed since
// the last one (the first one counts as a change).
func (o *Observer) Observe(r *Record, now time.Time) bool {
	if o.last != nil && o.last.same(r) {
		o.last = r // keep the newest annotations
		return false
	}
	o.last, o.observed = r, now
	return true
}

// Record is the last record observed.
func (o *Observer) Record() *Record { return o.last }

// Unchanged is how long the record has stayed the same, as seen here.
func (o *Observer) Unchanged(now time.Time) time.Duration {
	if o.last == nil {
		return 0
	}
	return now.Sub(o.observed)
}

// Stale reports whether the holder failed to renew: the record has not
// changed for its lease duration (def when it declares none) since this
// process saw it change. A released lease is not stale, it is free.
func (o *Observer) Stale(now time.Time, def time.Duration) bool {
	if !o.last.Held() {
		return false
	}
	return Stale(o.observed, now, o.last.Duration(def))
}

// Stale is the staleness rule of client-go's leaderelection: a lease whose
// record this process saw change at observed is still valid until observed
// plus its duration. Both times are this machine's.
func Stale(observed, now time.Time, duration time.Duration) bool {
	return !observed.Add(duration).After(now)
}

// Observation is what Watch saw.
type Observation struct {
	Record    *Record       // the newest record; nil when the lease is gone
	Live      bool          // held, and its record changed while watched (or released: not live)
	Unchanged time.Duration // how long the record stayed the same, as seen here
}

// Watch reads the lease every poll until its holder shows it is alive (the
// record changes), it is released or deleted, or the record stays the same for
// its duration (def when it declares none): stale. A live holder answers
// within its renewal period; a stale one costs a whole duration, the price of
// not trusting another machine's clock. first, when not nil, is a read the
// caller already made.
func Watch(ctx context.Context, c Client, name string, first *Record, def, poll time.Duration) (Observation, error) {
	var o Observer
	reads := 0
	if first != nil {
		o.Observe(first, time.Now())
		reads++
	}
	var obs Observation
	err := wait.PollUntilContextCancel(ctx, poll, first == nil, func(ctx context.Context) (bool, error) {
		l, err := c.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			obs = Observation{}
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("read lease %s: %w", name, err)
		}
		r, now := RecordOf(l), time.Now()
		changed := o.Observe(r, now)
		reads++
		obs = Observation{Record: r, Unchanged: o.Unchanged(now)}
		switch {
		case !r.Held():
			return true, nil
		case changed && reads > 1:
			obs.Live = true
			return true, nil
		default:
			return o.Stale(now, def), nil
		}
	})
	if err != nil {
		return obs, err
	}
	return obs, nil
}

// Ago is a time since something, shown to people: JSON gives it in seconds
// (a float), as every other duration tandem prints.
type Ago time.Duration

// MarshalJSON writes the seconds.
func (a Ago) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(a).Seconds()) }

// UnmarshalJSON reads the seconds.
func (a *Ago) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*a = Ago(s * float64(time.Second))
	return nil
}

// String rounds to the second.
func (a Ago) String() string { return time.Duration(a).Round(time.Second).String() }
