package mirror

// What the informers read the source with: the metadata client's lists, and
// watches of whole objects (of metadata for a watch-list's first events),
// each object turned into a cached as it arrives. An informer's
// transform runs only once its reflector holds the whole first list — for
// a resource of 100k objects that is 100k PartialObjectMetadata with their
// managedFields at once, and the Go heap grows to twice that. Turned into
// cached page by page (and event by event), the first list takes what the
// cache keeps, nothing more.

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
)

// newInformer is an informer of gvr's objects in namespace ("" for all)
// that match the label selector ("" for all), whose cache holds cached
// objects, indexed by namespace.
//
// With whole set, its watches (but a watch-list's, whose first events are
// the whole resource) read whole objects from dyn, and each is handed to
// whole before it is slimmed for the cache: a change's object as its event
// brought it (fresh.go). Its lists read metadata only, always.
func newInformer(client metadata.Interface, dyn dynamic.Interface, gvr schema.GroupVersionResource, namespace, selector string, whole func(watch.EventType, *unstructured.Unstructured)) cache.SharedIndexInformer {
	var ri metadata.ResourceInterface = client.Resource(gvr)
	var dri dynamic.ResourceInterface = dyn.Resource(gvr)
	if namespace != "" {
		ri = client.Resource(gvr).Namespace(namespace)
		dri = dyn.Resource(gvr).Namespace(namespace)
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			// A first list at resourceVersion "0" is answered from the
			// apiserver's watch cache in one piece, whatever the limit: the
			// whole resource in one response, decoded at once. Asked for the
			// latest ("") it comes in the reflector's pages (500 objects)
			// instead, each slimmed before the next is read; relists keep
			// the version the reflector asks for.
			if o.ResourceVersion == "0" {
				o.ResourceVersion = ""
			}
			o.LabelSelector = selector
			list, err := ri.List(ctx, o)
			if err != nil {
				return nil, err
			}
			return slimList(list), nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			if whole == nil || (o.SendInitialEvents != nil && *o.SendInitialEvents) {
				w, err := ri.Watch(ctx, o)
				if err != nil {
					return nil, err
				}
				return watch.Filter(w, slimEvent), nil
			}
			w, err := dri.Watch(ctx, o)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				if u, ok := e.Object.(*unstructured.Unstructured); ok && e.Type != watch.Bookmark && e.Type != watch.Error {
					whole(e.Type, u)
				}
				return slimEvent(e)
			}), nil
		},
	}
	return cache.NewSharedIndexInformerWithOptions(lw, &cached{}, cache.SharedIndexInformerOptions{
		Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
	})
}

// slimList is a page of a list as cached objects.
func slimList(list *metav1.PartialObjectMetadataList) *cachedList {
	out := &cachedList{ListMeta: list.ListMeta, Items: make([]*cached, len(list.Items))}
	for i := range list.Items {
		out.Items[i] = newCached(&list.Items[i])
	}
	return out
}

// slimEvent is a watch event with its object (object metadata or a whole
// object) as a cached. A bookmark keeps its annotations: the end of a
// watch-list's initial events is one.
func slimEvent(e watch.Event) (watch.Event, bool) {
	o, ok := e.Object.(metav1.Object)
	if !ok || e.Type == watch.Error {
		return e, true // an error's Status: the reflector reads it as it is
	}
	c := newCached(o)
	if e.Type == watch.Bookmark {
		c.annotations = o.GetAnnotations()
	}
	e.Object = c
	return e, true
}

// cachedList is a list of cached objects: what a page of the informers'
// lists is turned into.
type cachedList struct {
	metav1.TypeMeta
	metav1.ListMeta
	Items []*cached
}

func (l *cachedList) DeepCopyObject() runtime.Object {
	out := &cachedList{TypeMeta: l.TypeMeta, Items: make([]*cached, len(l.Items))}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	for i, c := range l.Items {
		cp := *c
		out.Items[i] = &cp
	}
	return out
}
