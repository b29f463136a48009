package switchover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
)

// LockName is the Lease, in standby.MarkerNamespace of each cluster, that only
// one switchover (or drill) at a time can hold.
const LockName = "tandem-switchover"

// Lock timing: the holder renews every LockRenew; a lease not renewed for
// LockDuration is stale.
const (
	LockDuration = 30 * time.Second
	LockRenew    = 5 * time.Second
)

// ErrLocked is wrapped when another switchover holds the lock.
var ErrLocked = errors.New("locked")

// Holder identifies a lock holder: who, where, which process, which run.
type Holder struct {
	Who  string // user@host
	PID  int
	Run  string
	What string // "switchover to green", "drill"
}

func (h Holder) String() string {
	return fmt.Sprintf("%s pid %d run %s (%s)", h.Who, h.PID, h.Run, h.What)
}

func parseHolder(s string) Holder {
	// "user@host pid N run R (what)"
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
	me := Who()
	if h.Who != me || h.PID <= 0 {
		return false
	}
	if h.PID == os.Getpid() {
		return false
	}
	err := syscall.Kill(h.PID, 0)
	return errors.Is(err, syscall.ESRCH)
}

// Lock is the switchover lock, held in every reachable cluster of the pair.
type Lock struct {
	holder  Holder
	held    []*cluster.Conn
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	lostErr error
	// TookOver names the holders of crashed runs whose lock was taken over.
	TookOver []string
}

// Acquire takes the lock in each cluster (in a fixed order, so two runs never
// hold one each). A lock held by a live holder, or a stale one held elsewhere,
// refuses with ErrLocked naming the holder and its age; breakStale takes a
// stale lock anyway. A lock left by a crashed run on this machine is taken over.
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
	l := &Lock{holder: h, stop: make(chan struct{})}
	for _, c := range ordered {
		took, err := acquireOne(ctx, c, h, breakStale)
		if err != nil {
			l.release(context.Background())
			return nil, err
		}
		if took != "" {
			l.TookOver = append(l.TookOver, took)
		}
		l.held = append(l.held, c)
	}
	l.wg.Add(1)
	go l.renew()
	return l, nil
}

func acquireOne(ctx context.Context, c *cluster.Conn, h Holder, breakStale bool) (tookOver string, err error) {
	if err := ensureNamespace(ctx, c); err != nil {
		return "", err
	}
	leases := c.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
	now := metav1.NewMicroTime(time.Now())
	dur := int32(LockDuration / time.Second)
	id := h.String()
	for attempt := 0; attempt < 5; attempt++ {
		cur, err := leases.Get(ctx, LockName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: LockName, Namespace: standby.MarkerNamespace},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now},
			}, metav1.CreateOptions{FieldManager: plan.FieldManager})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("take the switchover lock in %s: %w", c.Context, err)
			}
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read the switchover lock in %s: %w", c.Context, err)
		}
		if cur.Spec.HolderIdentity != nil && *cur.Spec.HolderIdentity != "" && *cur.Spec.HolderIdentity != id {
			other := parseHolder(*cur.Spec.HolderIdentity)
			age, renewed := leaseAges(cur)
			stale := renewed > LockDuration
			switch {
			case other.crashedHere():
				tookOver = fmt.Sprintf("%s in %s (process gone)", *cur.Spec.HolderIdentity, c.Context)
			case stale && breakStale:
				tookOver = fmt.Sprintf("%s in %s (stale: not renewed for %s)", *cur.Spec.HolderIdentity, c.Context, renewed.Round(time.Second))
			case stale:
				return "", fmt.Errorf("%w: a stale switchover lock in %s is held by %s, taken %s ago, not renewed for %s; if that run is dead, pass --break-lock",
					ErrLocked, c.Context, *cur.Spec.HolderIdentity, age.Round(time.Second), renewed.Round(time.Second))
			default:
				return "", fmt.Errorf("%w: another switchover is running: the lock in %s is held by %s since %s ago",
					ErrLocked, c.Context, *cur.Spec.HolderIdentity, age.Round(time.Second))
			}
		}
		cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds, cur.Spec.AcquireTime, cur.Spec.RenewTime = &id, &dur, &now, &now
		// The resourceVersion makes this a compare-and-swap: a racing taker loses with a conflict.
		if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: plan.FieldManager}); apierrors.IsConflict(err) {
			continue
		} else if err != nil {
			return "", fmt.Errorf("take the switchover lock in %s: %w", c.Context, err)
		}
		return tookOver, nil
	}
	return "", fmt.Errorf("%w: the switchover lock in %s keeps changing hands", ErrLocked, c.Context)
}

// leaseAges returns how long ago the lease was acquired and renewed.
func leaseAges(l *coordinationv1.Lease) (acquired, renewed time.Duration) {
	now := time.Now()
	if l.Spec.AcquireTime != nil {
		acquired = now.Sub(l.Spec.AcquireTime.Time)
	}
	renewed = acquired
	if l.Spec.RenewTime != nil {
		renewed = now.Sub(l.Spec.RenewTime.Time)
	}
	return acquired, renewed
}

// LockInfo describes a lock as seen now (for status).
type LockInfo struct {
	Holder  string        `json:"holder"`
	Age     time.Duration `json:"age"`
	Renewed time.Duration `json:"renewedAgo"`
	Stale   bool          `json:"stale"`
}

// ReadLock returns the cluster's switchover lock, or nil when nobody holds it.
func ReadLock(ctx context.Context, c *cluster.Conn) (*LockInfo, error) {
	l, err := c.Typed.CoordinationV1().Leases(standby.MarkerNamespace).Get(ctx, LockName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return nil, nil
	}
	age, renewed := leaseAges(l)
	return &LockInfo{Holder: *l.Spec.HolderIdentity, Age: age, Renewed: renewed, Stale: renewed > LockDuration}, nil
}

func (l *Lock) renew() {
	defer l.wg.Done()
	t := time.NewTicker(LockRenew)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		for _, c := range l.held {
			ctx, cancel := context.WithTimeout(context.Background(), LockRenew)
			err := renewOne(ctx, c, l.holder.String())
			cancel()
			if err != nil {
				l.mu.Lock()
				l.lostErr = err
				l.mu.Unlock()
			}
		}
	}
}

func renewOne(ctx context.Context, c *cluster.Conn, id string) error {
	leases := c.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
	cur, err := leases.Get(ctx, LockName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("renew the switchover lock in %s: %w", c.Context, err)
	}
	if cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != id {
		return fmt.Errorf("%w: the switchover lock in %s was taken by %v", ErrLocked, c.Context, ptrString(cur.Spec.HolderIdentity))
	}
	now := metav1.NewMicroTime(time.Now())
	cur.Spec.RenewTime = &now
	_, err = leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: plan.FieldManager})
	return err
}

func ptrString(p *string) string {
	if p == nil {
		return "nobody"
	}
	return *p
}

// Lost returns the last renewal error (the lock was taken away or a cluster
// stopped answering), nil while the lock is held.
func (l *Lock) Lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// Release stops renewing and gives the lock up in every cluster.
func (l *Lock) Release(ctx context.Context) {
	close(l.stop)
	l.wg.Wait()
	l.release(ctx)
}

func (l *Lock) release(ctx context.Context) {
	id := l.holder.String()
	for _, c := range l.held {
		leases := c.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
		cur, err := leases.Get(ctx, LockName, metav1.GetOptions{})
		if err != nil || cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != id {
			continue
		}
		_ = leases.Delete(ctx, LockName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &cur.ResourceVersion}})
	}
	l.held = nil
}
