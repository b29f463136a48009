package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/switchover"
)

// rollbackFinalizer holds a Switchover being deleted until what it began is undone.
const rollbackFinalizer = "tandem.io/rollback"

// SwitchoverReconciler runs each Switchover once, through switchover.Invoke
// with its journal in a ConfigMap: a replica that takes over the leader
// Lease resumes it; deleting a running one rolls it back.
type SwitchoverReconciler struct {
	client  client.Client
	reader  client.Reader
	pairs   *pairs
	events  events.EventRecorder
	workers *workers
	metrics *metrics
	log     *slog.Logger
}

func journalName(so *tandemv1.Switchover) types.NamespacedName {
	return types.NamespacedName{Namespace: so.Namespace, Name: so.Name + "-journal"}
}

func terminal(phase string) bool {
	switch phase {
	case tandemv1.PhaseSucceeded, tandemv1.PhaseFailed, tandemv1.PhaseRolledBack:
		return true
	}
	return false
}

// Reconcile implements reconcile.Reconciler.
func (r *SwitchoverReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var so tandemv1.Switchover
	if err := r.client.Get(ctx, req.NamespacedName, &so); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	key := "switchover/" + string(so.UID)
	if !so.DeletionTimestamp.IsZero() {
		return r.deleted(ctx, &so, key)
	}
	if terminal(so.Status.Phase) {
		return ctrl.Result{}, nil
	}
	if _, running := r.workers.Get(key); running {
		return ctrl.Result{}, nil
	}
	_, p, err := r.pairs.get(ctx, so.Namespace, so.Spec.Pair)
	if reason, ok := reasonOf(err); ok {
		if reason == ReasonOtherShard {
			return ctrl.Result{}, nil // another controller's
		}
		if reason == ReasonPairNotFound || reason == ReasonSecretNotFound {
			// They may yet be created: wait, saying why.
			return ctrl.Result{RequeueAfter: 15 * time.Second}, r.setPending(ctx, &so, reason, err.Error())
		}
		return ctrl.Result{}, r.finish(ctx, &so, tandemv1.PhaseFailed, reason, err.Error(), nil)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if !controllerutil.ContainsFinalizer(&so, rollbackFinalizer) {
		controllerutil.AddFinalizer(&so, rollbackFinalizer)
		if err := r.client.Update(ctx, &so); err != nil {
			return ctrl.Result{}, err
		}
	}
	cp := so.DeepCopy()
	r.workers.Go(ctx, key, nil, func(ctx context.Context) { r.run(ctx, cp, p, false) })
	return ctrl.Result{}, nil
}

// deleted rolls back a Switchover being deleted, then lets it go.
func (r *SwitchoverReconciler) deleted(ctx context.Context, so *tandemv1.Switchover, key string) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(so, rollbackFinalizer) {
		return ctrl.Result{}, nil
	}
	if j := r.workers.Cancel(key); j != nil {
		if j.note == nil {
			r.event(so, corev1.EventTypeWarning, "Deleted", "deleted while running: rolling back")
		}
		return ctrl.Result{RequeueAfter: time.Second}, nil // the run undoes what it began; then its end requeues
	}
	recs, err := readConfigMapLog(ctx, r.reader, journalName(so))
	if err != nil {
		return ctrl.Result{}, err
	}
	if switchover.FindPending(recs) != nil {
		// Interrupted with no run here (a replica crashed): undo it from the journal.
		_, p, err := r.pairs.get(ctx, so.Namespace, so.Spec.Pair)
		if err == nil {
			so := so.DeepCopy()
			r.workers.Go(ctx, key, "rollback", func(ctx context.Context) { r.run(ctx, so, p, true) })
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		r.log.Error("cannot roll back a deleted switchover", "switchover", so.Name, "error", err)
	}
	controllerutil.RemoveFinalizer(so, rollbackFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.client.Update(ctx, so))
}

// run is one switchover (or the undo of an interrupted one), start to end.
func (r *SwitchoverReconciler) run(ctx context.Context, so *tandemv1.Switchover, p *Pair, rollback bool) {
	log := r.log.With("switchover", so.Namespace+"/"+so.Name)
	st := &statusWriter{client: r.client, reader: r.reader, key: client.ObjectKeyFromObject(so)}
	l := &leg{pair: p, to: so.Spec.To, traffic: so.Spec.Traffic, sync: so.Spec.Sync, namespaces: so.Spec.Namespaces,
		sourceUnreachable: so.Spec.SourceUnreachable, timeout: so.Spec.Timeout,
		shiftJournal: types.NamespacedName{Namespace: so.Namespace, Name: so.Name + "-shift-journal"}, owner: so, client: r.client, reader: r.reader,
		reason: "switchover", who: fmt.Sprintf("Switchover %s/%s (tandem controller)", so.Namespace, so.Name), log: log,
		progress: func(phase, msg string) { log.Info("progress", "phase", phase, "msg", msg) },
	}
	inv, err := l.invocation(ctx)
	if err != nil {
		reason := "Unavailable"
		if rs, ok := reasonOf(err); ok {
			reason = rs
		}
		if !rollback {
			_ = r.finish(ctx, so, tandemv1.PhaseFailed, reason, err.Error(), nil)
			return
		}
	}
	if inv == nil {
		return
	}
	phases := &phaseLog{}
	inv.OpenJournal = func(ctx context.Context) (journal.Log, []journal.Record, error) {
		jl, recs, err := openConfigMapLog(ctx, r.client, r.reader, journalName(so), so, func(rec journal.Record) {
			if phases.add(rec) {
				r.phaseEvent(so, rec)
			}
			_ = st.update(func(s *tandemv1.SwitchoverStatus) { s.Phases = phases.list(); s.Run = rec.Run })
		})
		if err == nil {
			if last, ended := journal.LastRun(recs); !ended {
				for _, rec := range last {
					phases.add(rec)
				}
			}
		}
		return jl, recs, err
	}
	inv.Holder = holder(string(so.UID), "Switchover "+so.Namespace+"/"+so.Name)
	inv.Rollback = rollback
	inv.Notice = func(msg string) { log.Info("notice", "msg", msg); r.event(so, corev1.EventTypeNormal, "Notice", msg) }

	_ = st.update(func(s *tandemv1.SwitchoverStatus) {
		if s.StartTime == nil {
			now := metav1.Now()
			s.StartTime = &now
		}
		s.Phase, s.From, s.Message = tandemv1.PhaseRunning, inv.FromName, ""
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionValid, Status: metav1.ConditionTrue, Reason: "Valid", Message: "the pair is reachable and the switchover makes sense"})
	})
	r.event(so, corev1.EventTypeNormal, tandemv1.PhaseRunning, fmt.Sprintf("switching %s → %s", inv.FromName, so.Spec.To))
	rep, err := switchover.Invoke(ctx, inv)
	if errors.Is(err, switchover.ErrLocked) && ctx.Err() == nil && rep.Run == "" {
		// Another switchover holds the pair: wait for it, saying who.
		_ = r.setPending(context.Background(), so, "Locked", err.Error())
		return
	}
	if ctx.Err() != nil && !rep.RolledBack && !rep.Completed {
		return // this replica stopped leading (or the run was cancelled before it began): the next one resumes
	}
	phase, reason, msg := tandemv1.PhaseSucceeded, "Succeeded", fmt.Sprintf("%s is active at epoch %d", so.Spec.To, rep.Epoch)
	switch {
	case rep.RolledBack && err != nil && strings.Contains(err.Error(), "rollback incomplete"):
		phase, reason, msg = tandemv1.PhaseFailed, "RollbackIncomplete", err.Error()
	case rep.RolledBack:
		phase, reason, msg = tandemv1.PhaseRolledBack, "RolledBack", "undone: "+orDash(rep.Err)
		for _, u := range rep.Undo {
			if u.Err != "" {
				phase, reason, msg = tandemv1.PhaseFailed, "UndoFailed", fmt.Sprintf("%s; undo %s failed: %s", rep.Err, u.Phase, u.Err)
			}
		}
	case err != nil:
		phase, reason, msg = tandemv1.PhaseFailed, "Failed", err.Error()
	}
	_ = r.finish(context.Background(), so, phase, reason, msg, &rep)
}

// holder names this replica in a switchover lock, under the run id of the
// resource: the replica that resumes the run takes the lock over at once.
func holder(run, what string) *switchover.Holder {
	host, _ := os.Hostname()
	return &switchover.Holder{Who: "tandem-controller@" + host, PID: os.Getpid(), Run: run, What: what}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// setPending keeps a Switchover Pending, saying why.
func (r *SwitchoverReconciler) setPending(ctx context.Context, so *tandemv1.Switchover, reason, msg string) error {
	st := &statusWriter{client: r.client, reader: r.reader, key: client.ObjectKeyFromObject(so)}
	return st.update(func(s *tandemv1.SwitchoverStatus) {
		s.Phase, s.Message = tandemv1.PhasePending, msg
		status := metav1.ConditionFalse
		if reason == "Locked" {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionValid, Status: status, Reason: reason, Message: msg})
	})
}

// finish writes the end of a run into the status, with an Event.
func (r *SwitchoverReconciler) finish(ctx context.Context, so *tandemv1.Switchover, phase, reason, msg string, rep *switchover.Report) error {
	st := &statusWriter{client: r.client, reader: r.reader, key: client.ObjectKeyFromObject(so)}
	err := st.update(func(s *tandemv1.SwitchoverStatus) {
		now := metav1.Now()
		s.Phase, s.Message, s.CompletionTime = phase, msg, &now
		if rep != nil {
			s.Epoch, s.Run = rep.Epoch, rep.Run
			s.Phases = reportPhases(*rep)
		}
		valid := metav1.ConditionTrue
		if phase == tandemv1.PhaseFailed && rep == nil {
			valid = metav1.ConditionFalse
		}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionValid, Status: valid, Reason: reason, Message: msg})
		ready := metav1.ConditionFalse
		if phase == tandemv1.PhaseSucceeded {
			ready = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionReady, Status: ready, Reason: reason, Message: msg})
	})
	if r.metrics != nil {
		r.metrics.ended(so.Namespace, so.Spec.Pair, phase, rep)
	}
	kind := corev1.EventTypeNormal
	if phase != tandemv1.PhaseSucceeded {
		kind = corev1.EventTypeWarning
	}
	r.event(so, kind, phase, msg)
	return err
}

// reportPhases are the report's phases and undo steps as status shows them.
func reportPhases(rep switchover.Report) []tandemv1.PhaseStatus {
	var out []tandemv1.PhaseStatus
	for _, p := range rep.All() {
		ps := tandemv1.PhaseStatus{Name: p.Phase, Result: p.Result()}
		if !p.Started.IsZero() {
			s, f := metav1.NewTime(p.Started), metav1.NewTime(p.Started.Add(p.Took))
			ps.Started, ps.Finished = &s, &f
		}
		out = append(out, ps)
	}
	return out
}

func (r *SwitchoverReconciler) event(so *tandemv1.Switchover, kind, reason, msg string) {
	if r.events != nil {
		r.events.Eventf(so, nil, kind, reason, "Switchover", "%s", msg)
	}
}

func (r *SwitchoverReconciler) phaseEvent(so *tandemv1.Switchover, rec journal.Record) {
	if r.events == nil {
		return
	}
	// The phase is the event's action: events of one reason and action are a series.
	emit := func(kind, reason, note string) { r.events.Eventf(so, nil, kind, reason, rec.Key, "%s", note) }
	switch rec.Op {
	case journal.OpIntent:
		emit(corev1.EventTypeNormal, "PhaseStarted", rec.Key)
	case journal.OpDone:
		emit(corev1.EventTypeNormal, "PhaseDone", rec.Key)
	case journal.OpFailed:
		emit(corev1.EventTypeWarning, "PhaseFailed", rec.Key+": "+rec.Detail["error"])
	case "undo":
		emit(corev1.EventTypeWarning, "PhaseUndone", rec.Key)
	}
}

// phaseLog is status.phases as the journal records of the run arrive.
type phaseLog struct {
	mu   sync.Mutex
	recs []journal.Record
}

// add folds one record in; it says whether the record was a phase change.
func (l *phaseLog) add(rec journal.Record) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rec.Op == journal.OpStart {
		l.recs = nil
	}
	l.recs = append(l.recs, rec)
	switch rec.Op {
	case journal.OpIntent, journal.OpDone, journal.OpFailed, "undo":
		return true
	}
	return false
}

func (l *phaseLog) list() []tandemv1.PhaseStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []tandemv1.PhaseStatus
	for _, p := range switchover.Progress(l.recs) {
		ps := tandemv1.PhaseStatus{Name: p.Name, Result: p.Result}
		if !p.Started.IsZero() {
			t := metav1.NewTime(p.Started)
			ps.Started = &t
		}
		if !p.Finished.IsZero() {
			t := metav1.NewTime(p.Finished)
			ps.Finished = &t
		}
		out = append(out, ps)
	}
	return out
}

// statusWriter updates a Switchover's status, read fresh each time.
type statusWriter struct {
	client client.Client
	reader client.Reader
	key    types.NamespacedName
}

func (w *statusWriter) update(f func(*tandemv1.SwitchoverStatus)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		var so tandemv1.Switchover
		if err := w.reader.Get(ctx, w.key, &so); err != nil {
			return client.IgnoreNotFound(err)
		}
		f(&so.Status)
		err := w.client.Status().Update(ctx, &so)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}
