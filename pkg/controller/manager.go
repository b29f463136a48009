package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/dashboard"
)

// Options are `tandem controller`'s flags.
type Options struct {
	Config *rest.Config // the management cluster
	// Shard is a label selector on ClusterPairs: this controller reconciles
	// only the pairs it selects (and their Mirrors, Switchovers, Drills).
	Shard       string
	MetricsAddr string // "0" disables
	HealthAddr  string // "0" disables
	LeaderElect bool
	// LeaderElectionNamespace and LeaderElectionID name the Lease the
	// replicas contend for; the ID defaults to one per shard.
	LeaderElectionNamespace string
	LeaderElectionID        string
	// DashboardAddr, when set, serves the dashboard of every ClusterPair of
	// the shard; DashboardToken, when set, allows its actions with that token.
	DashboardAddr  string
	DashboardToken string
	Log            *slog.Logger
}

// LeaderElectionID is the default Lease name for a shard: replicas of one
// shard contend for it; another shard has its own.
func LeaderElectionID(shard string) string {
	if shard == "" {
		return "tandem-controller"
	}
	sum := sha256.Sum256([]byte(shard))
	return "tandem-controller-" + hex.EncodeToString(sum[:])[:10]
}

// Scheme is the management cluster's scheme: the built-in types and tandem.io/v1alpha1.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = tandemv1.AddToScheme(s)
	return s
}

func labelsOf(o client.Object) labels.Set { return labels.Set(o.GetLabels()) }

// Run runs the controller until ctx ends (or this replica loses the leader
// Lease, which ends the process as controller-runtime does).
func Run(ctx context.Context, o Options) error {
	shard, err := labels.Parse(o.Shard)
	if err != nil {
		return fmt.Errorf("--shard %q: %w", o.Shard, err)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	ctrl.SetLogger(logr.FromSlogHandler(o.Log.Handler()))
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = LeaderElectionID(o.Shard)
	}
	// A replica that dies holding the Lease is replaced within lease+retry
	// (≈ 14 s); the leader steps down when it cannot renew for renew (8 s),
	// before anyone can take the Lease.
	lease, renew, retry := 12*time.Second, 8*time.Second, 2*time.Second
	mgr, err := ctrl.NewManager(o.Config, ctrl.Options{
		Scheme:                  Scheme(),
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:  o.HealthAddr,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        o.LeaderElectionID,
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		LeaseDuration:           &lease,
		RenewDeadline:           &renew,
		RetryPeriod:             &retry,
	})
	if err != nil {
		return fmt.Errorf("controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	met := newMetrics(ctrlmetrics.Registry)
	w := newWorkers()
	if err := mgr.Add(w); err != nil {
		return err
	}
	ps := &pairs{client: mgr.GetClient(), reader: mgr.GetAPIReader(), shard: shard}
	rec := mgr.GetEventRecorder("tandem-controller")
	inShard := predicate.NewPredicateFuncs(func(o client.Object) bool { return shard.Matches(labelsOf(o)) })

	if err := ctrl.NewControllerManagedBy(mgr).Named("clusterpair").
		For(&tandemv1.ClusterPair{}, builder.WithPredicates(inShard, predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(&ClusterPairReconciler{client: mgr.GetClient(), pairs: ps, events: rec, metrics: met, log: o.Log.With("controller", "clusterpair")}); err != nil {
		return err
	}
	// Mirrors turn around when a Switchover of their pair ends.
	mirrorsOfPair := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		pairName := ""
		switch v := obj.(type) {
		case *tandemv1.Switchover:
			pairName = v.Spec.Pair
		case *tandemv1.ClusterPair:
			pairName = v.Name
		}
		var list tandemv1.MirrorList
		if err := mgr.GetClient().List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
			return nil
		}
		var out []reconcile.Request
		for _, m := range list.Items {
			if m.Spec.Pair == pairName {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&m)})
			}
		}
		return out
	})
	if err := ctrl.NewControllerManagedBy(mgr).Named("mirror").
		For(&tandemv1.Mirror{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&tandemv1.Switchover{}, mirrorsOfPair).
		Watches(&tandemv1.ClusterPair{}, mirrorsOfPair, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(&MirrorReconciler{client: mgr.GetClient(), pairs: ps, events: rec, workers: w, metrics: met, log: o.Log.With("controller", "mirror")}); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("switchover").
		For(&tandemv1.Switchover{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(&SwitchoverReconciler{client: mgr.GetClient(), reader: mgr.GetAPIReader(), pairs: ps, events: rec, workers: w, metrics: met,
			log: o.Log.With("controller", "switchover")}); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named("drill").
		For(&tandemv1.Drill{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2}).
		Complete(&DrillReconciler{client: mgr.GetClient(), reader: mgr.GetAPIReader(), pairs: ps, events: rec, workers: w,
			log: o.Log.With("controller", "drill")}); err != nil {
		return err
	}
	if o.DashboardAddr != "" {
		ln, err := dashboard.Listen(o.DashboardAddr)
		if err != nil {
			return fmt.Errorf("--dashboard-addr: %w", err)
		}
		src := &dashboardSource{client: mgr.GetClient(), pairs: ps}
		srv := &dashboard.Server{Source: src, Log: o.Log.With("component", "dashboard")}
		if o.DashboardToken != "" {
			srv.Actor, srv.Token = src, o.DashboardToken
		}
		if err := mgr.Add(dashboardRunnable{srv: srv, ln: ln}); err != nil {
			return err
		}
	}
	o.Log.Info("starting", "shard", shard.String(), "leaderElection", o.LeaderElect, "lease", o.LeaderElectionNamespace+"/"+o.LeaderElectionID)
	return mgr.Start(ctx)
}
