package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/mirror"
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// mirrorRefresh is how often a Mirror's status is brought up to date (and a
// followActive one checks which way to copy).
const mirrorRefresh = 5 * time.Second

// MirrorReconciler keeps one pkg/mirror worker per Mirror running, in the
// direction its spec says — for followActive, from the cluster the records
// make active into the other, turning around after a switchover.
type MirrorReconciler struct {
	client  client.Client
	pairs   *pairs
	events  events.EventRecorder
	workers *workers
	metrics *metrics
	log     *slog.Logger
}

// mirrorRun is a running worker: its direction and generation, and the
// mirror of its current attempt.
type mirrorRun struct {
	from, to   string
	generation int64
	current    atomic.Pointer[mirror.Mirror]
	lastErr    atomic.Pointer[string]
}

// Reconcile implements reconcile.Reconciler.
func (r *MirrorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	key := "mirror/" + req.String()
	var mr tandemv1.Mirror
	if err := r.client.Get(ctx, req.NamespacedName, &mr); err != nil {
		r.workers.Stop(key)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mr.DeletionTimestamp.IsZero() {
		r.workers.Stop(key)
		return ctrl.Result{}, nil
	}
	_, p, err := r.pairs.get(ctx, mr.Namespace, mr.Spec.Pair)
	if reason, ok := reasonOf(err); ok {
		r.workers.Stop(key)
		if reason == ReasonOtherShard {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{RequeueAfter: 30 * time.Second}, r.notReady(ctx, &mr, reason, err.Error())
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if mr.Spec.Suspend {
		r.workers.Stop(key)
		return ctrl.Result{}, r.notReady(ctx, &mr, "Suspended", "spec.suspend is set")
	}
	from, to := mr.Spec.From, mr.Spec.To
	if mr.Spec.FollowActive {
		v := pair.Verdict(ctx, p.Clusters)
		if v.Active == "" {
			r.workers.Stop(key)
			return ctrl.Result{RequeueAfter: mirrorRefresh}, r.notReady(ctx, &mr, "ActiveUnknown", fmt.Sprintf("which cluster is active is unknown: %v", v.Problems))
		}
		from, to = v.Active, p.Other(v.Active).Context
	}
	if p.Conn(from) == nil || p.Conn(to) == nil {
		r.workers.Stop(key)
		return ctrl.Result{}, r.notReady(ctx, &mr, ReasonUnknownCluster, fmt.Sprintf("from %q and to %q must be the clusters of ClusterPair %s (%v)", from, to, p.Name, p.Names()))
	}
	if j, ok := r.workers.Get(key); ok {
		run := j.note.(*mirrorRun)
		if run.from == from && run.to == to && run.generation == mr.Generation {
			return ctrl.Result{RequeueAfter: mirrorRefresh}, r.report(ctx, &mr, p, run)
		}
		r.workers.Stop(key)
		r.event(&mr, corev1.EventTypeNormal, "Direction", fmt.Sprintf("copying %s → %s now (was %s → %s)", from, to, run.from, run.to))
	}
	run := &mirrorRun{from: from, to: to, generation: mr.Generation}
	spec := mr.Spec
	r.workers.Go(ctx, key, run, func(ctx context.Context) { r.keepMirroring(ctx, run, p, spec) })
	r.event(&mr, corev1.EventTypeNormal, "Started", fmt.Sprintf("mirroring %s → %s", from, to))
	return ctrl.Result{RequeueAfter: time.Second}, r.report(ctx, &mr, p, run)
}

// keepMirroring runs the mirror until ctx ends, starting it again (after a
// pause) when it stops on an error.
func (r *MirrorReconciler) keepMirroring(ctx context.Context, run *mirrorRun, p *Pair, spec tandemv1.MirrorSpec) {
	for ctx.Err() == nil {
		m := &mirror.Mirror{
			Source: p.Conn(run.from), Target: p.Conn(run.to), Prune: spec.Prune, Workers: 4, Log: r.log, Metrics: r.metrics.mirror,
			Request: syncer.Request{Standby: spec.Standby, Selector: plan.Selector{Namespaces: spec.Namespaces}},
		}
		run.current.Store(m)
		err := m.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		msg := "stopped"
		if err != nil {
			msg = err.Error()
		}
		run.lastErr.Store(&msg)
		r.log.Warn("mirror stopped; starting again", "from", run.from, "to", run.to, "error", msg)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// report writes a running mirror's state into the Mirror's status.
func (r *MirrorReconciler) report(ctx context.Context, mr *tandemv1.Mirror, p *Pair, run *mirrorRun) error {
	base := mr.DeepCopy()
	s := &mr.Status
	s.ObservedGeneration, s.From, s.To = mr.Generation, run.from, run.to
	ready := metav1.Condition{Type: tandemv1.ConditionReady, Status: metav1.ConditionFalse, Reason: "InitialSync", Message: "copying everything once before following changes"}
	if m := run.current.Load(); m != nil {
		st := m.Stats()
		s.LagSeconds = fmt.Sprintf("%.3f", st.LagP99)
		s.Events, s.Applied, s.Deleted, s.Failed, s.OutOfStep = st.Events, st.Applied, st.Deleted, st.Failed, int64(st.OutOfStep)
		switch {
		case m.Synced() && st.OutOfStep > 0:
			// Still following: the rest is copied; these need a look (or time).
			ready = metav1.Condition{Type: tandemv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "FollowingWithFailures", Message: fmt.Sprintf("every change in %s is copied into %s but %d objects whose last attempt failed or waits to be tried again (the controller's log names them)", run.from, run.to, st.OutOfStep)}
		case m.Synced():
			ready = metav1.Condition{Type: tandemv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Following", Message: fmt.Sprintf("every change in %s is copied into %s", run.from, run.to)}
		}
	}
	if e := run.lastErr.Load(); e != nil && ready.Status != metav1.ConditionTrue {
		ready.Reason, ready.Message = "Restarting", "the mirror stopped: "+*e
	}
	meta.SetStatusCondition(&s.Conditions, ready)
	paused := metav1.Condition{Type: tandemv1.ConditionPaused, Status: metav1.ConditionFalse, Reason: "Running", Message: "not paused"}
	if st, err := mirror.Status(ctx, p.Conn(run.to)); err == nil && st != nil && st.Live && (st.Paused || st.Pausing) {
		paused = metav1.Condition{Type: tandemv1.ConditionPaused, Status: metav1.ConditionTrue, Reason: "SwitchoverPause", Message: "held by a switchover of the pair"}
	}
	meta.SetStatusCondition(&s.Conditions, paused)
	return r.client.Status().Patch(ctx, mr, client.MergeFrom(base))
}

// notReady says in the status why the Mirror does not copy.
func (r *MirrorReconciler) notReady(ctx context.Context, mr *tandemv1.Mirror, reason, msg string) error {
	base := mr.DeepCopy()
	mr.Status.ObservedGeneration = mr.Generation
	changed := meta.SetStatusCondition(&mr.Status.Conditions, metav1.Condition{Type: tandemv1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: msg})
	if changed {
		r.event(mr, corev1.EventTypeWarning, reason, msg)
	}
	return client.IgnoreNotFound(r.client.Status().Patch(ctx, mr, client.MergeFrom(base)))
}

func (r *MirrorReconciler) event(mr *tandemv1.Mirror, kind, reason, msg string) {
	if r.events != nil {
		r.events.Eventf(mr, nil, kind, reason, "Mirror", "%s", msg)
	}
}
