package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/dashboard"
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// dashboardSource shows every ClusterPair of the shard ("NAMESPACE/NAME"):
// status read as `tandem status` reads it, the Switchovers and Drills from
// their resources.
type dashboardSource struct {
	client client.Client
	pairs  *pairs
}

func splitName(name string) (string, string) {
	ns, n, _ := strings.Cut(name, "/")
	return ns, n
}

// Pairs implements dashboard.Source.
func (d *dashboardSource) Pairs(ctx context.Context) ([]string, error) {
	var list tandemv1.ClusterPairList
	if err := d.client.List(ctx, &list); err != nil {
		return nil, err
	}
	var out []string
	for _, cp := range list.Items {
		if d.pairs.shard.Matches(labelsOf(&cp)) {
			out = append(out, cp.Namespace+"/"+cp.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (d *dashboardSource) pair(ctx context.Context, name string) (*Pair, error) {
	ns, n := splitName(name)
	_, p, err := d.pairs.get(ctx, ns, n)
	return p, err
}

// Status implements dashboard.Source.
func (d *dashboardSource) Status(ctx context.Context, name string) (*pair.Status, error) {
	p, err := d.pair(ctx, name)
	if err != nil {
		return nil, err
	}
	return pair.Read(ctx, p.Clusters, p.Router, func(url string) (traffic.Router, error) { return p.OpenRouter(ctx, url) })
}

// router is the pair's router: its spec's, else the one the records remember.
func (d *dashboardSource) router(ctx context.Context, p *Pair) (traffic.Router, error) {
	url := p.Router
	if url == "" {
		url = switchover.RememberedRouter(ctx, p.Clusters[0], p.Clusters[1])
	}
	if url == "" {
		return nil, fmt.Errorf("no router")
	}
	return p.OpenRouter(ctx, url)
}

// Weights implements dashboard.Source.
func (d *dashboardSource) Weights(ctx context.Context, name string) (traffic.Weights, error) {
	p, err := d.pair(ctx, name)
	if err != nil {
		return nil, err
	}
	r, err := d.router(ctx, p)
	if err != nil {
		return nil, err
	}
	return r.Observe(ctx)
}

// Run implements dashboard.Source: a running Switchover of the pair, else the newest.
func (d *dashboardSource) Run(ctx context.Context, name string) (*dashboard.Run, error) {
	ns, n := splitName(name)
	var list tandemv1.SwitchoverList
	if err := d.client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var pick *tandemv1.Switchover
	for i := range list.Items {
		so := &list.Items[i]
		if so.Spec.Pair != n {
			continue
		}
		if pick == nil || (so.Status.Phase == tandemv1.PhaseRunning) || (pick.Status.Phase != tandemv1.PhaseRunning && pick.CreationTimestamp.Before(&so.CreationTimestamp)) {
			pick = so
		}
	}
	if pick == nil {
		return nil, nil
	}
	run := &dashboard.Run{Kind: "switchover", Name: pick.Name, From: pick.Status.From, To: pick.Spec.To,
		Running: !terminal(pick.Status.Phase), Result: pick.Status.Phase}
	for _, p := range pick.Status.Phases {
		run.Phases = append(run.Phases, dashboard.Phase{Name: p.Name, Result: p.Result})
	}
	return run, nil
}

// Drills implements dashboard.Source: the reports of the pair's Drills.
func (d *dashboardSource) Drills(ctx context.Context, name string) ([]switchover.DrillReport, error) {
	ns, n := splitName(name)
	var list tandemv1.DrillList
	if err := d.client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[j].CreationTimestamp.Before(&list.Items[i].CreationTimestamp) })
	var out []switchover.DrillReport
	for _, dr := range list.Items {
		if dr.Spec.Pair != n || dr.Status.ReportConfigMap == "" {
			continue
		}
		var cm corev1.ConfigMap
		if err := d.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: dr.Status.ReportConfigMap}, &cm); err != nil {
			continue
		}
		var rep switchover.DrillReport
		if json.Unmarshal([]byte(cm.Data["report.json"]), &rep) == nil {
			out = append(out, rep)
		}
	}
	return out, nil
}

// RollBack implements dashboard.Actor.
func (d *dashboardSource) RollBack(ctx context.Context, name string) error {
	p, err := d.pair(ctx, name)
	if err != nil {
		return err
	}
	v := pair.Verdict(ctx, p.Clusters)
	if v.Active == "" {
		return fmt.Errorf("which cluster is active is unknown (%s)", strings.Join(v.Problems, "; "))
	}
	r, err := d.router(ctx, p)
	if err != nil {
		return err
	}
	return traffic.SendAllTo(ctx, r, "", v.Active, p.Other(v.Active).Context, "rolled back from the dashboard")
}

// StartDrill implements dashboard.Actor: a Drill resource.
func (d *dashboardSource) StartDrill(ctx context.Context, name string) (string, error) {
	ns, n := splitName(name)
	dr := &tandemv1.Drill{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: n + "-drill-"}, Spec: tandemv1.DrillSpec{Pair: n}}
	if err := d.client.Create(ctx, dr); err != nil {
		return "", err
	}
	return "Drill " + ns + "/" + dr.Name, nil
}

// dashboardRunnable serves the dashboard on every replica (it reads; its
// actions go through resources or the router, as the CLI's do).
type dashboardRunnable struct {
	srv *dashboard.Server
	ln  net.Listener
}

func (r dashboardRunnable) Start(ctx context.Context) error { return r.srv.Serve(ctx, r.ln) }
func (r dashboardRunnable) NeedLeaderElection() bool        { return false }
