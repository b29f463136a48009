package mirror

// One change: brought in line through the sync pipeline, pruned, counted.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// process brings the target's copy of k in line with the source's object
// now (not as it was when the event came: a burst of changes is one write).
// The informers cache identities only: the object is the one its watch
// event brought when that is the copy the cache is at, else it is read from
// the source.
func (m *Mirror) process(ctx context.Context, k key) (err error) {
	storeKey := k.name
	if k.namespace != "" {
		storeKey = k.namespace + "/" + k.name
	}
	latest := m.fresh.take(k)
	var obj *unstructured.Unstructured
	defer func() {
		// Tried again later (a cluster away, a namespace not there yet):
		// the copy the event brought, the one the cache is at, is still
		// good if nothing newer came.
		if later := (*retryLater)(nil); obj != nil && obj == latest && errors.As(err, &later) {
			m.fresh.keep(k, latest)
		}
	}()
	r, watching := m.resource(k.gvr)
	if !watching {
		// Of a kind no longer watched at this version (kinds.go): taken
		// up at the version watched now, if the kind moved; else the
		// source stopped serving it, and its CRD's own change says what
		// becomes of the target's copies.
		if now, moved := m.watchedAs(k.gvr.GroupResource()); moved {
			m.queue.Add(key{gvr: now, namespace: k.namespace, name: k.name})
		}
		m.done(k, "ignored")
		return nil
	}
	inf := m.informer(k.gvr, k.namespace)
	if inf == nil {
		// Queued by the initial pass (a write to try again) outside what
		// the mirror watches, and no watch could be started there since.
		return fmt.Errorf("not watched by the mirror: %s", k)
	}
	if !inf.HasSynced() {
		// A watch started since (a dependency's namespace) that has not
		// listed yet: its cache lacking the object says nothing of it.
		return &retryLater{reason: "the watch of " + k.gvr.Resource + " there has not listed yet"}
	}
	item, exists, err := inf.GetIndexer().GetByKey(storeKey)
	if err != nil {
		return err
	}
	if !exists && ownSelector(k.gvr.GroupResource()) == "" {
		return m.deleted(ctx, k)
	}
	if exists && k.gvr == endpointsGVR && m.knownSelecting(k.namespace, k.name) {
		// Its Service selects pods: the endpoints controller's, which
		// the pipeline never copies (an older source's are all watched).
		m.done(k, "ignored")
		return nil
	}
	// Not in a watch narrowed by a label selector is not gone from the
	// source (an Endpoints its controller labelled since): it is read
	// below, and only a source that no longer has it deletes its copy.
	if c, ok := item.(metav1.Object); ok && latest != nil && latest.GetResourceVersion() == c.GetResourceVersion() {
		obj = latest
	}
	// The target's copy is read while the source's is (when it is): the two
	// reads are independent, and a change's lag is its round trips one
	// after the other.
	var target *plan.Target
	var targetErr error
	targetRead := make(chan struct{})
	go func() {
		defer close(targetRead)
		target, targetErr = syncer.TargetNow(ctx, m.Target, r, k.namespace, k.name)
	}()
	if obj == nil {
		m.mu.Lock()
		m.stats.SourceReads++
		m.mu.Unlock()
		m.Metrics.sourceRead(m.Source.Context, k.gvr.Resource)
		obj, err = m.read(ctx, k)
		m.heard(sourceSide, err)
	}
	<-targetRead
	m.heard(targetSide, targetErr)
	if objectGone(err, k.name) {
		return m.deleted(ctx, k) // deleted since: its event follows
	}
	if err != nil {
		return laterIfPasses(sourceSide, "read the source's object", err)
	}
	if targetErr != nil {
		return laterIfPasses(targetSide, "read the target's copy", targetErr)
	}
	if k.gvr == servicesGVR {
		sel, _, _ := unstructured.NestedMap(obj.Object, "spec", "selector")
		m.sawService(k.namespace, k.name, obj.GetResourceVersion(), len(sel) > 0)
	}
	syncer.SlimSource(obj)
	// A Service that could not be read says nothing of its selector: the
	// change is tried again (its endpoints are not taken for a person's).
	var serviceErr error
	hasSelector := func(ns, name string) bool {
		svc, err := m.Source.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			m.forgetService(ns, name)
		case err != nil:
			serviceErr = err
		default:
			m.sawService(ns, name, svc.ResourceVersion, len(svc.Spec.Selector) > 0)
		}
		return err == nil && len(svc.Spec.Selector) > 0
	}
	targets := map[plan.ObjectKey]*plan.Target{{Group: r.Group, Kind: r.Kind, Namespace: k.namespace, Name: k.name}: target}
	// A namespace's standby exemption is kept once the Namespace is
	// written (the target's policy reads its label there).
	nsExempt := obj.GetLabels()[standby.ExemptLabel] == "true"
	exemptionChanged := k.gvr == namespacesGVR && m.standbyExempt(k.name) != nsExempt
	also, err := m.alsoFor(ctx, k, obj)
	if err != nil {
		return laterIfPasses(sourceSide, "see what brings it along", err)
	}
	prep, err := syncer.Changed(ctx, m.request(), m.kinds().resources, []*unstructured.Unstructured{obj}, syncer.Around{
		Also: also, HasSelector: hasSelector, Targets: targets, StandbyExempt: m.standbyExempt,
	})
	if err != nil {
		return err
	}
	if serviceErr != nil {
		return laterIfPasses(sourceSide, "read the Service of its endpoints", serviceErr)
	}
	if prep.Plan.Len() > 0 { // picked: what it needs comes along
		needed := prep.Needed
		gathered, err := m.gatheredIfNarrowed(ctx, obj)
		if err != nil {
			return laterIfPasses(sourceSide, "read the source's ClusterRoles an aggregated one gathers", err)
		}
		if len(gathered) > 0 {
			needed = maps.Clone(needed)
			if needed == nil {
				needed = map[plan.ObjectKey]string{}
			}
			maps.Copy(needed, gathered)
		}
		m.bringAlong(ctx, k, needed)
		if k.namespace == "" && m.narrowed() {
			m.follow(m.objectKey(k), "") // copied: pruned with the selection's
		}
	}
	if len(prep.Unshared) > 0 {
		m.fail(k, fmt.Errorf("no API version served by both clusters: %s", prep.Unshared[0].Fix))
		return nil
	}
	if sa := obj.GetAnnotations()[corev1.ServiceAccountNameKey]; sa != "" && k.gvr == secretsGVR && prep.Plan.Len() > 0 {
		// A token Secret written before its ServiceAccount is deleted by
		// the target's token controller: its ServiceAccount's own change
		// may still be on the way.
		_, err := m.Target.Typed.CoreV1().ServiceAccounts(k.namespace).Get(ctx, sa, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return &retryLater{reason: "its ServiceAccount " + sa + " is not in the target yet"}
		}
	}
	if len(prep.Held) > 0 {
		return m.holdBack(ctx, k, prep.Held)
	}
	results, err := apply.Run(ctx, m.Target, prep.Plan, apply.Options{Workers: 1, Force: m.Request.Force, RecreateKinds: RecreateKinds, ApplyOnly: true, Retries: writeRetries, WaitTimeout: changeWaitTimeout, Log: m.Log})
	if err != nil {
		return err
	}
	// A new copy of a weighted DNS record joins its set at weight 0, as sync's does.
	if err := syncer.JoinDNSSets(ctx, m.Target, prep.Joins, results); err != nil {
		return err
	}
	if err := m.unhold(ctx, prep.UnheldWritten(results)); err != nil {
		return err
	}
	waitOwner := false
	for _, r := range results {
		switch {
		case r.Bad() && r.Transient:
			return &retryLater{reason: "write the target's copy: " + r.Reason} // the worker queues it again, with backoff
		case r.Bad():
			m.fail(k, fmt.Errorf("%s: %s", r.Status, r.Reason))
		case r.Wrote():
			for _, n := range r.Notes {
				if strings.Contains(n, "deleted and created again") {
					m.Log.Warn("immutable field changed: deleted and created again", "object", k.String())
				}
			}
			if !m.waitingForOwner(k, r, obj, "applied") {
				waitOwner = true
			}
			m.ownerArrived(r.Group, r.Kind, r.Namespace, r.Name)
			if target == nil && m.narrowed() {
				m.bringLinked(ctx, k) // new in the target: what pointed at it before comes too
			}
		default:
			if !m.waitingForOwner(k, r, obj, "unchanged") {
				waitOwner = true
			}
		}
	}
	if waitOwner {
		return &retryLater{reason: "written without an owner reference, its owner not in the target yet"}
	}
	if len(results) == 0 {
		m.done(k, "ignored") // not selected
	}
	if exemptionChanged {
		m.setExempt(k.name, nsExempt)
		if m.Request.Standby {
			m.rewriteNamespace(k.name, nsExempt)
		}
	}
	return nil
}

// secretsGVR is the resource of Secrets.
var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// writeRetries is how often a change's write is tried before the change
// goes back to the work queue, which tries it again with its own backoff:
// a worker is not held for long by a target or webhook that is away.
var writeRetries = wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 3}

// changeWaitTimeout bounds how long one change waits for what it needs in
// the target (a webhook configuration for its backend to be ready, a CRD
// to be established) before it goes back to the work queue: a worker, and
// a pause waiting for the workers, is not held for a minute each time.
const changeWaitTimeout = 5 * time.Second

// retryLater is a change whose apply failed for a reason that can pass: it
// is queued again, with backoff, until it is applied or the source object
// changes (which queues it at once).
type retryLater struct {
	reason string
	// awaits is the cluster that did not answer (cluster.Unreachable),
	// else none: the first answer it gives again wakes every change
	// waiting for it (heard).
	awaits side
}

func (e *retryLater) Error() string { return e.reason }

// laterIfPasses is err as a retryLater when it can pass by itself
// (cluster.Retryable), else err; what says which step failed, and on which
// cluster.
func laterIfPasses(on side, what string, err error) error {
	if cluster.Retryable(err) {
		later := &retryLater{reason: what + ": " + err.Error()}
		if cluster.Unreachable(err) {
			later.awaits = on
		}
		return later
	}
	return err
}

// deleted removes the target's copy when --prune is on and tandem made it.
func (m *Mirror) deleted(ctx context.Context, k key) error {
	m.forgetGatherer(k)
	if k.gvr == servicesGVR {
		m.forgetService(k.namespace, k.name)
	}
	if k.gvr.Group == "" && k.gvr.Resource == "namespaces" {
		// One of the same name made again starts without the exemption
		// (the standby form, the safe side) until its own change says.
		m.setExempt(k.name, false)
	}
	if k.gvr == cluster.APIServices && m.Request.Standby && m.Prune {
		if done, err := m.unholdGone(ctx, k); done || err != nil {
			return err
		}
	}
	if !m.Prune || !m.copies(k) {
		// A narrowed selection prunes only what it copies: an object it
		// did not bring along is someone else's concern.
		m.done(k, "ignored")
		return nil
	}
	ri := cluster.Scoped(m.Target.Dynamic.Resource(k.gvr), m.kinds().byGVR[k.gvr].Namespaced, k.namespace)
	cur, err := ri.Get(ctx, k.name, metav1.GetOptions{})
	m.heard(targetSide, err)
	if apierrors.IsNotFound(err) {
		m.done(k, "ignored")
		return nil
	}
	if err != nil {
		return laterIfPasses(targetSide, "read the target's copy to prune it", err)
	}
	if why := notOurs(cur); why != "" {
		if othersIn(cur, m.targetContext(ctx)) != "" {
			// Someone's, said; the target's own (its CA ConfigMap, its
			// default ServiceAccount, gone with a namespace) is not news.
			m.Log.Info("not pruned", "object", k.String(), "why", why)
		}
		m.done(k, "ignored")
		return nil
	}
	// A Namespace or CRD takes what it holds with it.
	why, err := m.holdsOthers(ctx, cur)
	if err != nil {
		return laterIfPasses(targetSide, "see what the target's copy holds before pruning it", err)
	}
	if why != "" {
		m.Log.Warn("not pruned", "object", k.String(), "why", why)
		m.kept.Add(1)
		m.done(k, "ignored")
		return nil
	}
	// The UID precondition: never delete an object that was replaced meanwhile.
	uid := cur.GetUID()
	err = ri.Delete(ctx, k.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return laterIfPasses(targetSide, "prune", err)
	}
	m.done(k, "deleted")
	return nil
}

// objectGone says whether err is the apiserver saying the object name does
// not exist: a NotFound that names it. A 404 for the resource itself (a
// version no longer served, its CRD being changed) says nothing of the
// object: it is tried again.
func objectGone(err error, name string) bool {
	var st apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &st) {
		return false
	}
	d := st.Status().Details
	return d != nil && d.Name == name
}

// read is the source's object k, whole.
func (m *Mirror) read(ctx context.Context, k key) (*unstructured.Unstructured, error) {
	return cluster.Scoped(m.Source.Dynamic.Resource(k.gvr), m.kinds().byGVR[k.gvr].Namespaced, k.namespace).Get(ctx, k.name, metav1.GetOptions{})
}

// notOurs says why tandem must not delete a target object ("" when it may):
// tandem did not write it, or someone else manages fields of it too.
func notOurs(o *unstructured.Unstructured) string {
	if c := metav1.GetControllerOfNoCopy(o); c != nil {
		return "owned by " + c.Kind + " " + c.Name + ": its controller's"
	}
	if !plan.Copied(o) {
		return "not created by tandem"
	}
	for _, mf := range plan.ManagersOf(o) {
		// Status writers, a controller adding its finalizer and the
		// cluster's own components (the target's token controller filling
		// a copied token Secret) do not make it someone else's.
		if !plan.Ours(mf.Manager) && !plan.ClusterManager(mf.Manager) && mf.Subresource == "" && !mf.NoContent {
			return "also managed by " + mf.Manager
		}
	}
	return ""
}
