package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// DrillReconciler runs each Drill once: a switchover to the standby and
// back (each leg journaled in a ConfigMap, resumed by the next leader), a
// load probe throughout, the report in status and in a ConfigMap.
type DrillReconciler struct {
	client  client.Client
	reader  client.Reader
	pairs   *pairs
	events  events.EventRecorder
	workers *workers
	log     *slog.Logger
}

// Reconcile implements reconcile.Reconciler.
func (r *DrillReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	key := "drill/" + req.String()
	var d tandemv1.Drill
	if err := r.client.Get(ctx, req.NamespacedName, &d); err != nil {
		r.workers.Cancel(key) // deleted: a running leg fails and is undone
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !d.DeletionTimestamp.IsZero() {
		r.workers.Cancel(key)
		return ctrl.Result{}, nil
	}
	if terminal(d.Status.Phase) {
		return ctrl.Result{}, nil
	}
	if _, running := r.workers.Get(key); running {
		return ctrl.Result{}, nil
	}
	_, p, err := r.pairs.get(ctx, d.Namespace, d.Spec.Pair)
	if reason, ok := reasonOf(err); ok {
		if reason == ReasonOtherShard {
			return ctrl.Result{}, nil
		}
		if reason == ReasonPairNotFound || reason == ReasonSecretNotFound {
			return ctrl.Result{RequeueAfter: 15 * time.Second}, r.update(ctx, &d, func(s *tandemv1.DrillStatus) {
				s.Phase = tandemv1.PhasePending
				meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionValid, Status: metav1.ConditionFalse, Reason: reason, Message: err.Error()})
			})
		}
		return ctrl.Result{}, r.fail(ctx, &d, reason, err.Error())
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	cp := d.DeepCopy()
	r.workers.Go(ctx, key, nil, func(ctx context.Context) { r.run(ctx, cp, p) })
	return ctrl.Result{}, nil
}

func (r *DrillReconciler) run(ctx context.Context, d *tandemv1.Drill, p *Pair) {
	log := r.log.With("drill", d.Namespace+"/"+d.Name)
	active, standby := d.Status.Active, d.Status.Standby
	if active == "" {
		v := pair.Verdict(ctx, p.Clusters)
		if v.Active == "" {
			_ = r.fail(ctx, d, "ActiveUnknown", fmt.Sprintf("which cluster is active is unknown (%v): fix the records first", v.Problems))
			return
		}
		active, standby = v.Active, p.Other(v.Active).Context
	}
	started := time.Now()
	_ = r.update(ctx, d, func(s *tandemv1.DrillStatus) {
		s.Phase, s.Active, s.Standby = tandemv1.PhaseRunning, active, standby
		if s.StartTime == nil {
			now := metav1.Now()
			s.StartTime = &now
		}
		started = s.StartTime.Time
	})
	r.event(d, corev1.EventTypeNormal, tandemv1.PhaseRunning, fmt.Sprintf("drilling %s → %s → %s", active, standby, active))
	dr := &switchover.Drill{Active: active, Standby: standby, Router: p.Router, Started: started,
		Leg: func(ctx context.Context, i int, _, to string) (switchover.Report, error) {
			return r.leg(ctx, d, p, i, to, log)
		},
		AfterLeg: func(rep *switchover.DrillReport) {
			_ = r.update(ctx, d, func(s *tandemv1.DrillStatus) { s.Legs = drillLegs(rep.Legs) })
		}}
	if pr := d.Spec.Probe; pr != nil {
		dr.Probe = &traffic.Probe{URL: pr.URL, Host: pr.Host, Rate: int(pr.Rate), ClusterHeader: pr.ClusterHeader, Max: 2 * time.Hour}
	}
	rep, interrupted := dr.Run(ctx)
	if interrupted {
		return // this replica stopped leading: the next one resumes the leg
	}
	cmName := d.Name + "-report"
	if err := r.writeReport(context.WithoutCancel(ctx), d, cmName, rep); err != nil {
		log.Error("write the drill report", "error", err)
	}
	rec := rep.Summary("ConfigMap " + d.Namespace + "/" + cmName)
	for _, c := range p.Clusters {
		if err := switchover.RememberDrill(context.WithoutCancel(ctx), c, rec); err != nil {
			log.Warn("drill result not kept in the record", "cluster", c.Context, "error", err)
		}
	}
	phase, kind := tandemv1.PhaseSucceeded, corev1.EventTypeNormal
	if !rep.Passed {
		phase, kind = tandemv1.PhaseFailed, corev1.EventTypeWarning
	}
	_ = r.update(context.WithoutCancel(ctx), d, func(s *tandemv1.DrillStatus) {
		now := metav1.Now()
		s.Phase, s.Result, s.CompletionTime, s.ReportConfigMap = phase, rep.Result, &now, cmName
		s.Seconds = fmt.Sprintf("%.1f", time.Duration(rep.Took).Seconds())
		if rep.Probe != nil {
			s.RequestsSent, s.RequestsFailed = rep.Probe.Sent, rep.Probe.Failed
		}
		s.Legs = drillLegs(rep.Legs)
		status := metav1.ConditionFalse
		if rep.Passed {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionReady, Status: status, Reason: phase, Message: rep.Result})
	})
	r.event(d, kind, phase, rep.Result)
}

// leg runs (or resumes, or finds done) the drill's switchover number i into to.
func (r *DrillReconciler) leg(ctx context.Context, d *tandemv1.Drill, p *Pair, i int, to string, log *slog.Logger) (switchover.Report, error) {
	jkey := types.NamespacedName{Namespace: d.Namespace, Name: fmt.Sprintf("%s-leg%d-journal", d.Name, i+1)}
	l := &leg{pair: p, to: to, traffic: d.Spec.Traffic, sync: d.Spec.Sync, namespaces: d.Spec.Namespaces, timeout: d.Spec.Timeout,
		shiftJournal: types.NamespacedName{Namespace: d.Namespace, Name: fmt.Sprintf("%s-leg%d-shift-journal", d.Name, i+1)}, owner: d, client: r.client, reader: r.reader, reason: "drill", who: fmt.Sprintf("Drill %s/%s (tandem controller)", d.Namespace, d.Name), log: log,
		progress: func(phase, msg string) { log.Info("progress", "leg", i+1, "phase", phase, "msg", msg) },
	}
	recs, err := readConfigMapLog(ctx, r.reader, jkey)
	if err != nil {
		return switchover.Report{}, err
	}
	if last, ended := journal.LastRun(recs); ended && len(last) > 0 && last[len(last)-1].Detail["result"] == "completed" {
		return switchover.Report{From: p.Other(to).Context, To: to, Run: last[0].Run, Completed: true}, nil // done before a crash
	}
	inv, err := l.invocation(ctx)
	if err != nil {
		return switchover.Report{}, err
	}
	inv.OpenJournal = func(ctx context.Context) (journal.Log, []journal.Record, error) {
		jl, recs, err := openConfigMapLog(ctx, r.client, r.reader, jkey, d, nil)
		return jl, recs, err
	}
	inv.Holder = holder(fmt.Sprintf("%s-%d", d.UID, i+1), "Drill "+d.Namespace+"/"+d.Name)
	inv.Notice = func(msg string) { log.Info("notice", "msg", msg) }
	r.event(d, corev1.EventTypeNormal, "Leg", fmt.Sprintf("switchover %d: %s → %s", i+1, inv.FromName, to))
	return switchover.Invoke(ctx, inv)
}

func drillLegs(legs []switchover.Report) []tandemv1.DrillLeg {
	var out []tandemv1.DrillLeg
	for _, l := range legs {
		res := "completed"
		switch {
		case l.RolledBack:
			res = "rolled back: " + l.Err
		case !l.Completed:
			res = "failed: " + l.Err
		}
		out = append(out, tandemv1.DrillLeg{From: l.From, To: l.To, Result: res, Phases: reportPhases(l)})
	}
	return out
}

// writeReport keeps the report as markdown and JSON in a ConfigMap owned by the Drill.
func (r *DrillReconciler) writeReport(ctx context.Context, d *tandemv1.Drill, name string, rep *switchover.DrillReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: name}}
	_, err = controllerutil.CreateOrUpdate(ctx, r.client, cm, func() error {
		cm.Data = map[string]string{"report.md": rep.Markdown(), "report.json": string(b)}
		return controllerutil.SetControllerReference(d, cm, r.client.Scheme())
	})
	return err
}

func (r *DrillReconciler) fail(ctx context.Context, d *tandemv1.Drill, reason, msg string) error {
	r.event(d, corev1.EventTypeWarning, reason, msg)
	return r.update(ctx, d, func(s *tandemv1.DrillStatus) {
		now := metav1.Now()
		s.Phase, s.Result, s.CompletionTime = tandemv1.PhaseFailed, "failed: "+msg, &now
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionValid, Status: metav1.ConditionFalse, Reason: reason, Message: msg})
	})
}

func (r *DrillReconciler) update(ctx context.Context, d *tandemv1.Drill, f func(*tandemv1.DrillStatus)) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		var cur tandemv1.Drill
		if err := r.reader.Get(ctx, client.ObjectKeyFromObject(d), &cur); err != nil {
			return client.IgnoreNotFound(err)
		}
		f(&cur.Status)
		err := r.client.Status().Update(ctx, &cur)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

func (r *DrillReconciler) event(d *tandemv1.Drill, kind, reason, msg string) {
	if r.events != nil {
		r.events.Eventf(d, nil, kind, reason, "Drill", "%s", msg)
	}
}
