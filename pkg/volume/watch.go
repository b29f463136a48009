package volume

// A handoff waits a lot: until a claim's pods are gone, its volume is
// detached, an old claim is deleted, a new claim is bound. Each wait reads
// a cache of its cluster fed by one watch per kind (and per namespace for
// namespaced kinds), not requests of its own: a hundred volumes waiting at
// once cost the apiserver one watch, and each wait wakes as soon as the
// cluster changes instead of on its next poll.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// safetyTick is how often a wait looks at the cache even when the watch
// brought no change.
const safetyTick = 5 * time.Second

// watch is the cache of one cluster's pods, claims, volumes and volume
// attachments that a handoff's waits read. Informers start on first use.
type watch struct {
	conn *cluster.Conn
	stop chan struct{}

	mu        sync.Mutex
	all       informers.SharedInformerFactory
	byNS      map[string]informers.SharedInformerFactory
	started   map[string]bool // informers with the wake-up handler, by kind/namespace
	changed   chan struct{}   // closed (and replaced) on every change
	closeOnce sync.Once
}

func newWatch(c *cluster.Conn) *watch {
	w := &watch{conn: c, stop: make(chan struct{}), byNS: map[string]informers.SharedInformerFactory{}, started: map[string]bool{}, changed: make(chan struct{})}
	w.all = informers.NewSharedInformerFactoryWithOptions(c.Typed, 0, informers.WithTransform(slim))
	return w
}

// slim drops managedFields: no wait reads them.
func slim(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetManagedFields(nil)
	}
	return obj, nil
}

// Close stops the watches.
func (w *watch) Close() {
	w.closeOnce.Do(func() {
		close(w.stop)
		w.mu.Lock()
		factories := append([]informers.SharedInformerFactory{w.all}, slices.Collect(maps.Values(w.byNS))...)
		w.mu.Unlock()
		for _, f := range factories {
			f.Shutdown()
		}
	})
}

func (w *watch) namespace(ns string) informers.SharedInformerFactory {
	f, ok := w.byNS[ns]
	if !ok {
		f = informers.NewSharedInformerFactoryWithOptions(w.conn.Typed, 0, informers.WithNamespace(ns), informers.WithTransform(slim))
		w.byNS[ns] = f
	}
	return f
}

// ensure starts inf (once per key) and waits until its cache is filled.
func (w *watch) ensure(ctx context.Context, key string, f informers.SharedInformerFactory, inf cache.SharedIndexInformer) error {
	w.mu.Lock()
	if !w.started[key] {
		w.started[key] = true
		wake := func() {
			w.mu.Lock()
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { wake() },
			UpdateFunc: func(any, any) { wake() },
			DeleteFunc: func(any) { wake() },
		})
		f.Start(w.stop)
	}
	w.mu.Unlock()
	if inf.HasSynced() {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: watch %s: not synced", w.conn.Context, key)
	}
	return nil
}

// pods is the cache of ns's pods.
func (w *watch) pods(ctx context.Context, ns string) (corelisters.PodNamespaceLister, error) {
	w.mu.Lock()
	f := w.namespace(ns)
	inf := f.Core().V1().Pods()
	w.mu.Unlock()
	if err := w.ensure(ctx, "pods/"+ns, f, inf.Informer()); err != nil {
		return nil, err
	}
	return inf.Lister().Pods(ns), nil
}

// claims is the cache of ns's PersistentVolumeClaims.
func (w *watch) claims(ctx context.Context, ns string) (corelisters.PersistentVolumeClaimNamespaceLister, error) {
	w.mu.Lock()
	f := w.namespace(ns)
	inf := f.Core().V1().PersistentVolumeClaims()
	w.mu.Unlock()
	if err := w.ensure(ctx, "persistentvolumeclaims/"+ns, f, inf.Informer()); err != nil {
		return nil, err
	}
	return inf.Lister().PersistentVolumeClaims(ns), nil
}

// volumes is the cache of the cluster's PersistentVolumes.
func (w *watch) volumes(ctx context.Context) (corelisters.PersistentVolumeLister, error) {
	w.mu.Lock()
	inf := w.all.Core().V1().PersistentVolumes()
	w.mu.Unlock()
	if err := w.ensure(ctx, "persistentvolumes", w.all, inf.Informer()); err != nil {
		return nil, err
	}
	return inf.Lister(), nil
}

// attachments is the cache of the cluster's VolumeAttachments.
func (w *watch) attachments(ctx context.Context) (storagelisters.VolumeAttachmentLister, error) {
	w.mu.Lock()
	inf := w.all.Storage().V1().VolumeAttachments()
	w.mu.Unlock()
	if err := w.ensure(ctx, "volumeattachments", w.all, inf.Informer()); err != nil {
		return nil, err
	}
	return inf.Lister(), nil
}

// until calls f now, on every change the watch sees and at least every
// `every` (for a wait that also acts, such as a nudge), until f says done
// or fails, or timeout passes; then the error says what was still awaited.
func (w *watch) until(ctx context.Context, timeout, every time.Duration, f func() (bool, string, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		w.mu.Lock()
		changed := w.changed
		w.mu.Unlock()
		ok, why, err := f()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.stop:
			return fmt.Errorf("%s: watch stopped", w.conn.Context)
		case <-deadline.C:
			return fmt.Errorf("after %s: %s", timeout, why)
		case <-changed:
		case <-tick.C:
		}
	}
}
