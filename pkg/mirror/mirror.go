package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/lease"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// RecreateKinds are the kinds whose immutable-field changes the mirror
// applies by delete + create: nothing runs from them, so a moment without
// the object costs nothing (ConfigMap/Secret with immutable: true, a
// binding's roleRef). Any other kind is reported as failed, for a person to
// decide (a StatefulSet's volumeClaimTemplates, a Service's type, a PVC).
var RecreateKinds = map[schema.GroupKind]bool{
	{Kind: "ConfigMap"}: true,
	{Kind: "Secret"}:    true,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: true,
}

// Mirror keeps a target in step with a source from watches, through the same
// pipeline as sync (pkg/syncer → pkg/apply).
type Mirror struct {
	Source, Target *cluster.Conn
	Request        syncer.Request // selection, standby form, force; Source/Target are set from the fields above
	Prune          bool           // delete from the target what tandem created there and the source deleted
	Workers        int            // default DefaultWorkers
	Metrics        *Metrics       // may be nil
	Log            *slog.Logger   // may be nil
	// Progress is called every ProgressEvery with the counts so far.
	Progress      func(Stats)
	ProgressEvery time.Duration

	resources []inventory.Resource
	byGVR     map[schema.GroupVersionResource]inventory.Resource
	informers map[informerKey]cache.SharedIndexInformer
	handlers  map[informerKey]cache.ResourceEventHandlerRegistration // the mirror's handler on each informer
	infMu     sync.RWMutex                                           // guards informers and handlers: a dependency elsewhere adds one (watchAlso)
	watchMu   sync.Mutex                                             // one watchAlso at a time
	stops     []context.CancelFunc                                   // of the informers watchAlso started (under infMu)
	cached    atomic.Int64                                           // objects the informers added, for the progress of their first lists
	queue     workqueue.TypedRateLimitingInterface[key]
	fresh     fresh        // the changes' objects as their watch events brought them
	live      atomic.Bool  // events are queued only once the initial pass may miss nothing
	synced    atomic.Bool  // the initial pass is done
	kept      atomic.Int64 // deletions not pruned because the object holds what tandem did not make

	mu   sync.Mutex
	seen map[key]time.Time // when the newest change of a key was seen
	// waiting are the changes in each namespace that are to be tried again
	// (retryLater): they are queued at once when their namespace is
	// written, not only when their backoff ends — an object of a new
	// namespace waits for the namespace, not for a timer.
	waiting map[string]map[key]bool
	// deps are the objects a narrowed selection (namespaces, labels, a
	// stack) brings along without picking them itself — a ClusterIssuer,
	// a ClusterRole, an unlabelled ConfigMap — with why: those the
	// initial pass copied, and those changes named since (existing or
	// not yet). A change to one is mirrored as one of the selection's.
	// The cluster-scoped objects it picks by itself are here too (why
	// ""): a deletion in the source prunes only what the mirror copies
	// (deps.go).
	deps map[plan.ObjectKey]string
	// linked are the selected objects new to the target whose earlier
	// pointers bringLinked is to look for, and linking whether it is
	// looking (it lists once for all that came meanwhile).
	linked  map[plan.ObjectKey]bool
	linking bool
	// exempt are the source's namespaces labelled standby.ExemptLabel,
	// kept as their changes come.
	exempt map[string]bool
	// failing are the objects whose last attempt failed (or waits to be
	// tried again), with why: the target is not in step for them. A
	// success of the same object takes it off.
	failing  map[key]failure
	stats    Stats
	lags     []float64 // the last lags, for the published p50/p99
	paused   atomic.Bool
	inflight sync.WaitGroup
	pauseMu  sync.RWMutex // workers hold it for reading while they work; pausing takes it to wait them out
}

// key names one source object of one resource.
type key struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
}

func (k key) String() string {
	if k.namespace == "" {
		return k.gvr.Resource + " " + k.name
	}
	return k.gvr.Resource + " " + k.namespace + "/" + k.name
}

const lagWindow = 2000

// DefaultWorkers is how many changes are applied at once: each takes a few
// round trips (read the source, read the target, write), so a burst is
// spread over as many writes in flight as a sync has.
const DefaultWorkers = 16

// The backoff of a change tried again: doubling from firstRetryDelay, at most maxRetryDelay.
const (
	firstRetryDelay = 100 * time.Millisecond
	maxRetryDelay   = 30 * time.Second
)

// retryFailedEvery is how often the objects whose write failed for a
// reason that does not pass by itself are tried again (retryFailed).
const retryFailedEvery = 2 * time.Minute

// Run mirrors until ctx ends: it takes the target's mirror lease, starts an
// informer per resource, copies everything once (the initial pass, the same
// as `tandem sync`), then applies each change as it comes.
func (m *Mirror) Run(ctx context.Context) error {
	if m.Workers <= 0 {
		m.Workers = DefaultWorkers
	}
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	if m.ProgressEvery <= 0 {
		m.ProgressEvery = 10 * time.Second
	}
	m.Request.Source, m.Request.Target = m.Source, m.Target
	// Under the lock: Stats may be read (by a controller's report) while
	// the run starts.
	m.mu.Lock()
	m.seen = map[key]time.Time{}
	m.failing = map[key]failure{}
	m.waiting = map[string]map[key]bool{}
	m.deps = map[plan.ObjectKey]string{}
	m.exempt = map[string]bool{}
	m.mu.Unlock()
	if m.Request.Standby {
		exempt, err := standby.ExemptNamespaces(ctx, m.Source)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.exempt = exempt
		m.mu.Unlock()
	}
	if m.Request.Standby && m.Request.StandbyKinds == nil {
		kinds, warnings, err := standby.DiscoverScaleKinds(ctx, m.Source)
		if err != nil {
			return err
		}
		for _, w := range warnings {
			m.Log.Warn("standby", "warning", w)
		}
		m.Request.StandbyKinds = kinds
	}

	if err := standby.EnsureStateNamespace(ctx, m.Target); err != nil {
		return err
	}
	pub := newPublisher(m.Stats)
	held, err := acquire(ctx, m.Target, holder(m.Source.Context), m.Source.Context, pub, m.Log)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrRunning) {
		// Stopped (a signal, --duration) while the lease's holder was
		// being watched for a renewal: say what it was waiting for.
		return fmt.Errorf("stopped before the mirror started: it was waiting to see whether the mirror lease's holder in %s renews it (one that does not is taken over within %s): %w", m.Target.Context, leaseDuration, err)
	}
	if err != nil {
		return err
	}
	defer release(context.WithoutCancel(ctx), held)
	// Fencing: once the lease is lost (taken, deleted, not renewed in time)
	// every write in flight is cancelled and no other one starts.
	ctx, fence := context.WithCancelCause(ctx)
	defer fence(nil)
	go func() {
		select {
		case <-held.Done():
			fence(lost(m.Target, held))
		case <-ctx.Done():
		}
	}()

	resources, err := inventory.DiscoverCopy(ctx, m.Source, m.Target)
	if err != nil {
		return err
	}
	m.resources = resources
	// Per object backoff only: the workers bound the pace, and a burst of
	// changes that wait for their namespace must not queue behind a
	// shared bucket.
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[key](firstRetryDelay, maxRetryDelay))
	m.mu.Lock()
	m.queue = queue
	m.mu.Unlock()
	defer queue.ShutDown()
	if err := m.startInformers(ctx); err != nil {
		return err
	}
	m.Metrics.start(m.Source.Context, m.byGVR)

	// The lease loop runs from the start: a pause requested before the
	// initial pass holds the mirror before it writes anything.
	leaseErr := make(chan error, 1)
	go func() { leaseErr <- m.keepLease(ctx, held, pub) }()
	// From now on every change is queued; the initial pass lists afresh, so
	// what changed while the informers were filling is in it.
	m.holdWhilePaused(ctx)
	m.live.Store(true)
	err = m.initialPass(ctx)
	m.pauseMu.RUnlock()
	if err != nil {
		if lostLease := fenced(ctx, nil); lostLease != nil {
			return lostLease // the pass was cut off by the fence
		}
		return err
	}
	m.synced.Store(true)
	if m.narrowed() {
		m.watchDeps(ctx)
	}
	for i := 0; i < m.Workers; i++ {
		go m.work(ctx)
	}
	t := time.NewTicker(m.ProgressEvery)
	defer t.Stop()
	again := time.NewTicker(retryFailedEvery)
	defer again.Stop()
	for {
		select {
		case <-again.C:
			m.retryFailed()
		case <-ctx.Done():
			return fenced(ctx, nil)
		case err := <-leaseErr:
			// The fence and the lease loop both see a lost lease; whichever
			// is seen first, the loss is the answer, never a clean stop.
			return fenced(ctx, err)
		case <-t.C:
			if m.Progress != nil {
				m.Progress(m.Stats())
			}
		}
	}
}

// fenced is how a mirror run ends once ctx is done or the lease loop
// returned err: the lost lease when it was lost, else err, else nil (the
// run's own context ended).
func fenced(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		return cause // the lease was lost
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// resourceOf is the resource of a kind among all the source serves, watched or not.
func (m *Mirror) resourceOf(group, kind string) schema.GroupVersionResource {
	for _, r := range m.resources {
		if r.Group == group && r.Kind == kind {
			return r.GVR()
		}
	}
	return schema.GroupVersionResource{Group: group, Resource: strings.ToLower(kind)}
}

// retryFailed queues again the watched objects whose last write failed for
// a reason that does not pass by itself (a policy's refusal, a conflict
// with another manager): what refused them may have been fixed since, and
// nothing in the source says so. One that fails again is logged again.
func (m *Mirror) retryFailed() {
	m.mu.Lock()
	var ks []key
	for k := range m.failing {
		if _, ok := m.byGVR[k.gvr]; ok {
			ks = append(ks, k)
		}
	}
	m.mu.Unlock()
	for _, k := range ks {
		m.queue.Add(k)
	}
}

// Synced says whether the initial pass is done: from then on the target
// follows each change.
func (m *Mirror) Synced() bool { return m.synced.Load() }

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
	prep, err := syncer.Prepare(ctx, req, m.resources)
	if err != nil {
		return fmt.Errorf("initial pass: %w", err)
	}
	defer prep.Close()
	m.requeueUnread(ctx, prep.Unread)
	results := ss.Results()
	_, total := apply.Summarize(results)
	m.mu.Lock()
	m.stats.Applied += int64(total[apply.Created] + total[apply.Updated])
	m.stats.Unchanged += int64(total[apply.Unchanged])
	m.mu.Unlock()
	gvrOf := map[schema.GroupKind]schema.GroupVersionResource{}
	for gvr, r := range m.byGVR {
		gvrOf[r.GroupKind()] = gvr
	}
	retried := 0
	for _, r := range results {
		gvr, ok := gvrOf[schema.GroupKind{Group: r.Group, Kind: r.Kind}]
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
				m.retrying(k, r.Reason)
				m.queue.AddRateLimited(k)
				retried++
			case ok:
				m.fail(k, fmt.Errorf("%s: %s", r.Status, r.Reason))
			default:
				// A kind the mirror does not watch (Endpoints of a Service
				// without a selector): not in step, and not tried again
				// until the next initial pass.
				k = key{gvr: m.resourceOf(r.Group, r.Kind), namespace: r.Namespace, name: r.Name}
				m.fail(k, fmt.Errorf("%s: %s (a kind the mirror does not watch: written again by its next initial pass, or by tandem sync)", r.Status, r.Reason))
			}
		}
		if m.narrowed() && (r.Why != "" || r.Namespace == "") {
			m.follow(plan.ObjectKey{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}, r.Why)
		}
	}
	m.Log.Info("initial pass done", "created", total[apply.Created], "updated", total[apply.Updated], "unchanged", total[apply.Unchanged], "failed", total[apply.Failed]+total[apply.Conflict]-retried, "to retry", retried, "took", time.Since(start))
	return nil
}

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
			m.mu.Lock()
			m.setFailing(k, "waiting to be tried again: "+err.Error())
			m.mu.Unlock()
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

// holdWhilePaused waits out a pause, then takes the work lock for reading
// (the caller releases it): a pause taking the lock waits for the work in
// flight, and no work starts once it is on.
func (m *Mirror) holdWhilePaused(ctx context.Context) {
	for {
		m.waitUnpaused(ctx)
		m.pauseMu.RLock()
		if !m.paused.Load() || ctx.Err() != nil {
			return
		}
		m.pauseMu.RUnlock()
	}
}

// waitUnpaused holds while a pause is on.
func (m *Mirror) waitUnpaused(ctx context.Context) {
	_ = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		return !m.paused.Load(), nil
	})
}

// keepLease answers the pause requests the lease's renewals see (pkg/lease
// renews it in the background, publishing the stats), and returns when the
// lease is lost: the mirror must stop writing.
func (m *Mirror) keepLease(ctx context.Context, held *lease.Lease, pub *publisher) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-held.Done():
			return lost(m.Target, held)
		case wantPause := <-pub.pause:
			if wantPause && !m.paused.Load() {
				m.paused.Store(true)
				m.pauseMu.Lock() // waits until in-flight work is done
				m.pauseMu.Unlock()
				m.Log.Info("paused: in-flight work finished")
				pub.held.Store(true)
				_ = held.Renew(ctx) // acknowledge now, not at the next renewal
			} else if !wantPause && m.paused.Load() {
				pub.held.Store(false)
				m.paused.Store(false)
				m.Log.Info("resumed")
				_ = held.Renew(ctx) // say so now: a reader of the lease must not see it paused after resume
			}
		}
	}
}
