package mirror

// The kinds the mirror watches follow the source's API while it runs: a
// CRD made there since the mirror started (an operator installed, a chart
// bringing its CRDs), or a version it serves now instead of the one
// watched, is watched from then on. Its CRD is mirrored as any object is;
// without this, its objects would reach the target only at the mirror's
// next start — in a standby, a failover later.
//
// The kinds are read as one immutable set (kindSet), replaced whole when
// the source's discovery says something new: the workers read it without
// a lock, a refresh never changes a set a worker holds.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// kindSet is what the mirror knows of the two clusters' API at one time.
type kindSet struct {
	// resources are every resource the source serves, as the pipeline
	// (syncer.Prepare, syncer.Changed) picks versions from them; a kind
	// watched keeps the version its informers watch.
	resources []inventory.Resource
	// byGVR are the watched resources, by the version watched: one per kind.
	byGVR map[schema.GroupVersionResource]inventory.Resource
	// scale are the custom kinds a standby form holds at 0, as the source
	// serves them now (a kind watched since may be one): nil when the
	// mirror is no standby, or the kinds were given (Request.StandbyKinds).
	scale standby.ScaleKinds
}

// kinds is the set the mirror works with now (empty before the run starts).
func (m *Mirror) kinds() *kindSet {
	if s := m.kindsNow.Load(); s != nil {
		return s
	}
	return &kindSet{}
}

// request is the mirror's request with the standby kinds as they are now.
func (m *Mirror) request() syncer.Request {
	req := m.Request
	if s := m.kinds().scale; s != nil {
		req.StandbyKinds = s
	}
	return req
}

// resource is the watched resource of gvr; false when the mirror does not
// watch it (or no longer does).
func (m *Mirror) resource(gvr schema.GroupVersionResource) (inventory.Resource, bool) {
	r, ok := m.kinds().byGVR[gvr]
	return r, ok
}

// watchedFrom picks, out of resources, the resource of each kind to watch:
// the first of its kind the target shares (or will, its CRD coming over)
// that is worth a watch (watched).
func watchedFrom(resources []inventory.Resource) map[schema.GroupVersionResource]inventory.Resource {
	out := map[schema.GroupVersionResource]inventory.Resource{}
	seen := map[schema.GroupKind]bool{}
	for _, r := range resources {
		if !watched(r) || seen[r.GroupKind()] || r.Unshared {
			continue
		}
		seen[r.GroupKind()] = true
		out[r.GVR()] = r
	}
	return out
}

// kindsChange is what a refresh of the source's discovery changes in a
// kind set: the set to use, the resources to start watching and those to
// stop watching.
type kindsChange struct {
	next       *kindSet
	start      []inventory.Resource
	stop       []schema.GroupVersionResource
	unanswered int // kinds kept because their API group did not answer discovery
}

// changeKinds compares the kinds watched (cur) with the resources
// discovered now. A kind watched stays at its version while the source
// serves that version (the target's preferred one may have changed: the
// informers need not restart for it); one whose version is no longer
// served moves to the one discovered; one the source no longer serves
// stops being watched — unless its group's discovery failed (failed), when
// nothing says it is gone. A kind whose scope changed (its CRD made again
// cluster-scoped) is watched afresh.
func changeKinds(cur *kindSet, discovered []inventory.Resource, failed map[schema.GroupVersion]error) kindsChange {
	watchedGK := map[schema.GroupKind]schema.GroupVersionResource{}
	for gvr, r := range cur.byGVR {
		watchedGK[r.GroupKind()] = gvr
	}
	ch := kindsChange{next: &kindSet{byGVR: map[schema.GroupVersionResource]inventory.Resource{}}}
	wantedGK := map[schema.GroupKind]bool{}
	for gvr, r := range watchedFrom(discovered) {
		wantedGK[r.GroupKind()] = true
		old, watching := watchedGK[r.GroupKind()]
		kept := r
		kept.Version = old.Version
		switch {
		case watching && (old == gvr || stillExchanged(r, old.Version)) && r.Namespaced == cur.byGVR[old].Namespaced:
			ch.next.byGVR[old] = kept // as discovered now, at the version watched
		case watching:
			ch.stop = append(ch.stop, old)
			fallthrough
		default:
			ch.next.byGVR[gvr] = r
			ch.start = append(ch.start, r)
		}
	}
	for gk, gvr := range watchedGK {
		switch {
		case wantedGK[gk]:
		case failed[gvr.GroupVersion()] != nil:
			ch.next.byGVR[gvr] = cur.byGVR[gvr]
			ch.unanswered++
		default:
			ch.stop = append(ch.stop, gvr)
		}
	}
	// The pipeline's resources: the discovered ones, a watched kind at its
	// watched version; a kind kept unanswered is kept as it was.
	watchedNext := map[schema.GroupKind]inventory.Resource{}
	for _, r := range ch.next.byGVR {
		watchedNext[r.GroupKind()] = r
	}
	listed := map[schema.GroupKind]bool{}
	for _, r := range discovered {
		if w, ok := watchedNext[r.GroupKind()]; ok {
			if listed[r.GroupKind()] {
				continue
			}
			r = w
		}
		listed[r.GroupKind()] = true
		ch.next.resources = append(ch.next.resources, r)
	}
	for gk, r := range watchedNext {
		if !listed[gk] {
			ch.next.resources = append(ch.next.resources, r)
		}
	}
	return ch
}

// stillExchanged says whether version of r can still be watched and
// written: the source serves it, and the target too (or will, r's CRD
// coming over).
func stillExchanged(r inventory.Resource, version string) bool {
	return slices.Contains(r.Source, version) && (r.Pending || slices.Contains(r.Target, version))
}

// rediscoverEvery is how often the mirror reads the source's API for
// kinds it does not watch yet, CRD events aside (an aggregated API that
// came up, a CRD whose status came later than its event).
const rediscoverEvery = time.Minute

// followKinds refreshes the kinds watched when a CRD of the source
// changes (a moment after, to take a burst of them at once) and every
// rediscoverEvery, until ctx ends.
func (m *Mirror) followKinds(ctx context.Context) {
	t := time.NewTicker(rediscoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.crdChanged:
			select { // a chart's CRDs come together, their status a moment after
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			select {
			case <-m.crdChanged:
			default:
			}
		}
		if err := m.refreshKinds(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn("could not read the source's API for kinds made since the mirror started; tried again later", "error", err)
		}
	}
}

// crdEvent says that a CRD of the source changed: the kinds watched may
// follow (followKinds). It never blocks.
func (m *Mirror) crdEvent() {
	select {
	case m.crdChanged <- struct{}{}:
	default:
	}
}

// refreshKinds reads both clusters' discovery afresh and starts and stops
// informers as changeKinds says. The objects a new informer lists are
// queued as changes: the initial pass did not cover them. It holds watchMu
// throughout: no dependency's informer (watchAlso) starts meanwhile.
func (m *Mirror) refreshKinds(ctx context.Context) error {
	m.watchMu.Lock()
	defer m.watchMu.Unlock()
	m.Source.Refresh()
	m.Target.Refresh()
	discovered, err := inventory.DiscoverCopy(ctx, m.Source, m.Target)
	if err != nil {
		return err
	}
	// A group either cluster could not answer for says nothing of its kinds.
	// (Undiscovered is nil when all answer: copied into a map of our own.)
	failed := map[schema.GroupVersion]error{}
	maps.Copy(failed, inventory.Undiscovered(m.Source))
	maps.Copy(failed, inventory.Undiscovered(m.Target))
	cur := m.kinds()
	ch := changeKinds(cur, discovered, failed)
	ch.next.scale = cur.scale
	if m.findScale {
		// A kind new to the source, or one given a /scale since, may run
		// pods: a standby copy of it is held at 0 from its first object on.
		if ch.next.scale, err = m.scaleKinds(ctx, cur); err != nil {
			return err
		}
	}
	// Where each kind that moves to another version was watched: its
	// informers at the new version watch the same namespaces (a
	// dependency's too).
	moved := map[schema.GroupKind]schema.GroupVersionResource{}
	for _, gvr := range ch.stop {
		moved[cur.byGVR[gvr].GroupKind()] = gvr
	}
	watchedIn := map[schema.GroupVersionResource][]string{}
	failing := map[schema.GroupVersionResource][]key{}
	for _, gvr := range ch.stop {
		watchedIn[gvr], failing[gvr] = m.unwatch(gvr)
	}
	// Published before the new informers run: their first events look
	// their resource up.
	m.kindsNow.Store(ch.next)
	for _, r := range ch.start {
		m.Metrics.watch(m.Source.Context, r.GVR())
		keys := m.informerKeys(r)
		if old, ok := moved[r.GroupKind()]; ok && r.Namespaced {
			for _, ns := range watchedIn[old] {
				if k := (informerKey{r.GVR(), ns}); ns != "" && !slices.Contains(keys, k) && !slices.Contains(keys, informerKey{r.GVR(), ""}) {
					keys = append(keys, k)
				}
			}
		}
		for _, k := range keys {
			inf, _, err := m.addInformer(k, true)
			if err != nil {
				return err
			}
			ictx, stop := context.WithCancel(ctx)
			m.infMu.Lock()
			m.stops[k] = stop
			m.infMu.Unlock()
			go inf.RunWithContext(ictx)
		}
		m.Log.Info("watching a kind the source serves since the mirror started", "resource", r.GVR().GroupResource().String(), "version", r.Version, "pending", r.Pending)
		if old, ok := moved[r.GroupKind()]; ok {
			m.rehome(old, r.GVR(), failing[old])
		}
	}
	return nil
}

// scaleKinds are the source's scalable custom kinds now (the standby
// form holds them at 0), each new one said once with what the target's
// standby policy does not do for it.
func (m *Mirror) scaleKinds(ctx context.Context, cur *kindSet) (standby.ScaleKinds, error) {
	scale, warnings, err := standby.DiscoverScaleKinds(ctx, m.Source)
	if err != nil {
		return nil, err
	}
	before := cur.scale
	if before == nil {
		before = m.Request.StandbyKinds
	}
	for gk := range scale {
		if !before.Scaled(gk) {
			// The target's standby policy was made from the kinds it
			// served then: it does not refuse scaling this one up.
			warnings = append(warnings, fmt.Sprintf("%s is a scalable kind new to %s: its copies in %s are held at 0, but the standby policy there predates it and does not refuse scaling them up; `tandem deactivate --cluster %s` again adds it", gk, m.Source.Context, m.Target.Context, m.Target.Context))
		}
	}
	for _, w := range warnings {
		if !m.scaleWarned[w] {
			m.scaleWarned[w] = true
			m.Log.Warn("standby", "warning", w)
		}
	}
	return scale, nil
}

// unwatch stops the informers of gvr and forgets the changes of its
// objects still failing: the source no longer serves it (at that version).
// It returns the namespaces its informers watched ("" for all) and the
// changes it forgot.
func (m *Mirror) unwatch(gvr schema.GroupVersionResource) (namespaces []string, forgot []key) {
	m.infMu.Lock()
	for k := range maps.Clone(m.informers) {
		if k.gvr != gvr {
			continue
		}
		namespaces = append(namespaces, k.namespace)
		if stop := m.stops[k]; stop != nil {
			stop()
		}
		delete(m.informers, k)
		delete(m.handlers, k)
		delete(m.stops, k)
	}
	m.infMu.Unlock()
	m.mu.Lock()
	for k := range m.failing {
		if k.gvr == gvr {
			delete(m.failing, k)
			forgot = append(forgot, k)
		}
	}
	m.countNotInStep()
	m.mu.Unlock()
	m.Log.Info("no longer watching a kind the source does not serve (at this version) any more", "resource", gvr.GroupResource().String(), "version", gvr.Version)
	return namespaces, forgot
}

// rehome queues at the version watched now (to) the changes of a kind that
// moved (from) that are not through: those seen and not done, and the
// failing ones unwatch forgot (any still queued at the old version are
// moved as each is taken: process). A deletion among them is pruned once
// to's informer has listed (its object is not there).
func (m *Mirror) rehome(from, to schema.GroupVersionResource, forgot []key) {
	m.mu.Lock()
	ks := forgot
	for k := range m.seen {
		if k.gvr == from {
			ks = append(ks, k)
		}
	}
	m.mu.Unlock()
	for _, k := range ks {
		m.queue.Add(key{gvr: to, namespace: k.namespace, name: k.name})
	}
}

// watchedAs is the resource the mirror watches gr through now, at
// whichever version.
func (m *Mirror) watchedAs(gr schema.GroupResource) (schema.GroupVersionResource, bool) {
	for gvr := range m.kinds().byGVR {
		if gvr.GroupResource() == gr {
			return gvr, true
		}
	}
	return schema.GroupVersionResource{}, false
}

// informerKeys are the informers a watched resource needs: one for all
// namespaces, or one per namespace the selection names.
func (m *Mirror) informerKeys(r inventory.Resource) []informerKey {
	gvr := r.GVR()
	if !r.Namespaced || len(m.namespaces()) == 0 || syncer.AnyNamespace(r.GroupKind()) {
		return []informerKey{{gvr, ""}}
	}
	keys := make([]informerKey, 0, len(m.namespaces()))
	for _, ns := range m.namespaces() {
		keys = append(keys, informerKey{gvr, ns})
	}
	return keys
}
