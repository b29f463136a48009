package pair

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/mirror"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/workload"
)

// Cluster is one cluster of the pair as `tandem status` shows it.
type Cluster struct {
	Context   string               `json:"context"`
	Reachable bool                 `json:"reachable"`
	Error     string               `json:"error,omitempty"`
	Version   string               `json:"version,omitempty"`
	Identity  string               `json:"identity,omitempty"`
	Role      string               `json:"role"` // from the authoritative verdict: active, standby or unknown
	Record    *switchover.Record   `json:"record,omitempty"`
	Standby   bool                 `json:"standbyMarker"`
	Nodes     Nodes                `json:"nodes"`
	Workloads Workloads            `json:"workloads"`
	Lock      *switchover.LockInfo `json:"lock,omitempty"`
	Mirror    *mirror.State        `json:"mirror,omitempty"`
	// HeldAPIServices are the APIServices the cluster holds back while
	// standby (standby.Held): activate writes them back.
	HeldAPIServices []string `json:"heldAPIServices,omitempty"`
	// Counted says the standby marker and the workloads were read (not
	// zero for want of a right).
	Counted bool `json:"-"`
}

// Nodes counts a cluster's nodes.
type Nodes struct {
	Nodes int `json:"nodes"`
	Ready int `json:"ready"`
}

// Workloads sums Deployments and StatefulSets outside system namespaces.
type Workloads struct {
	Workloads int   `json:"workloads"`
	Ready     int   `json:"ready"` // workloads with every desired replica available
	Desired   int64 `json:"desiredReplicas"`
	Available int64 `json:"availableReplicas"`
	// Parked are workloads held at 0 by a deactivate (their replicas kept in
	// the tandem.io/replicas annotation).
	Parked int `json:"parked,omitempty"`
}

// Status is the whole answer.
type Status struct {
	Clusters []Cluster          `json:"clusters"`
	Verdict  switchover.Verdict `json:"verdict"`
	Router   string             `json:"router,omitempty"`
	Weights  traffic.Weights    `json:"weights,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
}

// Read reads both clusters of the pair; an unreachable one is reported in
// its column, not fatal. The router is routerURL, else the one the records
// remember; open turns a URL into a Router (nil: the weights are not read).
func Read(ctx context.Context, conns [2]*cluster.Conn, routerURL string, open func(string) (traffic.Router, error)) (*Status, error) {
	st := &Status{}
	var sides []switchover.Side
	var reachable []*cluster.Conn
	for _, c := range conns {
		cs, side := readCluster(ctx, c)
		st.Clusters = append(st.Clusters, cs)
		sides = append(sides, side)
		if cs.Reachable {
			reachable = append(reachable, c)
		}
	}
	st.Verdict = switchover.Decide(sides[0], sides[1])
	st.Warnings = append(st.Warnings, st.Verdict.Problems...)
	for i := range st.Clusters {
		switch {
		case st.Verdict.Active == "":
			st.Clusters[i].Role = "unknown"
		case st.Clusters[i].Context == st.Verdict.Active:
			st.Clusters[i].Role = switchover.RoleActive
			st.Warnings = append(st.Warnings, activeWarnings(st.Clusters[i])...)
		default:
			st.Clusters[i].Role = switchover.RoleStandby
			st.Warnings = append(st.Warnings, standbyWarnings(st.Clusters[i], st.Verdict.Active)...)
		}
		if m := st.Clusters[i].Mirror; m != nil && m.Live && m.Stats.OutOfStep > 0 {
			st.Warnings = append(st.Warnings, fmt.Sprintf("%s: the mirror from %s has %d objects not in step (their last write failed or waits to be tried again; its log names them): a switchover now would leave them behind", st.Clusters[i].Context, m.Source, m.Stats.OutOfStep))
		}
		if l := st.Clusters[i].Lock; l != nil {
			if l.Stale {
				st.Warnings = append(st.Warnings, fmt.Sprintf("%s: a stale switchover lock is held by %s (taken %s ago, not renewed for %s)", st.Clusters[i].Context, l.Holder, l.Age, l.Renewed))
			} else {
				st.Warnings = append(st.Warnings, fmt.Sprintf("%s: a switchover is running: %s (for %s)", st.Clusters[i].Context, l.Holder, l.Age))
			}
		}
	}
	if routerURL == "" {
		routerURL = switchover.RememberedRouter(ctx, reachable...)
	}
	st.Router = routerURL
	if routerURL != "" && open != nil {
		r, err := open(routerURL)
		if err != nil {
			return nil, err
		}
		w, err := r.Observe(ctx)
		if err != nil {
			st.Warnings = append(st.Warnings, fmt.Sprintf("router %s: %v", routerURL, err))
		} else {
			st.Weights = w
			st.Warnings = append(st.Warnings, WeightWarnings(w, st.Verdict.Active)...)
		}
	}
	return st, nil
}

// activeWarnings says what is wrong with an active cluster that runs less
// than it should: parked workloads, replicas not available.
func activeWarnings(c Cluster) []string {
	if !c.Reachable {
		return nil
	}
	var out []string
	w := c.Workloads
	if w.Parked > 0 {
		out = append(out, fmt.Sprintf("%s is active but holds %d parked workloads (at 0, their replicas in the %s annotation): run tandem activate --cluster %s", c.Context, w.Parked, standby.ReplicasAnnotation, c.Context))
	}
	if w.Available < w.Desired {
		out = append(out, fmt.Sprintf("%s is active but only %d of %d replicas are available", c.Context, w.Available, w.Desired))
	}
	if len(c.HeldAPIServices) > 0 {
		out = append(out, fmt.Sprintf("%s is active but holds back %d APIServices it does not serve (%s; kept in ConfigMap %s/%s): run tandem activate --cluster %s",
			c.Context, len(c.HeldAPIServices), strings.Join(c.HeldAPIServices, ", "), standby.MarkerNamespace, standby.HeldName, c.Context))
	}
	return out
}

// standbyWarnings says what is wrong with a cluster the records make the
// standby: one that is not parked (no standby marker) and runs replicas
// serves beside the active cluster.
func standbyWarnings(c Cluster, active string) []string {
	// Only a cluster whose own record says standby: one without a record
	// (a new cluster, its add-ons running) is not claimed to be anything.
	if !c.Reachable || c.Standby || c.Workloads.Available == 0 || c.Record == nil || c.Record.Role != switchover.RoleStandby {
		return nil
	}
	return []string{fmt.Sprintf("%s is standby by the records (%s is active) but is not parked: no standby marker, %d replicas available; both may serve: run tandem deactivate --cluster %s, or tandem switchover if it should be the active one",
		c.Context, active, c.Workloads.Available, c.Context)}
}

// WeightWarnings says where the router disagrees with the active record.
func WeightWarnings(w traffic.Weights, active string) []string {
	if active == "" {
		return nil
	}
	var out []string
	for _, route := range w.Routes() {
		total := 0
		for _, v := range w[route] {
			total += v
		}
		got, ok := w[route][active]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("route %s: the router has no cluster %s (records say it is active)", route, active))
		case total > 0 && 2*got < total:
			out = append(out, fmt.Sprintf("route %s: records say %s is active, but the router sends it %d%% (%s)", route, active, 100*got/total, w.String()))
		}
	}
	return out
}

// readCluster reads one cluster's column and what the verdict needs of it.
func readCluster(ctx context.Context, c *cluster.Conn) (Cluster, switchover.Side) {
	cs := Cluster{Context: c.Context}
	side := switchover.Side{Context: c.Context}
	v, err := c.Check(ctx)
	if err != nil {
		cs.Error, side.Err = err.Error(), err
		return cs, side
	}
	cs.Reachable, cs.Version = true, v.GitVersion
	cs.Identity, _ = c.Identity(ctx)
	fail := func(err error) (Cluster, switchover.Side) {
		cs.Error, side.Err = err.Error(), err
		return cs, side
	}
	if side = readSide(ctx, c); side.Err != nil {
		return fail(side.Err)
	}
	cs.Record, cs.Standby = side.Record, side.Standby
	if cs.Workloads, err = countWorkloads(ctx, c); err != nil {
		return fail(err)
	}
	cs.Counted = true
	if cs.Nodes, err = countNodes(ctx, c); err != nil {
		return fail(err)
	}
	cs.Lock, _ = switchover.ReadLock(ctx, c)
	cs.Mirror = mirrorStatus(ctx, c)
	cs.HeldAPIServices, _ = standby.Held(ctx, c)
	return cs, side
}

// countNodes counts the nodes and the Ready ones.
func countNodes(ctx context.Context, c *cluster.Conn) (Nodes, error) {
	list, err := c.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return Nodes{}, fmt.Errorf("list nodes of %s: %w", c.Context, err)
	}
	n := Nodes{Nodes: len(list.Items)}
	for _, node := range list.Items {
		for _, cond := range node.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				n.Ready++
			}
		}
	}
	return n, nil
}

// countWorkloads sums the Deployments and StatefulSets outside the system
// namespaces and tandem's own.
func countWorkloads(ctx context.Context, c *cluster.Conn) (Workloads, error) {
	var n Workloads
	err := eachWorkload(ctx, c, func(_ string, o *unstructured.Unstructured) {
		s, err := workload.StatusOf(o)
		if err != nil {
			return
		}
		n.Workloads++
		if _, ok := o.GetAnnotations()[standby.ReplicasAnnotation]; ok && s.Desired == 0 {
			n.Parked++
		}
		n.Desired += int64(s.Desired)
		n.Available += int64(min(s.Available, s.Desired))
		if s.Ready() {
			n.Ready++
		}
	})
	return n, err
}

// AvailableOfShared sums the available replicas of c's Deployments and
// StatefulSets (outside the system namespaces) that peer has too, by
// namespace and name: those a copy from peer would write over.
func AvailableOfShared(ctx context.Context, c, peer *cluster.Conn) (int64, error) {
	shared := map[string]bool{}
	if err := eachWorkload(ctx, peer, func(k string, _ *unstructured.Unstructured) { shared[k] = true }); err != nil {
		return 0, err
	}
	var n int64
	err := eachWorkload(ctx, c, func(k string, o *unstructured.Unstructured) {
		if s, err := workload.StatusOf(o); err == nil && shared[k] {
			n += int64(min(s.Available, s.Desired))
		}
	})
	return n, err
}

// eachWorkload calls fn with each Deployment and StatefulSet of c outside
// the system namespaces and tandem's own, and its key ("Kind ns/name"),
// page by page: a caller keeps only what it sums.
func eachWorkload(ctx context.Context, c *cluster.Conn, fn func(key string, o *unstructured.Unstructured)) error {
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		r := inventory.Resource{Group: "apps", Version: "v1", Resource: strings.ToLower(kind) + "s", Kind: kind, Namespaced: true}
		err := inventory.List(ctx, c, r, "", func(o *unstructured.Unstructured) error {
			if !plan.SystemNamespace(o.GetNamespace()) && o.GetNamespace() != standby.MarkerNamespace {
				fn(kind+" "+o.GetNamespace()+"/"+o.GetName(), o)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list %s of %s: %w", r.Resource, c.Context, err)
		}
	}
	return nil
}

// mirrorStatus is the mirror writing into c, nil when none ever ran.
func mirrorStatus(ctx context.Context, c *cluster.Conn) *mirror.State {
	st, err := mirror.Status(ctx, c)
	if err != nil {
		return nil
	}
	return st
}
