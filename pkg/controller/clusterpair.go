package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// pairRefresh is how often a ClusterPair's status is read again.
const pairRefresh = 15 * time.Second

// ClusterPairReconciler keeps a ClusterPair's status what `tandem status`
// reports for it (pkg/pair), with conditions Reachable and Consistent.
type ClusterPairReconciler struct {
	client  client.Client
	pairs   *pairs
	events  events.EventRecorder
	metrics *metrics
	log     *slog.Logger
}

// Reconcile implements reconcile.Reconciler.
func (r *ClusterPairReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cp tandemv1.ClusterPair
	if err := r.client.Get(ctx, req.NamespacedName, &cp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.pairs.shard.Matches(labelsOf(&cp)) {
		return ctrl.Result{}, nil
	}
	base := cp.DeepCopy()
	s := &cp.Status
	s.ObservedGeneration = cp.Generation
	now := metav1.NowMicro()
	s.LastChecked = &now
	s.LastSwitchover = r.lastSwitchover(ctx, &cp)
	p, err := r.pairs.connect(ctx, &cp)
	if err != nil {
		reason, ok := reasonOf(err)
		if !ok {
			reason = "Unavailable"
		}
		if meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionReachable, Status: metav1.ConditionFalse, Reason: reason, Message: err.Error()}) {
			r.event(&cp, corev1.EventTypeWarning, reason, err.Error())
		}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionConsistent, Status: metav1.ConditionUnknown, Reason: reason, Message: "the clusters cannot be read"})
		return ctrl.Result{RequeueAfter: pairRefresh}, r.client.Status().Patch(ctx, &cp, client.MergeFrom(base))
	}
	st, err := pair.Read(ctx, p.Clusters, p.Router, func(url string) (traffic.Router, error) { return p.OpenRouter(ctx, url) })
	if err != nil {
		return ctrl.Result{}, err
	}
	before := s.Active
	fillPairStatus(s, st)
	var unreachable []string
	up := map[string]bool{}
	for _, c := range st.Clusters {
		up[c.Context] = c.Reachable
		if !c.Reachable {
			unreachable = append(unreachable, fmt.Sprintf("%s: %s", c.Context, c.Error))
		}
	}
	if len(unreachable) == 0 {
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionReachable, Status: metav1.ConditionTrue, Reason: "Reachable", Message: "both clusters answer"})
	} else if meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionReachable, Status: metav1.ConditionFalse, Reason: "Unreachable", Message: strings.Join(unreachable, "; ")}) {
		r.event(&cp, corev1.EventTypeWarning, "Unreachable", strings.Join(unreachable, "; "))
	}
	if st.Verdict.Active != "" && len(st.Verdict.Problems) == 0 {
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionConsistent, Status: metav1.ConditionTrue, Reason: "OneActive", Message: fmt.Sprintf("%s is active at epoch %d", st.Verdict.Active, st.Verdict.Epoch)})
	} else {
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: tandemv1.ConditionConsistent, Status: metav1.ConditionFalse, Reason: "RecordsDisagree", Message: strings.Join(st.Verdict.Problems, "; ")})
	}
	r.metrics.pair(cp.Namespace, cp.Name, up, s.Active, s.Epoch)
	if s.Active != before && s.Active != "" {
		r.event(&cp, corev1.EventTypeNormal, "Active", fmt.Sprintf("%s is active at epoch %d", s.Active, s.Epoch))
	}
	return ctrl.Result{RequeueAfter: pairRefresh}, client.IgnoreNotFound(r.client.Status().Patch(ctx, &cp, client.MergeFrom(base)))
}

// fillPairStatus copies what pkg/pair read into the resource's status.
func fillPairStatus(s *tandemv1.ClusterPairStatus, st *pair.Status) {
	s.Active, s.Epoch, s.Router, s.Warnings = st.Verdict.Active, st.Verdict.Epoch, st.Router, st.Warnings
	s.Clusters = nil
	for _, c := range st.Clusters {
		cs := tandemv1.ClusterStatus{Name: c.Context, Reachable: c.Reachable, Error: c.Error, Version: c.Version, Role: c.Role, StandbyMarker: c.Standby,
			Workloads: fmt.Sprintf("%d/%d", c.Workloads.Ready, c.Workloads.Workloads)}
		if rec := c.Record; rec != nil {
			cs.Epoch = rec.Epoch
			cs.RecordedBy = fmt.Sprintf("%s %s by %s", rec.Role, rec.Time.UTC().Format(time.RFC3339), rec.Who)
			if d := rec.LastDrill; d != nil {
				cs.LastDrill = d.Time.UTC().Format(time.RFC3339) + " " + d.Result
			}
		}
		if c.Mirror != nil {
			cs.Mirror = c.Mirror.String()
		}
		s.Clusters = append(s.Clusters, cs)
	}
	s.Weights = nil
	for _, route := range st.Weights.Routes() {
		rw := tandemv1.RouteWeights{Route: route, Weights: map[string]int32{}}
		for c, w := range st.Weights[route] {
			rw.Weights[c] = int32(w)
		}
		s.Weights = append(s.Weights, rw)
	}
}

// lastSwitchover names the newest Switchover of the pair, with its phase.
func (r *ClusterPairReconciler) lastSwitchover(ctx context.Context, cp *tandemv1.ClusterPair) string {
	var list tandemv1.SwitchoverList
	if err := r.client.List(ctx, &list, client.InNamespace(cp.Namespace)); err != nil {
		return ""
	}
	var mine []tandemv1.Switchover
	for _, so := range list.Items {
		if so.Spec.Pair == cp.Name {
			mine = append(mine, so)
		}
	}
	if len(mine) == 0 {
		return ""
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].CreationTimestamp.Before(&mine[j].CreationTimestamp) })
	last := mine[len(mine)-1]
	return fmt.Sprintf("%s (%s)", last.Name, orDash(last.Status.Phase))
}

func (r *ClusterPairReconciler) event(cp *tandemv1.ClusterPair, kind, reason, msg string) {
	if r.events != nil {
		r.events.Eventf(cp, nil, kind, reason, "Status", "%s", msg)
	}
}
