package mirror

// The work queue: each change applied by a worker, tried again while it
// fails for a reason that can pass.

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// retryFailedEvery is how often the objects whose write failed for a
// reason that does not pass by itself are tried again (retryFailed).
const retryFailedEvery = 2 * time.Minute

// work applies the queued changes until the queue shuts down.
func (m *Mirror) work(ctx context.Context) {
	for {
		k, shutdown := m.queue.Get()
		if shutdown {
			return
		}
		m.holdWhilePaused(ctx)
		err := m.process(ctx, k)
		m.pauseMu.RUnlock()
		var later *retryLater
		switch {
		case err == nil || ctx.Err() != nil:
			m.queue.Forget(k)
			m.settled(k)
			if err == nil && k.gvr == namespacesGVR {
				m.wake(k.name)
			}
		case errors.As(err, &later):
			// No limit: it converges once the reason passes (the backoff
			// caps at maxRetryDelay).
			if n := m.queue.NumRequeues(k); n == 0 || n%10 == 0 {
				m.Log.Info("retrying", "object", k.String(), "attempt", n+1, "reason", later.reason)
			}
			if later.awaits != none {
				m.away[later.awaits].Store(true)
			}
			m.retrying(k, later.reason, later.awaits)
			m.mu.Lock()
			if k.namespace != "" {
				if m.waiting[k.namespace] == nil {
					m.waiting[k.namespace] = map[key]bool{}
				}
				m.waiting[k.namespace][k] = true
			}
			m.mu.Unlock()
			m.queue.AddRateLimited(k)
		case m.queue.NumRequeues(k) < 5:
			m.Log.Info("retrying", "object", k.String(), "error", err)
			m.retrying(k, err.Error(), none)
			m.queue.AddRateLimited(k)
		default:
			m.fail(k, err)
			m.queue.Forget(k)
			m.settled(k)
		}
		m.queue.Done(k)
	}
}

// namespacesGVR is the resource of Namespaces.
var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// wake queues at once the changes waiting in namespace ns (see waiting):
// it was just written. A change queued twice this way is applied once and
// found unchanged the second time.
func (m *Mirror) wake(ns string) {
	m.mu.Lock()
	ks := m.waiting[ns]
	delete(m.waiting, ns)
	m.mu.Unlock()
	for k := range ks {
		m.queue.Add(k)
	}
}

// settled takes k off the waiting changes: it is done with, one way or another.
func (m *Mirror) settled(k key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.waiting[k.namespace]; w != nil {
		delete(w, k)
		if len(w) == 0 {
			delete(m.waiting, k.namespace)
		}
	}
}

// retryFailed queues again the watched objects whose last write failed
// for a reason that does not pass by itself (a policy's refusal, a
// conflict with another manager): what refused them may have been fixed
// since, and nothing in the source says so. One that fails again is logged
// again.
func (m *Mirror) retryFailed() {
	m.requeue(func(failure) bool { return true })
}

// requeue queues at once the watched objects not in step that want says.
func (m *Mirror) requeue(want func(failure) bool) int {
	m.mu.Lock()
	var ks []key
	for k, f := range m.failing {
		if _, ok := m.kinds().byGVR[k.gvr]; ok && want(f) {
			ks = append(ks, k)
		}
	}
	m.mu.Unlock()
	for _, k := range ks {
		m.queue.Add(k)
	}
	return len(ks)
}

// side is one of the two clusters of a mirror, as a change waits for it.
type side int

const (
	none side = iota
	sourceSide
	targetSide
)

func (s side) String() string { return [...]string{"", "source", "target"}[s] }

// wakeEvery is the least time between two wakes of the changes waiting for
// a cluster (heard): a cluster that answers one request and not the next
// (one apiserver of several away, a proxy cutting some connections) gets
// their retries this often at most, not at every answer.
const wakeEvery = 5 * time.Second

// heard is what a request to cluster on brought back: once a cluster that
// did not answer (away) answers again, every change waiting for it is
// queued at once, not when its own backoff (up to maxRetryDelay) ends.
func (m *Mirror) heard(on side, err error) {
	if cluster.Unreachable(err) || !m.away[on].Load() {
		return
	}
	m.mu.Lock()
	if time.Since(m.woke) < wakeEvery {
		m.mu.Unlock()
		return // still away: the next answer after wakeEvery wakes them
	}
	m.woke = time.Now()
	m.away[on].Store(false)
	m.mu.Unlock()
	n := m.requeue(func(f failure) bool { return f.awaits == on })
	m.Log.Info("the "+on.String()+" cluster answers again: trying again now what waited for it", "changes", n)
}
