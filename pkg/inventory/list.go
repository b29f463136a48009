package inventory

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/pager"
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
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		page, err := ri.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", r, err)
		}
		return page, nil
	})
	p.PageSize = PageSize
	p.PageBufferSize = 1 // fetch the next page while fn handles this one, no further
	return p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("list %s: got a %T, not an object", r, obj)
		}
		return fn(u)
	})
}
