package mirror

// The initial pass: everything copied once, as `tandem sync` does, before
// the changes are followed.

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// requeueUnread queues, one by one, every object the informers hold of
// what the initial pass could not read of the source (a list that failed
// past its retries): the first lists' objects are otherwise never queued,
// and these would wait for their next change.
func (m *Mirror) requeueUnread(ctx context.Context, unread []syncer.Unread) {
	for _, u := range unread {
		gvr := u.Resource.GVR()
		if u.Name != "" && m.informer(gvr, u.Namespace) == nil {
			// An object the selection needs outside what it watches:
			// watched from now on, as a dependency is once live.
			m.watchAlso(ctx, gvr, u.Namespace)
		}
		queued := 0
		m.infMu.RLock()
		for k, inf := range m.informers {
			if k.gvr != gvr {
				continue
			}
			for _, o := range inf.GetStore().List() {
				mo, ok := o.(metav1.Object)
				if !ok || (u.Namespace != "" && mo.GetNamespace() != u.Namespace) || (u.Name != "" && mo.GetName() != u.Name) {
					continue
				}
				m.queue.Add(key{gvr: gvr, namespace: mo.GetNamespace(), name: mo.GetName()})
				queued++
			}
		}
		m.infMu.RUnlock()
		m.Log.Warn("initial pass could not read a resource: its objects are mirrored one by one", "resource", u.Resource.String(), "namespace", u.Namespace, "queued", queued, "warning", u.Warning)
	}
}

// initialPass copies everything once, exactly as `tandem sync` does.
func (m *Mirror) initialPass(ctx context.Context) error {
	start := time.Now()
	req := m.Request
	req.OnDisk = true
	// Written as it is planned (apply.Stream): no whole plan is held
	// beside the informers' caches.
	ss := apply.NewSession(m.Target, apply.Options{Force: m.Request.Force, RecreateKinds: RecreateKinds, Log: m.Log})
	req.Stream = func() (syncer.Sink, error) { return ss.NewStream(), nil }
	prep, err := syncer.Prepare(ctx, req, m.kinds().resources)
	if err != nil {
		return fmt.Errorf("initial pass: %w", err)
	}
	defer prep.Close()
	m.requeueUnread(ctx, prep.Unread)
	// The APIServices a standby holds back, or no longer does; one that
	// fails here is tried again with the changes.
	for _, h := range prep.Held {
		if _, err := standby.HoldBack(ctx, m.Target, []*unstructured.Unstructured{h}, nil); err != nil {
			m.Log.Warn("initial pass: to be tried again", "object", "APIService "+h.GetName(), "reason", err.Error())
			k := key{gvr: cluster.APIServices, name: h.GetName()}
			m.retrying(k, err.Error(), targetSide)
			m.queue.AddRateLimited(k)
		}
	}
	results := ss.Results()
	if _, err := standby.HoldBack(ctx, m.Target, nil, prep.UnheldWritten(results)); err != nil {
		m.Log.Warn("initial pass: the held APIServices written since are left in the stash", "reason", err.Error())
	}
	_, total := apply.Summarize(results)
	m.mu.Lock()
	m.stats.Applied += int64(total[apply.Created] + total[apply.Updated])
	m.stats.Unchanged += int64(total[apply.Unchanged])
	m.mu.Unlock()
	// Each kind's resource as the informers chose it (the first version
	// both clusters serve), watched or not.
	gvrOf := map[schema.GroupKind]schema.GroupVersionResource{}
	for _, r := range m.kinds().resources {
		if _, seen := gvrOf[r.GroupKind()]; !seen && !r.Unshared {
			gvrOf[r.GroupKind()] = r.GVR()
		}
	}
	retried := 0
	for _, r := range results {
		gvr := gvrOf[schema.GroupKind{Group: r.Group, Kind: r.Kind}]
		_, ok := m.kinds().byGVR[gvr] // watched
		if ok && r.Wrote() {
			m.Metrics.applied(m.Source.Context, gvr.Resource, "applied", 0, false)
		}
		if r.Bad() {
			k := key{gvr: gvr, namespace: r.Namespace, name: r.Name}
			switch {
			case ok && r.Transient:
				// It can pass by itself (a webhook down longer than the
				// pass's retries, the apiserver throttling): tried again
				// with the changes, until it goes through.
				m.Log.Warn("initial pass: to be tried again", "object", k.String(), "reason", r.Reason)
				m.retrying(k, r.Reason, none)
				m.queue.AddRateLimited(k)
				retried++
			case ok:
				m.fail(k, fmt.Errorf("%s: %s", r.Status, r.Reason))
			default:
				// A kind the mirror does not watch (a Pod of no
				// workload): not in step, and not tried again
				// until the next initial pass.
				m.fail(k, fmt.Errorf("%s: %s (a kind the mirror does not watch: written again by its next initial pass, or by tandem sync)", r.Status, r.Reason))
			}
		}
		if ok && r.OwnersDropped {
			// Written without an owner the pass did not find in the
			// target: it waits for the mirror to create the owner there.
			m.awaitOwnersOf(ctx, key{gvr: gvr, namespace: r.Namespace, name: r.Name})
		}
		if m.narrowed() && (r.Why != "" || r.Namespace == "") {
			m.follow(plan.ObjectKey{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}, r.Why)
		}
	}
	m.Log.Info("initial pass done", "created", total[apply.Created], "updated", total[apply.Updated], "unchanged", total[apply.Unchanged], "failed", total[apply.Failed]+total[apply.Conflict]-retried, "to retry", retried, "took", time.Since(start))
	return nil
}
