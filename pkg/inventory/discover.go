package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// Resource is one listable resource of the source and how it is exchanged.
type Resource struct {
	Group      string   `json:"group"`
	Resource   string   `json:"resource"`
	Kind       string   `json:"kind"`
	Namespaced bool     `json:"namespaced"`
	Version    string   `json:"version"`        // version read from the source and written to the target
	Source     []string `json:"sourceVersions"` // versions the source serves, preferred first
	Target     []string `json:"targetVersions"` // versions the target serves, preferred first
	// Pending: the target does not serve the resource yet, but a CRD the
	// sync creates will; the version is checked again after the CRD wave.
	Pending bool `json:"pending,omitempty"`
	// Unshared: no version is served by both clusters; the objects cannot be copied as they are.
	Unshared bool `json:"unshared,omitempty"`
	// ReadOnly: the source serves it without create or patch (metrics, reviews…): nothing to copy.
	ReadOnly bool `json:"readOnly,omitempty"`
}

// GVR is the resource at its exchange version.
func (r Resource) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
}

// GroupKind is the resource's group and kind.
func (r Resource) GroupKind() schema.GroupKind { return schema.GroupKind{Group: r.Group, Kind: r.Kind} }

// GroupResource is the resource's group and plural name.
func (r Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Resource}
}

// String is kind.group, the form users type.
func (r Resource) String() string {
	if r.Group == "" {
		return r.Kind
	}
	return r.Kind + "." + r.Group
}

// served is one cluster's discovery: group/resource → versions (preferred first).
type served struct {
	versions   map[schema.GroupResource][]string
	kinds      map[schema.GroupResource]string
	namespaced map[schema.GroupResource]bool
	readOnly   map[schema.GroupResource]bool
	order      []schema.GroupResource
}

// servedResources reads a cluster's discovery. Groups that fail to answer
// (e.g. an aggregated API whose backend is down) are left out, not fatal.
func servedResources(conn *cluster.Conn) (*served, error) {
	groups, lists, err := conn.Discovery.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovery of %s: %w", conn.Context, err)
	}
	preferred := map[string]string{}
	groupOrder := map[string][]string{}
	for _, g := range groups {
		preferred[g.Name] = g.PreferredVersion.Version
		for _, v := range g.Versions {
			groupOrder[g.Name] = append(groupOrder[g.Name], v.Version)
		}
	}
	s := &served{versions: map[schema.GroupResource][]string{}, kinds: map[schema.GroupResource]string{}, namespaced: map[schema.GroupResource]bool{}, readOnly: map[schema.GroupResource]bool{}}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerb(r, "list") {
				continue
			}
			gr := schema.GroupResource{Group: gv.Group, Resource: r.Name}
			if _, seen := s.versions[gr]; !seen {
				s.order = append(s.order, gr)
			}
			s.versions[gr] = append(s.versions[gr], gv.Version)
			if gv.Version == preferred[gv.Group] || s.kinds[gr] == "" {
				s.kinds[gr] = r.Kind
				s.namespaced[gr] = r.Namespaced
				s.readOnly[gr] = !hasVerb(r, "create") || !hasVerb(r, "patch")
			}
		}
	}
	// Order each resource's versions the way the group lists them (preferred first).
	for gr, vs := range s.versions {
		order := groupOrder[gr.Group]
		rank := func(v string) int {
			if v == preferred[gr.Group] {
				return -1
			}
			for i, o := range order {
				if o == v {
					return i
				}
			}
			return len(order)
		}
		sort.SliceStable(vs, func(i, j int) bool { return rank(vs[i]) < rank(vs[j]) })
	}
	return s, nil
}

// Served is every listable resource conn serves, each at its preferred
// version (Source and Target left empty): what a namespace of that cluster
// can hold. Groups whose discovery fails are left out (Undiscovered names
// them).
func Served(conn *cluster.Conn) ([]Resource, error) {
	s, err := servedResources(conn)
	if err != nil {
		return nil, err
	}
	out := make([]Resource, 0, len(s.order))
	for _, gr := range s.order {
		out = append(out, Resource{Group: gr.Group, Resource: gr.Resource, Kind: s.kinds[gr], Namespaced: s.namespaced[gr],
			Version: s.versions[gr][0], ReadOnly: s.readOnly[gr]})
	}
	return out, nil
}

// Undiscovered are the group/versions of conn whose discovery failed (an
// aggregated API whose backend is down), each with its error: discovery
// leaves their resources out, so nothing read from them would say so. The
// resource-metrics APIs are left out: they serve only readings computed on
// request (kubectl top, autoscalers), never an object to copy or check,
// and a metrics-server that is down is common.
func Undiscovered(conn *cluster.Conn) map[schema.GroupVersion]error {
	_, _, err := conn.Discovery.ServerGroupsAndResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	if !errors.As(err, &failed) {
		return nil
	}
	out := map[schema.GroupVersion]error{}
	for gv, e := range failed.Groups {
		if !MetricsGroup(gv.Group) {
			out[gv] = e
		}
	}
	return out
}

// MetricsGroup says whether group is one of the Kubernetes metrics APIs
// (resource, custom, external): read-only, computed on request.
func MetricsGroup(group string) bool {
	switch group {
	case "metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io":
		return true
	}
	return false
}

func hasVerb(r metav1.APIResource, verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// CRDResource is the CustomResourceDefinitions' resource.
var CRDResource = Resource{Group: cluster.CRDs.Group, Version: cluster.CRDs.Version, Resource: cluster.CRDs.Resource, Kind: "CustomResourceDefinition"}

// DiscoverCopy finds the resources a copy from source to target exchanges:
// Discover, with the custom kinds of the source's CRDs pending in the
// target (their CRDs come over in the first wave, so the target serves
// them by the time their objects are written), and each kind a CRD
// converts through a webhook exchanged at the version the target's CRD
// stores (storedVersion), unless tandem wrote the target's copies at
// another (writtenAt). A nil target is the source.
func DiscoverCopy(ctx context.Context, source, target *cluster.Conn) ([]Resource, error) {
	// Both clusters' CRDs at once: a cluster's are many, and large.
	var srcCRDs, dstCRDs map[schema.GroupKind]CRD
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { srcCRDs, err = readCRDs(gctx, source); return err })
	if target != nil {
		g.Go(func() (err error) { dstCRDs, err = readCRDs(gctx, target); return err })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if target == nil {
		target, dstCRDs = source, srcCRDs
	}
	crdKinds := map[schema.GroupKind]bool{}
	for gk := range srcCRDs {
		crdKinds[gk] = true
	}
	resources, err := Discover(ctx, source, target, crdKinds)
	if err != nil {
		return nil, err
	}
	for i, r := range resources {
		crd, ok := dstCRDs[r.GroupKind()]
		if !ok {
			crd = srcCRDs[r.GroupKind()] // pending: the source's comes over
		}
		v := storedVersion(r, crd)
		if v == r.Version {
			continue
		}
		if !r.Pending {
			// Copies an earlier run wrote stay at their version: written
			// at another, each would need the webhook after all (the
			// apiserver converts the object to every version its
			// managedFields entries name), and its hash would change.
			if at, err := writtenAt(ctx, target, r, v); err != nil {
				return nil, err
			} else if at != "" {
				v = at
			}
		}
		resources[i].Version = v
	}
	return resources, nil
}

// writtenAt is the version at which tandem wrote the target's copies of
// r, as their managedFields entries of tandem's say ("" when none of the
// first page listed has one, or r is not served at that version): the
// copies are listed at version, whose objects the apiserver need not
// convert (their metadata alone).
func writtenAt(ctx context.Context, target *cluster.Conn, r Resource, version string) (string, error) {
	if !slices.Contains(r.Target, version) {
		return "", nil
	}
	gvr := r.GVR()
	gvr.Version = version
	var list *metav1.PartialObjectMetadataList
	_, err := cluster.Retry(ctx, cluster.Backoff, cluster.Retryable, func() error {
		var err error
		list, err = target.Metadata.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 100})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("list %s in %s: %w", r, target.Context, err)
	}
	for _, o := range list.Items {
		for _, m := range o.ManagedFields {
			if m.Manager != plan.FieldManager && m.Manager != plan.CreateManager {
				continue
			}
			if gv, err := schema.ParseGroupVersion(m.APIVersion); err == nil && slices.Contains(r.Source, gv.Version) && slices.Contains(r.Target, gv.Version) {
				return gv.Version, nil
			}
		}
	}
	return "", nil
}

// readCRDs reads conn's CRDs, by the kind each defines.
func readCRDs(ctx context.Context, conn *cluster.Conn) (map[schema.GroupKind]CRD, error) {
	out := map[schema.GroupKind]CRD{}
	err := List(ctx, conn, CRDResource, "", func(o *unstructured.Unstructured) error {
		c := ReadCRD(o)
		out[c.GroupKind] = c
		return nil
	})
	return out, err
}

// storedVersion is the version r is exchanged at when crd, its CRD where
// it is written, converts through a webhook: the version that CRD stores,
// when both clusters serve it (or the target will: r is pending). Written
// at another version, each object needs the webhook's backend, which in a
// standby is parked (no pods) and in a new target may not run yet; an
// object stored at the version it is read or written at is not sent to
// the webhook (one stored at an older version still is, when read, and
// so is one whose managedFields name another version, when written:
// writtenAt). Otherwise r.Version stays.
func storedVersion(r Resource, crd CRD) string {
	if !crd.WebhookConversion || crd.Storage == "" || crd.Storage == r.Version || r.Unshared ||
		!slices.Contains(r.Source, crd.Storage) || (!r.Pending && !slices.Contains(r.Target, crd.Storage)) {
		return r.Version
	}
	return crd.Storage
}

// Discover lists every resource the source serves with list, and for each
// picks the version to exchange: the target's preferred version if the source
// serves it, else the first target version the source serves. pendingGroups
// are API groups that CRDs in the source define: a resource of such a group
// that the target lacks is Pending (its CRD comes over first).
func Discover(ctx context.Context, source, target *cluster.Conn, pendingGroups map[schema.GroupKind]bool) ([]Resource, error) {
	src, err := servedResources(source)
	if err != nil {
		return nil, err
	}
	dst, err := servedResources(target)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, gr := range src.order {
		r := Resource{Group: gr.Group, Resource: gr.Resource, Kind: src.kinds[gr], Namespaced: src.namespaced[gr],
			Source: src.versions[gr], Target: dst.versions[gr], ReadOnly: src.readOnly[gr]}
		r.Version = pickVersion(r.Source, r.Target)
		if r.Version == "" {
			if len(r.Target) == 0 && pendingGroups[r.GroupKind()] {
				r.Pending = true
				r.Version = r.Source[0]
			} else {
				r.Unshared = true
				r.Version = r.Source[0]
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// pickVersion returns the first version in the target's order that the source serves.
func pickVersion(source, target []string) string {
	for _, t := range target {
		for _, s := range source {
			if s == t {
				return t
			}
		}
	}
	return ""
}

// Fix says what to do about a resource without a shared version.
func (r Resource) Fix() string {
	if len(r.Target) == 0 {
		return fmt.Sprintf("the target does not serve %s at all: install the CRD/add-on that provides it in the target, or exclude it with --exclude-kinds %s", r, r)
	}
	return fmt.Sprintf("the source serves %s only at %s and the target only at %s: upgrade the objects in the source to a version the target serves, or exclude it with --exclude-kinds %s",
		r, strings.Join(r.Source, ","), strings.Join(r.Target, ","), r)
}
