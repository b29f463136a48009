package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

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

	kindsNow   atomic.Pointer[kindSet] // the kinds watched and the resources the pipeline sees (kinds.go)
	crdChanged chan struct{}           // a CRD of the source changed: the kinds may follow
	// findScale: the standby kinds were discovered, not given: they follow
	// the kinds (kinds.go); scaleWarned are the warnings said so far.
	findScale   bool
	scaleWarned map[string]bool
	informers   map[informerKey]cache.SharedIndexInformer
	handlers    map[informerKey]cache.ResourceEventHandlerRegistration // the mirror's handler on each informer
	infMu       sync.RWMutex                                           // guards informers and handlers: a dependency elsewhere adds one (watchAlso)
	watchMu     sync.Mutex                                             // one watchAlso at a time
	stops       map[informerKey]context.CancelFunc                     // of every informer, to stop it when its kind goes (under infMu)
	cached      atomic.Int64                                           // objects the informers added, for the progress of their first lists
	queue       workqueue.TypedRateLimitingInterface[key]
	fresh       fresh        // the changes' objects as their watch events brought them
	live        atomic.Bool  // events are queued only once the initial pass may miss nothing
	synced      atomic.Bool  // the initial pass is done
	kept        atomic.Int64 // deletions not pruned because the object holds what tandem did not make
	// away are the clusters (by side) that did not answer a change's
	// request since they last did: the next answer wakes the changes
	// waiting for them (heard).
	away [3]atomic.Bool

	mu   sync.Mutex
	seen map[key]time.Time // when the newest change of a key was seen
	// ownerWaited counts the writes of each change made again while an
	// owner it names is not in the target (waitForOwner).
	ownerWaited map[key]int
	// awaiting are the changes left written without an owner reference,
	// by the owners they name, and awaits the owners each names: the
	// change is queued again once the mirror creates one of them in the
	// target (owners.go).
	awaiting map[ownerName]map[key]bool
	awaits   map[key][]ownerName
	// arrivals are the owners the mirror wrote lately, oldest first: a
	// change that starts waiting just after its owner came is queued
	// again at once (owners.go).
	arrivals []arrival
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
	// gatherers are the aggregated ClusterRoles the mirror copies, with
	// their selectors and their aggregationRule as JSON (to tell a change
	// of it), once loaded (read from the source at the first ClusterRole
	// that may be gathered; kept as they change since): a ClusterRole they
	// gather comes along (gather.go).
	gatherers       map[plan.ObjectKey]gatherer
	gatherersLoaded bool
	// linked are the selected objects new to the target whose earlier
	// pointers bringLinked is to look for, and linking whether it is
	// looking (it lists once for all that came meanwhile).
	linked  map[plan.ObjectKey]bool
	linking bool
	// exempt are the source's namespaces labelled standby.ExemptLabel,
	// kept as their changes come.
	exempt map[string]bool
	// selecting are the source's Services (namespace/name) known to have a
	// selector, with the resourceVersion they were seen at (selectors.go).
	selecting map[string]string
	// failing are the objects whose last attempt failed (or waits to be
	// tried again), with why: the target is not in step for them. A
	// success of the same object takes it off.
	failing map[key]failure
	woke    time.Time // the last wake of the changes waiting for a cluster (heard)
	// counted is what this run adds to the not-in-step gauge, which
	// mirrors from the same source share; stopped: it adds nothing now.
	counted  int
	stopped  bool
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
	m.stopped = false
	m.countNotInStep()
	m.waiting = map[string]map[key]bool{}
	m.deps = map[plan.ObjectKey]string{}
	m.gatherers, m.gatherersLoaded = map[plan.ObjectKey]gatherer{}, false
	m.exempt = map[string]bool{}
	m.selecting = map[string]string{}
	m.mu.Unlock()
	defer func() {
		// What a stopped run holds is no longer counted: the gauge of a
		// mirror that stopped (or restarts) is not left at its last value.
		m.mu.Lock()
		m.stopped = true
		m.countNotInStep()
		m.mu.Unlock()
	}()
	if m.Request.Standby {
		exempt, err := standby.ExemptNamespaces(ctx, m.Source)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.exempt = exempt
		m.mu.Unlock()
	}
	if m.Request.Standby && (m.Request.StandbyKinds == nil || m.findScale) {
		kinds, warnings, err := standby.DiscoverScaleKinds(ctx, m.Source)
		if err != nil {
			return err
		}
		m.findScale, m.scaleWarned = true, map[string]bool{}
		for _, w := range warnings {
			m.scaleWarned[w] = true
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
	// Per object backoff only: the workers bound the pace, and a burst of
	// changes that wait for their namespace must not queue behind a
	// shared bucket.
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[key](firstRetryDelay, maxRetryDelay))
	m.mu.Lock()
	m.queue = queue
	m.mu.Unlock()
	defer queue.ShutDown()
	m.crdChanged = make(chan struct{}, 1)
	if err := m.startInformers(ctx, resources); err != nil {
		return err
	}
	m.Metrics.start(m.Source.Context, m.kinds().byGVR)

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
	go func() {
		// Beside the changes being followed: reading the target takes a
		// while on a large cluster.
		if err := m.queueGone(ctx); err != nil && ctx.Err() == nil {
			// The deletes stay unheard until their objects change: said, not fatal.
			m.Log.Warn("could not look for what the source deleted while the mirror did not follow it", "error", err)
		}
	}()
	go m.followKinds(ctx)
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

// Synced says whether the initial pass is done: from then on the target
// follows each change.
func (m *Mirror) Synced() bool { return m.synced.Load() }

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
