package mirror

// What the mirror in standby form does with the APIServices a standby holds
// back (standby.Hold): it keeps the target's stash in step with the
// source, as it keeps the copies.

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/standby"
)

// holdBack keeps the APIServices of k's change that a standby holds back in
// the target's stash, instead of writing them.
func (m *Mirror) holdBack(ctx context.Context, k key, held []*unstructured.Unstructured) error {
	outcome := "unchanged"
	for _, h := range held {
		ok, changed, err := standby.Hold(ctx, m.Target, h, false)
		if err != nil {
			return laterIfPasses(targetSide, "hold back the APIService", err)
		}
		if !ok {
			m.Log.Warn("not held back: the target's APIService of its name is someone else's (it answers nothing while its backend is parked)", "object", k.String())
		}
		if changed {
			outcome = "applied"
		}
	}
	m.done(k, outcome)
	return nil
}

// unhold drops from the target's stash the APIServices a change wrote: no
// longer held back (their backend's namespace is exempt now).
func (m *Mirror) unhold(ctx context.Context, written []string) error {
	for _, name := range written {
		if _, err := standby.Unhold(ctx, m.Target, name); err != nil {
			return laterIfPasses(targetSide, "drop the held APIService", err)
		}
	}
	return nil
}

// unholdGone drops the APIService of k, deleted in the source, from the
// target's stash where the target holds it back; done says it was, and
// nothing more is to be done. A narrowed mirror drops one it copies, or
// one served from a namespace it names (after a restart it knows no
// other). A source gone standby itself holds its own back: not gone, only
// held there.
func (m *Mirror) unholdGone(ctx context.Context, k key) (done bool, err error) {
	ns, held, err := standby.HeldBackend(ctx, m.Target, k.name)
	if err != nil {
		return false, laterIfPasses(targetSide, "read the held APIServices", err)
	}
	if !held || (!m.copies(k) && !slices.Contains(m.Request.Selector.Namespaces, ns)) {
		return false, nil
	}
	names, err := standby.Held(ctx, m.Source)
	if err != nil {
		return false, laterIfPasses(sourceSide, "read the source's held APIServices", err)
	}
	if slices.Contains(names, k.name) {
		m.done(k, "ignored")
		return true, nil
	}
	if _, err := standby.Unhold(ctx, m.Target, k.name); err != nil {
		return false, laterIfPasses(targetSide, "drop the held APIService", err)
	}
	m.done(k, "deleted")
	return true, nil
}

// queueGoneHeld queues each APIService the target holds back that the
// source's watch does not have.
func (m *Mirror) queueGoneHeld(ctx context.Context, watches map[informerKey]cache.SharedIndexInformer) (int, error) {
	inf, watched := watches[informerKey{gvr: cluster.APIServices}]
	if !watched {
		return 0, nil
	}
	names, err := standby.Held(ctx, m.Target)
	if err != nil {
		return 0, fmt.Errorf("read %s's held APIServices: %w", m.Target.Context, err)
	}
	queued := 0
	for _, name := range names {
		if _, exists, err := inf.GetIndexer().GetByKey(name); err != nil || exists {
			continue
		}
		m.queue.Add(key{gvr: cluster.APIServices, name: name})
		queued++
	}
	return queued, nil
}
