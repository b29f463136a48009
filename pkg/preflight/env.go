package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
)

// Env is what every check reads: both connections, the source's resources
// and objects (listed once, shared by all checks) and the target's discovery.
type Env struct {
	Source, Target *cluster.Conn
	Resources      []inventory.Resource
	// Objects are the source's objects of the kinds the checks read one by
	// one (seen.go: heldKinds), as Load keeps them: without what no check
	// reads of them (slim.go: server-written metadata, managedFields,
	// kubectl's last-applied copy), label sets shared between objects:
	// read them, never modify them.
	Objects []*unstructured.Unstructured
	// Seen is what the checks read of every source object, of any kind.
	Seen *Seen
	// TargetServed is the target's live discovery.
	TargetServed *Served
	// Unchecked is what could not be read in the source; the checks ran without it.
	Unchecked []Unchecked
	// Clusters says which clusters these are (the source, then the target).
	Clusters []ClusterInfo

	byGK   map[schema.GroupKind][]*unstructured.Unstructured
	shared *sharer
	// strict: Of panics when asked for a kind Objects does not hold (tests).
	strict bool

	targetNodes struct {
		once  sync.Once
		nodes []corev1.Node
		err   error
	}
}

// TargetNodes lists the target's nodes once for every check that needs them.
func (e *Env) TargetNodes(ctx context.Context) ([]corev1.Node, error) {
	e.targetNodes.once.Do(func() {
		list, err := e.Target.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			e.targetNodes.err = fmt.Errorf("list nodes in the target: %w", err)
			return
		}
		e.targetNodes.nodes = list.Items
	})
	return e.targetNodes.nodes, e.targetNodes.err
}

// Served is one cluster's discovery, by group/version and by kind.
type Served struct {
	GroupVersions map[string]bool                  // "group/version" ("v1" for core)
	Kinds         map[string][]schema.GroupVersion // kind → group/versions serving it, preferred version of each group first
	gvk           map[schema.GroupVersionKind]bool
}

// Serves reports whether the cluster serves kind at gv ("" kind: any kind).
func (s *Served) Serves(gv schema.GroupVersion, kind string) bool {
	if kind == "" {
		return s.GroupVersions[gv.String()]
	}
	return s.gvk[gv.WithKind(kind)]
}

// notListed are kinds whose objects no check needs and that can be many.
func notListed(gk schema.GroupKind) bool {
	switch gk {
	case schema.GroupKind{Kind: "Event"}, schema.GroupKind{Group: "events.k8s.io", Kind: "Event"},
		schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, schema.GroupKind{Kind: "ComponentStatus"}:
		return true
	}
	return false
}

// Load discovers both clusters and lists every source object once. A
// resource that cannot be listed (its CRD deleted since discovery, an
// aggregated API whose backend is down, RBAC) is recorded in Unchecked and the
// rest is read. progress, if not nil, is called after each resource with the
// objects read so far.
func Load(ctx context.Context, source, target *cluster.Conn, progress func(resource string, objects int)) (*Env, error) {
	resources, err := inventory.DiscoverCopy(ctx, source, target)
	if err != nil {
		return nil, err
	}
	served, err := ReadServed(target)
	if err != nil {
		return nil, err
	}
	env := newEnv(source, target, resources, served)
	env.Unchecked, env.Clusters = undiscovered(source), []ClusterInfo{describe(ctx, source), describe(ctx, target)}
	seen := map[schema.GroupKind]bool{}
	for _, r := range servicesFirst(resources, inventory.Resource.GroupKind) {
		if seen[r.GroupKind()] || notListed(r.GroupKind()) {
			continue
		}
		seen[r.GroupKind()] = true
		err := inventory.List(ctx, source, r, "", func(o *unstructured.Unstructured) error {
			env.add(o)
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("source %s: %w", source.Context, err)
			}
			env.Unchecked = append(env.Unchecked, Unchecked{Resource: r.String(), Reason: firstLine(err.Error())})
		}
		if progress != nil {
			progress(r.String(), env.Seen.Objects)
		}
	}
	env.Unchecked = append(env.Unchecked, unavailable(env.Of("apiregistration.k8s.io", "APIService"), env.Unchecked)...)
	return env, nil
}

// unavailable names the group/versions of APIServices that are not Available
// and that discovery did not already report: aggregated discovery may leave
// such a group out without an error, and its resources then look absent.
func unavailable(apiservices []*unstructured.Unstructured, known []Unchecked) []Unchecked {
	seen := map[string]bool{}
	for _, u := range known {
		seen[u.Resource] = true
	}
	var out []Unchecked
	for _, o := range apiservices {
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		version, _, _ := unstructured.NestedString(o.Object, "spec", "version")
		if inventory.MetricsGroup(group) {
			continue // readings computed on request: nothing there to check (inventory.Undiscovered)
		}
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] != "Available" || m["status"] == "True" {
				continue
			}
			res := "every resource of " + schema.GroupVersion{Group: group, Version: version}.String()
			if !seen[res] {
				seen[res] = true
				reason, _ := m["message"].(string)
				out = append(out, Unchecked{Resource: res, Reason: "APIService " + o.GetName() + " is not available: " + firstLine(reason)})
			}
		}
	}
	return out
}

// undiscovered names the source's group/versions whose discovery failed.
func undiscovered(conn *cluster.Conn) []Unchecked {
	var out []Unchecked
	for gv, e := range inventory.Undiscovered(conn) {
		out = append(out, Unchecked{Resource: "every resource of " + gv.String(), Reason: "discovery failed: " + firstLine(e.Error())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out
}

// describe reads a cluster's version and identity for the report; what
// cannot be read is left empty (connectPair has already reached both).
func describe(ctx context.Context, c *cluster.Conn) ClusterInfo {
	info := ClusterInfo{Context: c.Context, Server: c.Server}
	if v, err := c.Check(ctx); err == nil {
		info.Version = v.GitVersion
	}
	info.Identity, _ = c.Identity(ctx)
	return info
}

func newEnv(source, target *cluster.Conn, resources []inventory.Resource, served *Served) *Env {
	return &Env{Source: source, Target: target, Resources: resources, TargetServed: served, Seen: newSeen(),
		byGK: map[schema.GroupKind][]*unstructured.Unstructured{}, shared: newSharer()}
}

// add reads o, a source object as listed, for every check (Seen), and keeps
// it, slim, when its kind is one the checks read one by one.
func (e *Env) add(o *unstructured.Unstructured) {
	keep := holds(o)
	e.Seen.observe(o, e.TargetServed, keep)
	if !keep {
		return
	}
	// A header of its own: o may be an element of its list page's items,
	// which would keep the whole page (the objects not kept among them).
	o = &unstructured.Unstructured{Object: o.Object}
	slim(o, e.shared)
	gk := o.GroupVersionKind().GroupKind()
	e.Objects = append(e.Objects, o)
	e.byGK[gk] = append(e.byGK[gk], o)
}

// servicesFirst is items with core Services first: the Endpoints a
// Service's selector makes are told apart from those a sync copies by the
// Services seen before them.
func servicesFirst[T any](items []T, gk func(T) schema.GroupKind) []T {
	var first, rest []T
	for _, it := range items {
		if gk(it) == (schema.GroupKind{Kind: "Service"}) {
			first = append(first, it)
		} else {
			rest = append(rest, it)
		}
	}
	return append(first, rest...)
}

// NewEnv builds an Env from objects already read (tests, benchmarks), as
// Load does from the objects it lists; the objects are changed (slim, or
// sanitized when not kept).
func NewEnv(source, target *cluster.Conn, resources []inventory.Resource, objects []*unstructured.Unstructured, served *Served) *Env {
	env := newEnv(source, target, resources, served)
	for _, o := range servicesFirst(objects, func(o *unstructured.Unstructured) schema.GroupKind { return o.GroupVersionKind().GroupKind() }) {
		env.add(o)
	}
	return env
}

// Of returns the source objects of a kind, one the checks read one by one
// (heldKinds; of Secrets, Helm releases). How many objects of any kind
// there are is Seen.Count.
func (e *Env) Of(group, kind string) []*unstructured.Unstructured {
	gk := schema.GroupKind{Group: group, Kind: kind}
	if e.strict && !heldKinds[gk] && gk != (schema.GroupKind{Kind: "Secret"}) {
		panic(fmt.Sprintf("preflight: a check reads %s one by one, which Env does not hold: add it to heldKinds", gk))
	}
	return e.byGK[gk]
}

// ReadServed reads a cluster's discovery. Groups that fail to answer are left out.
func ReadServed(conn *cluster.Conn) (*Served, error) {
	groups, lists, err := conn.Discovery.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovery of %s: %w", conn.Context, err)
	}
	preferred := map[string]string{}
	for _, g := range groups {
		preferred[g.Name] = g.PreferredVersion.Version
	}
	s := NewServed()
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			s.Add(gv, r.Kind, gv.Version == preferred[gv.Group])
		}
	}
	return s, nil
}

// NewServed returns an empty Served; fill it with Add.
func NewServed() *Served {
	return &Served{GroupVersions: map[string]bool{}, Kinds: map[string][]schema.GroupVersion{}, gvk: map[schema.GroupVersionKind]bool{}}
}

// Add records that gv serves kind; preferred versions go first in Kinds.
func (s *Served) Add(gv schema.GroupVersion, kind string, preferred bool) {
	s.GroupVersions[gv.String()] = true
	if s.gvk[gv.WithKind(kind)] {
		return
	}
	s.gvk[gv.WithKind(kind)] = true
	if preferred {
		s.Kinds[kind] = append([]schema.GroupVersion{gv}, s.Kinds[kind]...)
	} else {
		s.Kinds[kind] = append(s.Kinds[kind], gv)
	}
}

// Ref names an object the way findings do: Kind[.group] [namespace/]name.
func Ref(o *unstructured.Unstructured) string {
	return ref(o.GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName())
}

func ref(gk schema.GroupKind, namespace, name string) string {
	k := gk.Kind
	if gk.Group != "" {
		k += "." + gk.Group
	}
	if namespace != "" {
		return k + " " + namespace + "/" + name
	}
	return k + " " + name
}
