package inventory

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// PageSize bounds each list call, so huge resources stream without one giant response.
const PageSize = 500

// List reads every object of a resource (in one namespace, or all when
// namespace is ""), page by page, calling fn for each.
func List(ctx context.Context, dyn dynamic.Interface, r Resource, namespace string, fn func(*unstructured.Unstructured) error) error {
	var ri dynamic.ResourceInterface = dyn.Resource(r.GVR())
	if r.Namespaced && namespace != "" {
		ri = dyn.Resource(r.GVR()).Namespace(namespace)
	}
	opts := metav1.ListOptions{Limit: PageSize}
	for {
		page, err := ri.List(ctx, opts)
		if err != nil {
			return fmt.Errorf("list %s: %w", r, err)
		}
		for i := range page.Items {
			if err := fn(&page.Items[i]); err != nil {
				return err
			}
		}
		if page.GetContinue() == "" {
			return nil
		}
		opts.Continue = page.GetContinue()
	}
}
