package switchover

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/lease"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
)

// LockName is the Lease, in standby.MarkerNamespace of each cluster, that only
// one switchover (or drill) at a time can hold.
const LockName = "tandem-switchover"

// Lock timing: the holder renews every LockRenew; a lease whose record does
// not change for LockDuration (as seen by whoever watches it) is stale.
const (
	LockDuration = 30 * time.Second
	LockRenew    = 5 * time.Second
)

// lockPoll is how often a lock held by another is read while it is judged.
const lockPoll = 500 * time.Millisecond

// ErrLocked is wrapped when another switchover holds the lock.
var ErrLocked = errors.New("locked")

// Holder identifies a lock holder: who, where, which process, which run.
type Holder struct {
	Who  string // user@host
	PID  int
	Run  string
	What string // "switchover to green", "drill"
}

// String names the holder as the refusal of a second switchover shows it.
func (h Holder) String() string {
	return fmt.Sprintf("%s pid %d run %s (%s)", h.Who, h.PID, h.Run, h.What)
}

// identity is h as the lease records it: String plus what makes it unique
// to the process (boot id, start time).
func (h Holder) identity() lease.Identity {
	return lease.Process(h.Who, h.PID, fmt.Sprintf("run %s (%s)", h.Run, h.What))
}

// parseHolder reads a holder from its String or from a lease identity.
func parseHolder(s string) Holder {
	// "user@host pid N [boot B start S] run R (what)"
	var h Holder
	f := strings.Fields(s)
	if len(f) > 0 {
		h.Who = f[0]
	}
	for i := 1; i+1 < len(f); i++ {
		switch f[i] {
		case "pid":
			h.PID, _ = strconv.Atoi(f[i+1])
		case "run":
			h.Run = f[i+1]
		}
	}
	if i := strings.Index(s, "("); i >= 0 {
		h.What = strings.TrimSuffix(s[i+1:], ")")
	}
	return h
}

// crashedHere reports whether h was a process on this machine that is gone:
// its lock can be taken over at once (a kill -9'd switchover being re-run).
func (h Holder) crashedHere() bool {
	return lease.Identity{Who: h.Who, PID: h.PID}.GoneHere()
}

// Lock is the switchover lock, held in every reachable cluster of the pair.
type Lock struct {
	holder Holder
	held   []heldLease

	done     chan struct{} // closed when the lock is lost in any cluster
	doneOnce sync.Once
	released chan struct{}
	relOnce  sync.Once

	// TookOver names the holders of crashed runs whose lock was taken over.
	TookOver []string
}

type heldLease struct {
	conn  *cluster.Conn
	lease *lease.Lease
}

func lockSpec(c *cluster.Conn) lease.Spec {
	return lease.Spec{
		Client: c.Typed.CoordinationV1().Leases(standby.MarkerNamespace), Namespace: standby.MarkerNamespace, Name: LockName,
		FieldManager: plan.FieldManager, Duration: LockDuration, RenewEvery: LockRenew, Poll: lockPoll,
	}
}

// Acquire takes the lock in each cluster (in a fixed order, so two runs never
// hold one each). A lock held by another run is watched until its holder
// renews it (live: refused with ErrLocked naming the holder and its age) or it
// stays unchanged for LockDuration (stale: refused, or taken with breakStale).
// Staleness is judged by when this process saw the lock change, never by this
// machine's clock against the holder's. A lock left by a crashed run on this
// machine is taken over at once.
func Acquire(ctx context.Context, clusters []*cluster.Conn, h Holder, breakStale bool) (*Lock, error) {
	ordered := append([]*cluster.Conn(nil), clusters...)
	ids := map[*cluster.Conn]string{}
	for _, c := range ordered {
		id, err := c.Identity(ctx)
		if err != nil {
			return nil, err
		}
		ids[c] = id
	}
	sort.Slice(ordered, func(i, j int) bool { return ids[ordered[i]] < ids[ordered[j]] })
	l := &Lock{holder: h, done: make(chan struct{}), released: make(chan struct{})}
	id := h.identity()
	for _, c := range ordered {
		held, took, err := acquireOne(ctx, c, id, breakStale)
		if err != nil {
			l.Release(context.Background())
			return nil, err
		}
		if took != "" {
			l.TookOver = append(l.TookOver, took)
		}
		l.held = append(l.held, heldLease{conn: c, lease: held})
		go l.watch(held)
	}
	return l, nil
}

func acquireOne(ctx context.Context, c *cluster.Conn, id lease.Identity, breakStale bool) (*lease.Lease, string, error) {
	if err := standby.EnsureStateNamespace(ctx, c); err != nil {
		return nil, "", err
	}
	var tookOver string
	decide := func(ct lease.Contest) error {
		tookOver = ""
		holder := ct.Holder.Display()
		switch {
		case ct.Same:
			tookOver = fmt.Sprintf("%s in %s (the same run, resumed)", holder, c.Context)
		case ct.GoneHere:
			tookOver = fmt.Sprintf("%s in %s (process gone)", holder, c.Context)
		case ct.Stale && breakStale:
			tookOver = fmt.Sprintf("%s in %s (stale: not renewed for %s)", holder, c.Context, ct.Watched.Round(time.Second))
		case ct.Stale:
			return fmt.Errorf("%w: a stale switchover lock in %s is held by %s, taken %s ago, not renewed for %s; if that run is dead, pass --break-lock",
				ErrLocked, c.Context, holder, acquiredAgo(ct.Record).Round(time.Second), ct.Watched.Round(time.Second))
		default:
			return fmt.Errorf("%w: another switchover is running: the lock in %s is held by %s since %s ago",
				ErrLocked, c.Context, holder, acquiredAgo(ct.Record).Round(time.Second))
		}
		return nil
	}
	spec := lockSpec(c)
	spec.Same = func(h lease.Identity) bool { return sameRun(h, id) }
	held, err := lease.Acquire(ctx, spec, id, decide)
	switch {
	case err == nil:
		return held, tookOver, nil
	case errors.Is(err, ErrLocked):
		return nil, "", err
	case errors.Is(err, lease.ErrContended):
		return nil, "", fmt.Errorf("%w: the switchover lock in %s keeps changing hands", ErrLocked, c.Context)
	default:
		return nil, "", fmt.Errorf("take the switchover lock in %s: %w", c.Context, err)
	}
}

// sameRun says whether the lock is held under the run id asks for: the
// same logical run resumed by another process (the CLI's runs are all "-",
// never the same).
func sameRun(held, id lease.Identity) bool {
	run := func(i lease.Identity) string { return parseHolder(i.Display()).Run }
	r := run(id)
	return r != "" && r != "-" && run(held) == r
}

// acquiredAgo is how long ago the holder says it took the lock, by this
// machine's clock: shown to people only, no decision rests on it.
func acquiredAgo(r *lease.Record) time.Duration {
	if r == nil || r.Acquired.IsZero() {
		return 0
	}
	return time.Since(r.Acquired)
}

// LockInfo describes a lock as seen now (for status).
type LockInfo struct {
	Holder  string    `json:"holder"`
	Age     lease.Ago `json:"ageSeconds"`        // since the holder took it, by the holder's acquire time (informational)
	Renewed lease.Ago `json:"renewedAgoSeconds"` // since this process saw it change
	Stale   bool      `json:"stale"`
}

// ReadLock returns the cluster's switchover lock, or nil when nobody holds it.
// A held lock is watched until its holder renews it, or for LockDuration when
// it does not (then it is stale).
func ReadLock(ctx context.Context, c *cluster.Conn) (*LockInfo, error) {
	leases := c.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
	cur, err := leases.Get(ctx, LockName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r := lease.RecordOf(cur)
	if !r.Held() {
		return nil, nil
	}
	obs, err := lease.Watch(ctx, leases, LockName, r, LockDuration, lockPoll)
	if err != nil {
		return nil, err
	}
	if !obs.Record.Held() {
		return nil, nil
	}
	return &LockInfo{
		Holder:  lease.ParseIdentity(obs.Record.Holder).Display(),
		Age:     lease.Ago(acquiredAgo(obs.Record)),
		Renewed: lease.Ago(obs.Unchanged),
		Stale:   !obs.Live,
	}, nil
}

// watch closes l.done when held is lost, until the lock is released.
func (l *Lock) watch(held *lease.Lease) {
	select {
	case <-held.Done():
		l.doneOnce.Do(func() { close(l.done) })
	case <-l.released:
	}
}

// Done is closed when the lock is lost in a cluster (taken away, or not
// renewed in time): the holder must stop before its next write; Lost says why.
func (l *Lock) Done() <-chan struct{} { return l.done }

// Lost returns why the lock was lost (taken away, or a cluster stopped
// answering for longer than the renew deadline), nil while it is held.
func (l *Lock) Lost() error {
	for _, h := range l.held {
		err := h.lease.Err()
		if err == nil {
			continue
		}
		var taken *lease.TakenError
		if errors.As(err, &taken) {
			return fmt.Errorf("%w: the switchover lock in %s was taken by %s", ErrLocked, h.conn.Context, taken.By)
		}
		return fmt.Errorf("renew the switchover lock in %s: %w", h.conn.Context, err)
	}
	return nil
}

// Release stops renewing and gives the lock up in every cluster.
func (l *Lock) Release(ctx context.Context) {
	l.relOnce.Do(func() { close(l.released) })
	for _, h := range l.held {
		_ = h.lease.Release(ctx)
	}
	l.held = nil
}
