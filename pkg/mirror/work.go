package mirror

// The work queue: each change applied by a worker, tried again while it
// fails for a reason that can pass.

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
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
			if err == nil && m.unreachable.Swap(false) {
				// The clusters answer again: what failed while they did
				// not is tried now, not when its backoff (up to
				// maxRetryDelay) ends.
				m.Log.Info("the clusters answer again: trying again now what waits")
				m.retryFailed(true)
			}
		case errors.As(err, &later):
			// No limit: it converges once the reason passes (the backoff
			// caps at maxRetryDelay).
			if n := m.queue.NumRequeues(k); n == 0 || n%10 == 0 {
				m.Log.Info("retrying", "object", k.String(), "attempt", n+1, "reason", later.reason)
			}
			if later.unreachable {
				m.unreachable.Store(true)
			}
			m.retrying(k, later.reason)
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
			m.retrying(k, err.Error())
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

// retryFailed queues again the watched objects not in step: every
// retryFailedEvery those whose last write failed for a reason that does
// not pass by itself (a policy's refusal, a conflict with another manager;
// what refused them may have been fixed since, and nothing in the source
// says so), and, when the clusters answer again after they did not (fresh),
// all of them at once with their backoff forgotten. One that fails again is
// logged again.
func (m *Mirror) retryFailed(fresh bool) {
	m.mu.Lock()
	var ks []key
	for k := range m.failing {
		if _, ok := m.byGVR[k.gvr]; ok {
			ks = append(ks, k)
		}
	}
	m.mu.Unlock()
	for _, k := range ks {
		if fresh {
			m.queue.Forget(k)
		}
		m.queue.Add(k)
	}
}
