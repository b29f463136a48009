package standby

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
)

// ScaleKinds are the workload kinds, beyond the built-in Deployment,
// StatefulSet and ReplicaSet, that a standby holds at 0: custom resources
// with a /scale subresource whose replicas are spec.replicas (an Argo
// Rollout, a KEDA-free operator's own Deployment-like kind…). Each kind maps
// to the resource that serves it.
type ScaleKinds map[schema.GroupKind]schema.GroupVersionResource

// Scaled reports whether gk is a kind with spec.replicas that standby sets to 0.
func (k ScaleKinds) Scaled(gk schema.GroupKind) bool {
	if Scaled(gk) {
		return true
	}
	_, ok := k[gk]
	return ok
}

// resources lists the kinds' resources, sorted, for a policy's rules.
func (k ScaleKinds) resources() []schema.GroupVersionResource {
	var out []schema.GroupVersionResource
	for _, gvr := range k {
		out = append(out, gvr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// DiscoverScaleKinds finds, by discovery, every resource of c with a /scale
// subresource outside the built-in apps kinds, and keeps those whose
// CustomResourceDefinition says the replicas are at .spec.replicas. Each
// kind it cannot hold (replicas elsewhere, an aggregated API with no CRD to
// read) comes back as a warning naming it and c: its pods would run in a
// standby (a copy and the target's policy each find it in their cluster);
// one with replicas elsewhere only where c holds objects of it.
func DiscoverScaleKinds(ctx context.Context, c *cluster.Conn) (ScaleKinds, []string, error) {
	_, lists, err := c.Discovery.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, nil, fmt.Errorf("discover %s: %w", c.Context, err)
	}
	kinds := ScaleKinds{}
	var warnings []string
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil || gv.Group == "apps" || gv.Group == "" {
			continue
		}
		kindOf := map[string]string{}
		for _, r := range list.APIResources {
			kindOf[r.Name] = r.Kind
		}
		for _, r := range list.APIResources {
			name, ok := strings.CutSuffix(r.Name, "/scale")
			if !ok || kindOf[name] == "" {
				continue
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: kindOf[name]}
			if _, seen := kinds[gk]; seen {
				continue
			}
			version, path, err := scaleVersion(ctx, c, name, gv)
			switch {
			case err != nil:
				warnings = append(warnings, fmt.Sprintf("%s: %s has a /scale subresource but %v: the standby does not hold it", c.Context, gk, err))
			case path != ".spec.replicas":
				if none, err := noObjects(ctx, c, gv.WithResource(name)); err == nil && none {
					continue // nothing of it to run: nothing to say
				}
				warnings = append(warnings, fmt.Sprintf("%s: %s keeps its replicas at %s, not .spec.replicas: the standby cannot hold it at 0 (its controller, parked, runs none of it; left running, in a namespace labelled %s, it does)", c.Context, gk, path, ExemptLabel))
			default:
				kinds[gk] = schema.GroupVersion{Group: gv.Group, Version: version}.WithResource(name)
			}
		}
	}
	sort.Strings(warnings)
	return kinds, slices.Compact(warnings), nil
}

// noObjects says c holds no object of gvr (one metadata list of one item).
func noObjects(ctx context.Context, c *cluster.Conn, gvr schema.GroupVersionResource) (bool, error) {
	list, err := c.Metadata.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return false, err
	}
	return len(list.Items) == 0, nil
}

// discoverScaleKinds is DiscoverScaleKinds telling warn (may be nil) each warning.
func discoverScaleKinds(ctx context.Context, c *cluster.Conn, warn func(string)) (ScaleKinds, error) {
	kinds, warnings, err := DiscoverScaleKinds(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		if warn != nil {
			warn(w)
		}
	}
	return kinds, nil
}

// scaleVersion reads the CRD of resource (found in gv) for the version a
// standby reads and writes its objects at, and that version's scale
// subresource's specReplicasPath: the version the CRD stores, when it is
// served with a scale subresource, else gv's. At the stored version the
// apiserver converts nothing that was stored at it (objects stored at an
// earlier storage version, still in status.storedVersions, are converted
// as they are read): a CRD converted by its operator's webhook, which is
// parked in a standby, is still read and written there.
func scaleVersion(ctx context.Context, c *cluster.Conn, resource string, gv schema.GroupVersion) (string, string, error) {
	crd, err := c.Dynamic.Resource(cluster.CRDs).Get(ctx, resource+"."+gv.Group, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", "", fmt.Errorf("no CustomResourceDefinition %s.%s says where its replicas are", resource, gv.Group)
	}
	if err != nil {
		return "", "", fmt.Errorf("its CustomResourceDefinition cannot be read: %w", err)
	}
	return scaleVersionOf(inventory.ReadCRD(crd), gv.Version)
}

// scaleVersionOf is scaleVersion's choice from crd, found served at version.
func scaleVersionOf(crd inventory.CRD, version string) (string, string, error) {
	if stored, ok := crd.Version(crd.Storage); ok && stored.Served && stored.Scaled {
		return stored.Name, stored.SpecReplicasPath, nil
	}
	found, ok := crd.Version(version)
	if !ok {
		return "", "", fmt.Errorf("its CustomResourceDefinition has no version %s", version)
	}
	return version, found.SpecReplicasPath, nil
}
