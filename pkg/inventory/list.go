package inventory

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/pager"
)

// PageSize bounds each list call, so huge resources stream without one
// giant response: a page of a few-KiB objects is a few MB once decoded.
const PageSize = 250

// expiredRestarts bounds how often one list starts again after its continue
// token expired: each restart reads the resource from the start.
const expiredRestarts = 3

// List reads every object of a resource (in one namespace, or all when
// namespace is ""), page by page, calling fn for each.
//
// A continue token can expire mid-list (410 Expired: etcd compacted the
// revision the list was reading at, after about five minutes). The list then
// starts again at the newest revision and fn is called only for objects it
// has not seen yet: nothing is skipped and nothing comes twice. What changed
// meanwhile in an object fn already had is not read again, as it would not
// have been had the list been quicker.
func List(ctx context.Context, dyn dynamic.Interface, r Resource, namespace string, fn func(*unstructured.Unstructured) error) error {
	var ri dynamic.ResourceInterface = dyn.Resource(r.GVR())
	if r.Namespaced && namespace != "" {
		ri = dyn.Resource(r.GVR()).Namespace(namespace)
	}
	return pages(ctx, r, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return ri.List(ctx, opts)
	}, func(obj runtime.Object) error {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("list %s: got a %T, not an object", r, obj)
		}
		return fn(u)
	})
}

// ListMetadata is List for what a caller needs of each object's metadata
// only: the apiserver sends no spec, data or status (PartialObjectMetadata),
// so a large resource costs a fraction to read. Each object comes as an
// Unstructured of apiVersion, kind and metadata.
func ListMetadata(ctx context.Context, mc metadata.Interface, r Resource, namespace string, fn func(*unstructured.Unstructured) error) error {
	var ri metadata.ResourceInterface = mc.Resource(r.GVR())
	if r.Namespaced && namespace != "" {
		ri = mc.Resource(r.GVR()).Namespace(namespace)
	}
	apiVersion := r.GVR().GroupVersion().String()
	return pages(ctx, r, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return ri.List(ctx, opts)
	}, func(obj runtime.Object) error {
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return fmt.Errorf("list %s: got a %T, not object metadata", r, obj)
		}
		md, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&m.ObjectMeta)
		if err != nil {
			return fmt.Errorf("list %s: %w", r, err)
		}
		return fn(&unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": r.Kind, "metadata": md}})
	})
}

// pages runs one paged list, starting it again after an expired continue
// token (see List) and handing each object to fn once.
func pages(ctx context.Context, r Resource, page pager.ListPageFunc, fn func(runtime.Object) error) error {
	p := pager.New(page)
	p.PageSize = PageSize
	p.PageBufferSize = 1     // fetch the next page while fn handles this one, no further
	var seen map[string]bool // the keys fn had, made a set once a restart needs it
	key := func(obj runtime.Object) string {
		if a, err := meta.Accessor(obj); err == nil {
			return a.GetNamespace() + "/" + a.GetName()
		}
		return ""
	}
	each := func(obj runtime.Object) error {
		if seen != nil {
			k := key(obj)
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		return fn(obj)
	}
	// The first attempt notes its keys in a slice (cheaper than a set); a
	// restart turns them into the set.
	var delivered []string
	first := func(obj runtime.Object) error {
		delivered = append(delivered, key(obj))
		return each(obj)
	}
	err := p.EachListItem(ctx, metav1.ListOptions{}, first)
	for attempt := 0; err != nil && apierrors.IsResourceExpired(err) && attempt < expiredRestarts; attempt++ {
		if seen == nil {
			seen = make(map[string]bool, len(delivered))
			for _, k := range delivered {
				seen[k] = true
			}
			delivered = nil
		}
		err = p.EachListItem(ctx, metav1.ListOptions{}, each)
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", r, err)
	}
	return nil
}
