package mirror

// The informers the mirror watches the source with: one per resource (per
// selected namespace when the selection names them, but for the kinds a
// selection reaches in any namespace, syncer.AnyNamespace), each event
// queued.
// They list metadata only (PartialObjectMetadata) and cache each object's
// namespace, name and resourceVersion, nothing else (cached, made as each
// page or event arrives: listwatch.go): the cache of a 100k-object cluster
// is its names, not its contents. A change's object is the one its watch
// event brought, held until its worker takes it (fresh.go), or read from
// the source when that copy is not the cache's (change.go).

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// derived are the kinds whose every object the cluster derives from another
// (a StatefulSet's or DaemonSet's revisions): not watched, and not in the way
// of a prune (holdsOthers). Endpoints and EndpointSlices are not among them:
// those a person writes for a Service without a selector are copied, watched
// (ownSelector) and, in a namespace a prune would delete, someone's.
var derived = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "ControllerRevision"}: true,
}

// watched reports whether a resource is worth a watch: never the kinds every
// object of which the cluster makes (sanitize.Generated: Events, Leases,
// Nodes, a network add-on's state…) or nearly every one (Pods,
// ControllerRevisions), nor what cannot be written.
func watched(r inventory.Resource) bool {
	if r.ReadOnly || sanitize.Generated(r.GroupKind()) {
		return false
	}
	gk := r.GroupKind()
	return !derived[gk] && gk != schema.GroupKind{Kind: "Pod"}
}

// ownSelector is the label selector that leaves out of a watch of gr the
// objects the cluster's own controllers write ("" for every other resource):
// an Endpoints of a Service with a selector (labelled by the endpoints
// controller since Kubernetes 1.33; an older source's are all watched, and
// the pipeline skips them), an EndpointSlice of the endpointslice and
// endpointslice-mirroring controllers. What a person wrote for a Service
// without a selector (an external database's address) is followed.
func ownSelector(gr schema.GroupResource) string {
	switch gr {
	case schema.GroupResource{Resource: "endpoints"}:
		return "endpoints.kubernetes.io/managed-by!=endpoint-controller"
	case schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}:
		return "endpointslice.kubernetes.io/managed-by notin (endpointslice-controller.k8s.io,endpointslicemirroring-controller.k8s.io)"
	}
	return ""
}

// informerKey names one informer: a resource in one namespace, or in all ("").
type informerKey struct {
	gvr       schema.GroupVersionResource
	namespace string
}

// informer is the informer that holds objects of gvr in namespace, nil
// when none watches that namespace.
func (m *Mirror) informer(gvr schema.GroupVersionResource, namespace string) cache.SharedIndexInformer {
	m.infMu.RLock()
	defer m.infMu.RUnlock()
	if inf, ok := m.informers[informerKey{gvr, namespace}]; ok {
		return inf
	}
	return m.informers[informerKey{gvr, ""}]
}

// namespaces are the namespaces the mirror watches namespaced resources in,
// nil for all: those the selection names, unless it follows an app stack
// (whose objects and dependencies may be in any namespace).
func (m *Mirror) namespaces() []string {
	if m.Request.Selector.Stack != "" {
		return nil
	}
	return m.Request.Selector.Namespaces
}

func (m *Mirror) startInformers(ctx context.Context, resources []inventory.Resource) error {
	m.informers = map[informerKey]cache.SharedIndexInformer{}
	m.handlers = map[informerKey]cache.ResourceEventHandlerRegistration{}
	m.stops = map[informerKey]context.CancelFunc{}
	kinds := &kindSet{resources: resources, byGVR: watchedFrom(resources)}
	m.kindsNow.Store(kinds)
	for _, r := range kinds.byGVR {
		for _, k := range m.informerKeys(r) {
			if _, _, err := m.addInformer(k, false); err != nil {
				return err
			}
		}
	}
	for k, inf := range m.informers {
		ictx, stop := context.WithCancel(ctx) // until the run ends, or the kind is no longer watched (kinds.go)
		m.stops[k] = stop
		go inf.RunWithContext(ictx)
	}
	return m.waitSynced(ctx)
}

// addInformer makes the informer of k, with the mirror's handler, and
// keeps it; the caller runs it. Late, its first list is queued as changes:
// it is of a kind or namespace the initial pass did not cover.
func (m *Mirror) addInformer(k informerKey, late bool) (cache.SharedIndexInformer, cache.ResourceEventHandlerRegistration, error) {
	inf := newInformer(m.Source.Metadata, m.Source.Dynamic, k.gvr, k.namespace, ownSelector(k.gvr.GroupResource()), m.keepWhole(k.gvr))
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		// The reflector relists and rewatches by itself (with backoff); say so once per error.
		m.Log.Warn("watch error; the informer relists by itself", "resource", k.gvr.Resource, "namespace", k.namespace, "error", err)
	})
	reg, err := inf.AddEventHandler(m.handler(k.gvr, late))
	if err != nil {
		return nil, nil, err
	}
	m.infMu.Lock()
	m.informers[k] = inf
	m.handlers[k] = reg
	m.infMu.Unlock()
	return inf, reg, nil
}

// watchAlso watches gvr in namespace too, once the mirror is live, when
// no informer does: for a dependency in a namespace the selection does not
// name (the Gateway in infra that an HTTPRoute of shop names). It returns
// once the new informer has its first list; false (said in the log, the
// informer stopped) when that does not come within watchAlsoWait.
func (m *Mirror) watchAlso(ctx context.Context, gvr schema.GroupVersionResource, namespace string) bool {
	if m.informer(gvr, namespace) != nil {
		return true
	}
	m.watchMu.Lock() // one at a time: two workers (or a refresh of the kinds) must not start the same informer
	defer m.watchMu.Unlock()
	if m.informer(gvr, namespace) != nil {
		return true
	}
	if _, ok := m.resource(gvr); !ok {
		return false // no longer watched at this version (kinds.go)
	}
	k := informerKey{gvr, namespace}
	inf, reg, err := m.addInformer(k, false)
	if err != nil {
		m.Log.Warn("could not watch a dependency's namespace", "resource", gvr.Resource, "namespace", namespace, "error", err)
		return false
	}
	ictx, stop := context.WithCancel(ctx)
	m.infMu.Lock()
	m.stops[k] = stop // the informer runs until the mirror stops, or until it is given up below
	m.infMu.Unlock()
	go inf.RunWithContext(ictx)
	wctx, cancel := context.WithTimeout(ctx, watchAlsoWait)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), reg.HasSynced) {
		stop()
		m.infMu.Lock()
		delete(m.informers, k)
		delete(m.handlers, k)
		delete(m.stops, k)
		m.infMu.Unlock()
		m.Log.Warn("a dependency's namespace is not watched: its first list did not come", "resource", gvr.Resource, "namespace", namespace, "waited", watchAlsoWait)
		return false
	}
	m.Log.Info("watching a dependency's namespace too", "resource", gvr.Resource, "namespace", namespace)
	return true
}

// watchAlsoWait bounds watchAlso's wait for a first list (one resource in
// one namespace): a worker waits it out.
const watchAlsoWait = 30 * time.Second

// syncStall is how long the informers' first lists may go without caching
// one more object before the mirror gives up: a limit on a stall, not on
// the size of the cluster.
const syncStall = 2 * time.Minute

// waitSynced waits until the handler of every informer has had its first
// list (an informer is synced once its cache holds the list; its handler
// may be tens of thousands of objects behind), saying how far they are
// every ProgressEvery.
func (m *Mirror) waitSynced(ctx context.Context) error {
	start := time.Now()
	lastCount, lastGrowth, lastSaid := int64(-1), time.Now(), time.Now()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		pending, cached := 0, m.cached.Load()
		var waiting string
		for k, reg := range m.handlers {
			if !reg.HasSynced() {
				pending++
				waiting = k.gvr.Resource
			}
		}
		if pending == 0 {
			m.Log.Info("informers synced", "informers", len(m.informers), "objects", cached, "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if cached != lastCount {
			lastCount, lastGrowth = cached, time.Now()
		}
		if time.Since(lastGrowth) > syncStall {
			return fmt.Errorf("the informers' first lists stalled: %d of %d not synced (%s among them), no object cached for %s (%d so far)", pending, len(m.informers), waiting, syncStall, cached)
		}
		if time.Since(lastSaid) >= m.ProgressEvery {
			lastSaid = time.Now()
			m.Log.Info("informers syncing", "pending", pending, "informers", len(m.informers), "objects", cached)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// keepWhole keeps each object a watch event of gvr brought whole, once the
// mirror is live, for its change's worker (fresh.go); a deletion forgets it.
func (m *Mirror) keepWhole(gvr schema.GroupVersionResource) func(watch.EventType, *unstructured.Unstructured) {
	return func(t watch.EventType, o *unstructured.Unstructured) {
		k := key{gvr: gvr, namespace: o.GetNamespace(), name: o.GetName()}
		switch {
		case t == watch.Deleted:
			m.fresh.drop(k)
		case m.live.Load():
			m.fresh.put(k, o)
		}
	}
}

func (m *Mirror) handler(gvr schema.GroupVersionResource, late bool) cache.ResourceEventHandlerDetailedFuncs {
	crds := gvr.GroupResource() == cluster.CRDs.GroupResource()
	enqueue := func(obj any, what string) {
		if !m.live.Load() {
			return // before the initial pass: it covers this object
		}
		if crds {
			m.crdEvent() // a kind may come or go (kinds.go)
		}
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		o, ok := obj.(metav1.Object)
		if !ok {
			return
		}
		k := key{gvr: gvr, namespace: o.GetNamespace(), name: o.GetName()}
		m.mu.Lock()
		m.stats.Events++
		if _, queued := m.seen[k]; !queued {
			m.seen[k] = time.Now()
		}
		m.mu.Unlock()
		m.Metrics.event(m.Source.Context, gvr.Resource, what)
		m.queue.Add(k)
	}
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, inFirstList bool) {
			if inFirstList && !late {
				// The initial pass lists afresh once every first list is
				// in: it covers this object. Queued, the first lists of
				// a 100k-object cluster would be 100k reads waiting in
				// front of the first real change.
				m.cached.Add(1) // the first lists' progress
				return
			}
			enqueue(obj, "add")
		},
		UpdateFunc: func(old, cur any) {
			// A relist after a watch error or an apiserver restart delivers
			// every object again, unchanged: no work, no re-copy storm.
			if o, ok := old.(metav1.Object); ok {
				if c, ok := cur.(metav1.Object); ok && o.GetResourceVersion() == c.GetResourceVersion() {
					return
				}
			}
			enqueue(cur, "update")
		},
		DeleteFunc: func(obj any) { enqueue(obj, "delete") },
	}
}
