package drain

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// gatewayGroup is the Gateway API's group; the typed client does not know it.
const gatewayGroup = "gateway.networking.k8s.io"

// FindClasses lists the cluster's IngressClasses and, when the Gateway API is
// served, its GatewayClasses, sorted by kind and name. A list the apiserver
// refuses (forbidden) becomes a note rather than an error: the known
// controllers' labels still apply without it.
func FindClasses(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface) ([]Class, []string, error) {
	var classes []Class
	var notes []string
	ics, err := cs.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
		notes = append(notes, "IngressClasses not read: "+err.Error())
	case err != nil:
		return nil, nil, fmt.Errorf("list IngressClasses: %w", err)
	default:
		for _, ic := range ics.Items {
			classes = append(classes, Class{Kind: "IngressClass", Name: ic.Name, Controller: ic.Spec.Controller})
		}
	}
	version, err := gatewayClassVersion(ctx, discovery.ToDiscoveryInterfaceWithContext(cs.Discovery()))
	if err != nil {
		return nil, nil, err
	}
	if version != "" {
		gcs, err := gatewayClasses(ctx, dyn, version)
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
			notes = append(notes, "GatewayClasses not read: "+err.Error())
		case err != nil:
			return nil, nil, err
		default:
			classes = append(classes, gcs...)
		}
	}
	sort.Slice(classes, func(i, j int) bool {
		if classes[i].Kind != classes[j].Kind {
			return classes[i].Kind > classes[j].Kind // IngressClass before GatewayClass
		}
		return classes[i].Name < classes[j].Name
	})
	return classes, notes, nil
}

// gatewayClassVersion is the version of gateway.networking.k8s.io serving
// gatewayclasses, preferred version first; "" when the group is not served.
func gatewayClassVersion(ctx context.Context, d discovery.DiscoveryInterfaceWithContext) (string, error) {
	groups, err := d.ServerGroupsWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("discover API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.Name != gatewayGroup {
			continue
		}
		versions := []string{g.PreferredVersion.Version}
		for _, v := range g.Versions {
			versions = append(versions, v.Version)
		}
		for _, v := range versions {
			res, err := d.ServerResourcesForGroupVersionWithContext(ctx, gatewayGroup+"/"+v)
			if err != nil {
				continue
			}
			for _, r := range res.APIResources {
				if r.Name == "gatewayclasses" {
					return v, nil
				}
			}
		}
	}
	return "", nil
}

func gatewayClasses(ctx context.Context, dyn dynamic.Interface, version string) ([]Class, error) {
	if dyn == nil {
		return nil, fmt.Errorf("list GatewayClasses: no dynamic client")
	}
	gvr := schema.GroupVersionResource{Group: gatewayGroup, Version: version, Resource: "gatewayclasses"}
	list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list GatewayClasses: %w", err)
	}
	var out []Class
	for _, it := range list.Items {
		name, _, _ := unstructured.NestedString(it.Object, "spec", "controllerName")
		out = append(out, Class{Kind: "GatewayClass", Name: it.GetName(), Controller: name})
	}
	return out, nil
}
