package inventory

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/pager"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// PageSize bounds each list call, so huge resources stream without one
// giant response: a page of a few-KiB objects is a few MB once decoded.
const PageSize = 250

// expiredRestarts bounds how often one list starts again after its continue
// token expired: each restart reads the resource from the start.
const expiredRestarts = 3

// listBackoff is how a page's request is retried (cluster.Backoff); a test
// shortens it.
var listBackoff = cluster.Backoff

// List reads every object of a resource (in one namespace, or all when
// namespace is ""), page by page, calling fn for each.
//
// A continue token can expire mid-list (410 Expired: etcd compacted the
// revision the list was reading at, after about five minutes). The list then
// starts again at the newest revision and fn is called only for objects it
// has not seen yet: nothing is skipped and nothing comes twice. What changed
// meanwhile in an object fn already had is not read again, as it would not
// have been had the list been quicker.
//
// With c.REST, each page is read as JSON and decoded in one pass
// (decodeList): the dynamic client's list decoding reads a page three
// times over, and a sync spends most of its listing there.
func List(ctx context.Context, c *cluster.Conn, r Resource, namespace string, fn func(*unstructured.Unstructured) error) error {
	if !r.Namespaced {
		namespace = ""
	}
	page := func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		res := c.REST.Get().AbsPath(cluster.ResourcePath(r.GVR(), namespace)...).
			SetHeader("Accept", "application/json").
			SpecificallyVersionedParams(&opts, metav1.ParameterCodec, metav1.SchemeGroupVersion).
			Do(ctx)
		if err := res.Error(); err != nil {
			return nil, err // the Status the apiserver answered (410 Expired…), decoded
		}
		body, err := res.Raw()
		if err != nil {
			return nil, err
		}
		return decodeList(body)
	}
	if c.REST == nil {
		ri := c.Dynamic.Resource(r.GVR()).Namespace(namespace)
		page = func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return ri.List(ctx, opts)
		}
	}
	return pages(ctx, r, page, func(obj runtime.Object) error {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("list %s: got a %T, not an object", r, obj)
		}
		return fn(u)
	})
}

// decodeList decodes a list answered as JSON in one pass, as the dynamic
// client would: its items are the list's Items, each given the list's
// apiVersion and kind (less "List") when it has neither.
func decodeList(body []byte) (*unstructured.UnstructuredList, error) {
	var obj map[string]any
	if err := utiljson.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("decode the list: %w", err)
	}
	items, _ := obj["items"].([]any)
	delete(obj, "items")
	list := &unstructured.UnstructuredList{Object: obj, Items: make([]unstructured.Unstructured, 0, len(items))}
	apiVersion, kind := list.GetAPIVersion(), strings.TrimSuffix(list.GetKind(), "List")
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("decode the list: item %d is a %T, not an object", i, it)
		}
		u := unstructured.Unstructured{Object: m}
		if u.GetKind() == "" && u.GetAPIVersion() == "" {
			u.SetKind(kind)
			u.SetAPIVersion(apiVersion)
		}
		list.Items = append(list.Items, u)
	}
	return list, nil
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
// token (see List) and handing each object to fn once. A page whose request
// fails for a reason that can pass (an apiserver restarting, throttling or
// cut off mid-answer) is asked for again, with the same continue token,
// with backoff: a list of a large cluster takes long enough to meet one.
func pages(ctx context.Context, r Resource, page pager.ListPageFunc, fn func(runtime.Object) error) error {
	p := pager.New(withRetries(page))
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

// withRetries is page with each request retried while it fails for a
// reason that can pass (cluster.Retryable), for up to listBackoff's
// attempts; the error of the last says how many there were.
func withRetries(page pager.ListPageFunc) pager.ListPageFunc {
	return func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		var obj runtime.Object
		attempts, err := cluster.Retry(ctx, listBackoff, cluster.Retryable, func() error {
			var err error
			obj, err = page(ctx, opts)
			return err
		})
		if err != nil && attempts > 1 {
			return nil, fmt.Errorf("%d attempts, the last: %w", attempts, err)
		}
		return obj, err
	}
}
