package standby

// The webhooks that mutate pods as they are created (a mesh's sidecar
// injector) and the workloads behind them, which activate restores first.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// backends are the Services that webhooks mutating pods as they are
// created call (plan.PodMutators), by namespace and name, with their
// selectors.
type backends map[string]labels.Selector

func (b backends) names() []string { return slices.Sorted(maps.Keys(b)) }

// back says whether obj, a workload, runs pods one of the Services selects
// (its pod template's labels, in the Service's namespace).
func (b backends) back(obj *unstructured.Unstructured) bool {
	tmpl, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "metadata", "labels")
	for name, sel := range b {
		if ns, _, _ := strings.Cut(name, "/"); ns == obj.GetNamespace() && sel.Matches(labels.Set(tmpl)) {
			return true
		}
	}
	return false
}

// injectorBackends finds the Services c's pod-mutating webhooks call:
// activate restores and waits for the workloads behind them first. A
// Service without a selector (its endpoints kept by hand) has none.
func injectorBackends(ctx context.Context, c *cluster.Conn) (backends, error) {
	list, err := c.Dynamic.Resource(cluster.MutatingWebhookConfigurations).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", cluster.MutatingWebhookConfigurations.Resource, err)
	}
	out := backends{}
	for i := range list.Items {
		for _, m := range plan.PodMutators(&list.Items[i]) {
			ns, svc := m.Namespace, m.Service
			if svc == "" {
				continue
			}
			if _, seen := out[ns+"/"+svc]; seen {
				continue
			}
			s, err := c.Typed.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && len(s.Spec.Selector) == 0) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("get service %s/%s: %w", ns, svc, err)
			}
			out[ns+"/"+svc] = labels.SelectorFromSet(s.Spec.Selector)
		}
	}
	return out, nil
}
