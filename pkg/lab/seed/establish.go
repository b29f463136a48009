package seed

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// waitEstablished waits, within EstablishTimeout, until every CRD is
// Established and discovery maps each of its served versions, so that the
// CRs applied next resolve.
func waitEstablished(ctx context.Context, conn *cluster.Conn, crds []document) error {
	ctx, cancel := context.WithTimeout(ctx, EstablishTimeout)
	defer cancel()
	for _, d := range crds {
		name := d.obj.GetName()
		var last string
		err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			live, err := conn.Dynamic.Resource(cluster.CRDs).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			ok, msg := established(live)
			last = msg
			return ok, nil
		})
		if err != nil {
			return fmt.Errorf("CustomResourceDefinition %s not Established within %s: %s", name, EstablishTimeout, last)
		}
	}
	conn.Refresh()
	for _, d := range crds {
		for _, gvk := range servedKinds(d.obj) {
			var last error
			err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(context.Context) (bool, error) {
				_, last = conn.ResourceFor(gvk)
				if last != nil {
					conn.Refresh()
				}
				return last == nil, nil
			})
			if err != nil {
				return fmt.Errorf("CustomResourceDefinition %s: %s not in discovery within %s: %v", d.obj.GetName(), gvk, EstablishTimeout, last)
			}
		}
	}
	return nil
}

// established reports whether the CRD's Established condition is True, and
// otherwise what the condition says.
func established(crd *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		cm, ok := c.(map[string]interface{})
		if !ok || cm["type"] != "Established" {
			continue
		}
		if cm["status"] == "True" {
			return true, ""
		}
		return false, fmt.Sprintf("Established=%v: %v", cm["status"], cm["message"])
	}
	return false, "no Established condition yet"
}

// servedKinds lists the GroupVersionKinds a CRD manifest serves.
func servedKinds(crd *unstructured.Unstructured) []schema.GroupVersionKind {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var out []schema.GroupVersionKind
	for _, v := range versions {
		vm, ok := v.(map[string]interface{})
		if !ok || vm["served"] != true {
			continue
		}
		if name, ok := vm["name"].(string); ok {
			out = append(out, schema.GroupVersionKind{Group: group, Version: name, Kind: kind})
		}
	}
	return out
}
