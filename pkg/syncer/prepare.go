package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
)

// Request is what to copy from where to where.
type Request struct {
	Source   *cluster.Conn
	Target   *cluster.Conn // nil for export: versions are the source's preferred ones, nothing is compared
	Selector plan.Selector
	// IncludePVCs copies PersistentVolumeClaims (off by default: volumes move with `tandem handoff`).
	IncludePVCs bool
	Force       bool
	// Standby writes the standby form (replicas 0, CronJobs suspended, DaemonSets parked; see pkg/standby).
	Standby bool
	// StandbyKinds are the custom kinds the standby form holds at 0 (see
	// standby.DiscoverScaleKinds); Prepare finds them in the source when
	// Standby is set and they are nil.
	StandbyKinds standby.ScaleKinds
	// OnDisk holds the namespaced objects on disk between reading and
	// writing them (spill.go): a sync's memory then grows with the number
	// of objects, not their bytes; the plan's steps read them back from
	// there (plan.Item.Full). The caller closes the Prepared.
	OnDisk bool
	// Log hears how long each step before the first write took (info
	// level); nil: nothing is logged.
	Log *slog.Logger
	// Early, when set, is given the start of the plan that does not wait
	// for the namespaced objects: the objects of the cluster-scoped waves
	// before the namespaced ones (CRDs, Namespaces, classes, cluster RBAC)
	// that the selection picks from the cluster-scoped objects alone — all
	// of them when nothing narrows the selection, the named Namespaces when
	// --namespace does. Early runs (it applies them) while Prepare reads the
	// namespaced objects; Prepare returns once it is done, with a plan
	// without those objects, and Early's error as its own.
	Early func(context.Context, plan.Plan) error
	// Stream, when set, gives the Sink that takes the plan as it is made
	// (apply.Stream writes it, ArchiveWriter archives it): each object goes
	// to it once it is sanitized and decided, so the writes begin while
	// the rest is still being prepared, no step is held once written, and
	// Prepared.Plan stays empty. Prepare asks for it once the source is
	// read (bad input found before then leaves nothing written) and
	// returns once it has taken everything, with its error as Prepare's
	// own.
	Stream func() (Sink, error)
}

// Sink takes the plan's steps as Prepare decides them (Request.Stream):
// apply.Stream writes them into the target, ArchiveWriter into an archive.
// Expect and WantOwners are called before Start, for each object coming;
// then Add (its step) or Drop (nothing comes of it) for each, from any
// goroutine; Wait returns once every step is taken care of.
type Sink interface {
	Expect(gk schema.GroupKind)
	WantOwners(namespace string, owners []metav1.OwnerReference)
	Start(ctx context.Context)
	Add(s plan.Step)
	Drop(gk schema.GroupKind)
	Wait() error
	// Done is closed once the sink takes no more steps: all came, or it
	// stopped on an error (Wait returns it); the steps not decided yet
	// need not be.
	Done() <-chan struct{}
}

// stopped says whether sink has stopped taking steps (nil: it has not).
func stopped(sink Sink) bool {
	if sink == nil {
		return false
	}
	select {
	case <-sink.Done():
		return true
	default:
		return false
	}
}

// Prepared is the pipeline's output before anything is written.
type Prepared struct {
	Resources []inventory.Resource
	Plan      plan.Plan
	// Unshared are selected objects of resources with no version served by both clusters.
	Unshared []Unshared
	// Warnings are resources that could not be read; the rest went on.
	Warnings []string
	// Unread is what the source had that could not be read (forbidden, or
	// failing past its retries) and so is not copied: the copy is
	// incomplete. Each has its warning too. A kind the kind filters leave
	// out is a warning only, as is an API group that could not be
	// discovered (an aggregated API keeps its objects behind its own
	// server, not in the cluster).
	Unread []Unread
	// Joins are the copies that join their weighted DNS set after the apply.
	Joins []DNSJoin
	// Needed are the objects outside those Changed was given that the
	// picked ones need, with why (plan.Reach).
	Needed map[plan.ObjectKey]string
	// Held are the objects a standby holds back instead of writing them
	// (sanitize.Decision.Held: an APIService served from a parked
	// namespace), sanitized, for standby.Hold.
	Held []*unstructured.Unstructured
	// Unheld are the names of the APIServices a copy in standby form
	// writes (their backends run in the standby): for standby.HoldBack,
	// which drops them from the stash where an earlier copy held them.
	Unheld []string
	// spill holds the namespaced objects on disk until Close.
	spill *spill
}

// Unread is a resource of the source (in one namespace, "" for all) or
// one object of it (Name) that could not be read.
type Unread struct {
	Resource        inventory.Resource
	Namespace, Name string
	Warning         string
}

// unread notes what of the source could not be read, as warnings too;
// what the kind filters leave out is not copied anyway.
func (p *Prepared) unread(sel plan.Selector, us []Unread) {
	for _, u := range us {
		p.Warnings = append(p.Warnings, u.Warning)
		if sel.KindAllowed(u.Resource.GroupKind()) {
			p.Unread = append(p.Unread, u)
		}
	}
}

// Unshared is one object that cannot be copied as it is.
type Unshared struct {
	Object *unstructured.Unstructured
	Fix    string
}

// ResolveKinds turns user-typed kinds ("Deployment", "deployments.apps",
// "ingress.networking.k8s.io") into GroupKinds of resources the source serves.
func ResolveKinds(resources []inventory.Resource, names []string, flag string) ([]schema.GroupKind, error) {
	var out []schema.GroupKind
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		name, group, hasGroup := strings.Cut(n, ".")
		var found []schema.GroupKind
		for _, r := range resources {
			if hasGroup && !strings.EqualFold(r.Group, group) {
				continue
			}
			if strings.EqualFold(r.Kind, name) || strings.EqualFold(r.Resource, name) {
				found = append(found, r.GroupKind())
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%w: unknown kind %q in %s: the source serves no such resource (kind or kind.group, e.g. Deployment or ingresses.networking.k8s.io)", cluster.ErrBadInput, n, flag)
		}
		if !hasGroup && len(found) > 1 {
			// An unqualified name prefers the core group, as kubectl does.
			for _, gk := range found {
				if gk.Group == "" {
					found = []schema.GroupKind{gk}
					break
				}
			}
		}
		out = append(out, found...)
	}
	return out, nil
}

// Prepare reads the source, selects, sanitizes, reads the target's current
// copies and builds the plan.
func Prepare(ctx context.Context, req Request, resources []inventory.Resource) (_ *Prepared, err error) {
	p := &Prepared{Resources: resources}
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	step := time.Now()
	took := func() time.Duration { d := time.Since(step); step = time.Now(); return d.Round(time.Millisecond) }
	defer func() {
		if err != nil {
			p.Close() // a plan that is not returned lets go of its spill
		}
	}()
	for gv, e := range inventory.Undiscovered(req.Source) {
		// Read-only APIs (metrics) have nothing to copy, but discovery cannot say what this one holds.
		p.Warnings = append(p.Warnings, fmt.Sprintf("source %s: %s could not be discovered (%s): whatever it serves is not copied",
			req.Source.Context, gv, strings.SplitN(e.Error(), "\n", 2)[0]))
	}
	slices.Sort(p.Warnings)
	if req.Standby && req.StandbyKinds == nil {
		kinds, warnings, err := standby.DiscoverScaleKinds(ctx, req.Source)
		if err != nil {
			return nil, err
		}
		req.StandbyKinds, p.Warnings = kinds, append(p.Warnings, warnings...)
	}
	byGK := map[schema.GroupKind]inventory.Resource{}
	var listed []inventory.Resource
	for _, r := range resources {
		if _, dup := byGK[r.GroupKind()]; dup {
			continue // the same kind served under two resources (rare aliases): read once
		}
		byGK[r.GroupKind()] = r
		if alwaysGenerated(r.GroupKind()) || r.ReadOnly {
			continue
		}
		listed = append(listed, r)
	}
	var sp *spill
	if req.OnDisk {
		if sp, err = newSpill(); err != nil {
			return nil, err
		}
		p.spill = sp
	}
	scope, err := listScope(ctx, req)
	if err != nil {
		return nil, err
	}
	// Cluster-scoped objects first: few, and all that the first waves need.
	var clusterScoped, namespaced []inventory.Resource
	for _, r := range listed {
		if r.Namespaced {
			namespaced = append(namespaced, r)
		} else {
			clusterScoped = append(clusterScoped, r)
		}
	}
	raw, unread, err := listSource(ctx, req, clusterScoped, scope, sp)
	if err != nil {
		return nil, err
	}
	p.unread(req.Selector, unread)
	var early map[plan.ObjectKey]bool
	waitEarly := func() error { return nil }
	if req.Early != nil {
		var ep plan.Plan
		if ep, early, err = prepareEarly(ctx, req, byGK, raw); err != nil {
			return nil, err
		}
		log.Info("the cluster-scoped start of the plan goes ahead", "objects", len(early), "took", took())
		ectx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- req.Early(ectx, ep) }()
		var once sync.Once
		var earlyErr error
		waitEarly = func() error {
			once.Do(func() { earlyErr = <-done })
			return earlyErr
		}
		defer func() {
			if err != nil {
				cancel() // nothing more is written for a plan that failed
			}
			if e := waitEarly(); e != nil && err == nil {
				err = e
			}
			cancel()
		}()
	}
	rest, unread, err := listSource(ctx, req, namespaced, scope, sp)
	if err != nil {
		return nil, err
	}
	raw = append(raw, rest...)
	p.unread(req.Selector, unread)
	log.Info("read the source", "context", req.Source.Context, "objects", len(raw), "took", took())
	picked := pick(raw, req.Selector)
	if scope != nil {
		if raw, picked, unread, err = readOutside(ctx, req, byGK, raw, picked, sp); err != nil {
			return nil, err
		}
		p.unread(req.Selector, unread)
	}
	log.Info("selected", "took", took())

	sctx, err := sanitizeContext(ctx, req, raw)
	if err != nil {
		return nil, err
	}
	clusterIPs := sourceClusterIPs(raw) // read before sanitizing clears them
	var st Sink
	// stopStream ends the stream's writes: a failed object stops the
	// preparing, and the objects the stream waits for would never come.
	stopStream := func() {}
	if req.Stream != nil {
		if st, err = req.Stream(); err != nil {
			return nil, err
		}
		for _, o := range raw {
			if key := plan.KeyOf(o); !early[key] {
				if _, ok := picked.picked(o, key); ok {
					st.WantOwners(o.GetNamespace(), o.GetOwnerReferences())
				}
			}
		}
	}
	// One job per picked object; the sketches go as they are taken.
	jobs := newJobs(raw, picked, early, true)
	popts := plan.Options{Force: req.Force}
	b := plan.NewBuilder(popts)
	for _, j := range jobs {
		gk := schema.GroupKind{Group: j.key.Group, Kind: j.key.Kind}
		if st != nil {
			st.Expect(gk)
		} else {
			b.Expect(gk)
		}
	}
	if req.Target != nil {
		if err := listTarget(ctx, req, byGK, jobs, scope != nil); err != nil {
			return nil, err
		}
		log.Info("read the target", "context", req.Target.Context, "took", took())
	}
	if st != nil {
		// The waves are written in order: their objects are prepared in
		// that order too (the stream holds only so many of later waves),
		// as newJobs ordered them.
		if err := waitEarly(); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithCancel(ctx)
		stopStream = cancel
		st.Start(wctx)
		log.Info("writing as the objects are prepared")
		defer func() {
			if err != nil {
				cancel() // nothing more is written for a plan that failed
			}
			if e := st.Wait(); e != nil && err == nil {
				err = e
			}
			cancel()
		}()
	}
	pr := preparer{req: req, byGK: byGK, sctx: sctx, clusterIPs: clusterIPs, sp: sp}
	if req.Target != nil {
		if pr.ending, err = endingNamespaces(ctx, req.Target); err != nil {
			return nil, err
		}
	}
	if req.Standby {
		exempt, err := standby.ExemptNamespaces(ctx, req.Source)
		if err != nil {
			return nil, err
		}
		pr.exempt = func(ns string) bool { return exempt[ns] }
	}
	// Each object is read back, sanitized, hashed and written back on its
	// own, as many at once as there are CPUs, and goes straight into the
	// plan: no list of items is held beside the plan's steps.
	var mu sync.Mutex
	items := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	// Jobs are taken from the end, and what is left is copied into a
	// smaller array now and then: the jobs shrink as the plan's steps grow,
	// instead of the two being held whole at once.
	for len(jobs) > 0 {
		if gctx.Err() != nil || stopped(st) {
			break
		}
		j := jobs[len(jobs)-1]
		jobs = jobs[:len(jobs)-1]
		if cap(jobs) >= 2*len(jobs)+shrinkJobsAt {
			jobs = slices.Clone(jobs)
		}
		g.Go(func() error {
			out, err := pr.one(j)
			if err != nil {
				stopStream()
				return err
			}
			var step *plan.Step
			if st != nil && out.item != nil {
				s, _ := plan.Decide(*out.item, popts)
				step = &s
			}
			mu.Lock()
			switch {
			case out.unshared != nil:
				p.Unshared = append(p.Unshared, *out.unshared)
			case out.item != nil:
				p.Joins = append(p.Joins, out.joins...)
				if out.held != nil {
					p.Held = append(p.Held, out.held)
				}
				if out.unheld != "" {
					p.Unheld = append(p.Unheld, out.unheld)
				}
				if st == nil {
					b.Add(*out.item)
				}
				items++
			}
			mu.Unlock()
			switch {
			case step != nil:
				st.Add(*step) // may wait for the writes to catch up: not under mu
			case st != nil:
				st.Drop(schema.GroupKind{Group: j.key.Group, Kind: j.key.Kind})
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// By kind, namespace and name: the same order whichever worker finished first.
	slices.SortFunc(p.Unshared, func(a, b Unshared) int { return compareRefs(plan.RefOf(a.Object), plan.RefOf(b.Object)) })
	slices.SortFunc(p.Joins, compareJoins)
	log.Info("sanitized", "objects", items, "took", took())
	p.Plan = b.Plan()
	log.Info("planned", "took", took())
	return p, nil
}

// Close lets go of what Prepare held on disk; the plan cannot be applied
// afterwards. It may be called more than once.
func (p *Prepared) Close() error {
	if p == nil || p.spill == nil {
		return nil
	}
	err := p.spill.Close()
	p.spill = nil
	return err
}

// alwaysGenerated are kinds not worth even listing: every object is made by the cluster.
func alwaysGenerated(gk schema.GroupKind) bool {
	switch gk {
	case schema.GroupKind{Kind: "Event"}, schema.GroupKind{Group: "events.k8s.io", Kind: "Event"},
		schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, schema.GroupKind{Kind: "Node"},
		schema.GroupKind{Kind: "ComponentStatus"}:
		return true
	}
	return false
}

// UnheldWritten are the names of Unheld whose APIService is in the target
// as the source has it after results (created, updated or unchanged): a
// stash may let go of those only. One the apply did not write (its
// backend not ready) stays held, or activate would have nothing to write
// back.
func (p *Prepared) UnheldWritten(results []apply.Result) []string {
	if len(p.Unheld) == 0 {
		return nil
	}
	landed := map[string]bool{}
	for _, r := range results {
		if r.Kind == "APIService" && (r.Wrote() || r.Status == apply.Unchanged) {
			landed[r.Name] = true
		}
	}
	var out []string
	for _, n := range p.Unheld {
		if landed[n] {
			out = append(out, n)
		}
	}
	return out
}
