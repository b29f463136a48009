package mirror

// What a narrowed selection brings along. `sync -n shop` copies shop's
// objects and what they need outside it — the ClusterRole a binding
// names, the ClusterIssuer a Certificate names, the webhook
// configurations that call shop's Services, the CRDs of its kinds
// (pkg/plan's dependencies). The mirror follows the same objects: a
// change to one of them is mirrored as one of the selection's (deps), a
// change that names a new one brings it (bringAlong), and a new object
// that points at a selected one (a ClusterRoleBinding of shop's
// ServiceAccount) is taken in (alsoFor).

import (
	"context"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// narrowed says whether the selection names namespaces, labels or a stack:
// only then does anything come along that the selection does not pick.
func (m *Mirror) narrowed() bool { return m.Request.Selector.Narrows() }

// objectKey is k as the selection names it.
func (m *Mirror) objectKey(k key) plan.ObjectKey {
	r := m.byGVR[k.gvr]
	return plan.ObjectKey{Group: r.Group, Kind: r.Kind, Namespace: k.namespace, Name: k.name}
}

// followed says whether a narrowed mirror follows the object of k beyond
// what the selection picks by itself: it is a dependency found before, or
// a Namespace the selection names.
func (m *Mirror) followed(k key) bool {
	ok := m.objectKey(k)
	m.mu.Lock()
	_, dep := m.deps[ok]
	m.mu.Unlock()
	return dep || m.namedNamespace(ok)
}

// namedNamespace says whether ok is a Namespace the selection names.
func (m *Mirror) namedNamespace(ok plan.ObjectKey) bool {
	return ok.Group == "" && ok.Kind == "Namespace" && slices.Contains(m.Request.Selector.Namespaces, ok.Name)
}

// alsoFor are the objects of a change the selection brings along though
// it does not pick them itself (syncer.Changed's also): obj when it is a
// dependency found before, or when a selected object brings it
// (plan.BroughtBy: a binding of a selected ServiceAccount, a webhook
// configuration calling a selected Service) — then it is a dependency
// from now on.
func (m *Mirror) alsoFor(ctx context.Context, k key, obj *unstructured.Unstructured) map[plan.ObjectKey]string {
	also := map[plan.ObjectKey]string{}
	if !m.narrowed() {
		return also
	}
	ok := m.objectKey(k)
	m.mu.Lock()
	why, dep := m.deps[ok]
	m.mu.Unlock()
	if dep {
		also[ok] = why
		return also
	}
	if _, self := plan.Select([]*unstructured.Unstructured{obj}, m.Request.Selector)[ok]; self {
		return also // picked by itself
	}
	for _, l := range plan.BroughtBy(obj, m.Request.Selector) {
		if m.selected(ctx, l.By) {
			m.mu.Lock()
			m.deps[ok] = l.Why
			m.mu.Unlock()
			also[ok] = l.Why
			m.Log.Info("brought along", "object", k.String(), "why", l.Why)
			return also
		}
	}
	return also
}

// selected says whether the source object of key ok is one the
// selection picks or brings along now.
func (m *Mirror) selected(ctx context.Context, ok plan.ObjectKey) bool {
	m.mu.Lock()
	_, dep := m.deps[ok]
	m.mu.Unlock()
	if dep {
		return true
	}
	gvr, found := m.gvrOf(ok)
	if !found || !m.cachedNow(gvr, ok.Namespace, ok.Name) {
		return false
	}
	o, err := cluster.Scoped(m.Source.Dynamic.Resource(gvr), ok.Namespace != "", ok.Namespace).Get(ctx, ok.Name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	_, picked := plan.Select([]*unstructured.Unstructured{o}, m.Request.Selector)[ok]
	return picked
}

// bringAlong takes in what the objects of a change need outside it
// (syncer.Prepared's Needed; for a custom resource, its CRD): each is a
// dependency from now on, and one the source has and the mirror has not
// followed yet is queued to be copied.
func (m *Mirror) bringAlong(k key, needed map[plan.ObjectKey]string) {
	if !m.narrowed() {
		return
	}
	if crd, why, ok := m.crdOf(k); ok {
		needed[crd] = why
	}
	byNamespace := len(m.namespaces()) > 0
	for ok, why := range needed {
		if byNamespace && (slices.Contains(m.namespaces(), ok.Namespace) || m.namedNamespace(ok)) {
			continue // picked by itself
		}
		m.mu.Lock()
		_, known := m.deps[ok]
		if !known {
			m.deps[ok] = why
		}
		m.mu.Unlock()
		if known {
			continue
		}
		gvr, found := m.gvrOf(ok)
		if !found || !m.cachedNow(gvr, ok.Namespace, ok.Name) {
			continue // not in the source (yet): followed once it is
		}
		m.Log.Info("brought along", "object", key{gvr, ok.Namespace, ok.Name}.String(), "why", why)
		m.queue.Add(key{gvr, ok.Namespace, ok.Name})
	}
}

// crdOf is the CRD that serves the kind of k's object, when the source
// has one: a custom resource needs it in the target.
func (m *Mirror) crdOf(k key) (plan.ObjectKey, string, bool) {
	if k.gvr.Group == "" {
		return plan.ObjectKey{}, "", false
	}
	name := k.gvr.Resource + "." + k.gvr.Group
	if !m.cachedNow(cluster.CRDs, "", name) {
		return plan.ObjectKey{}, "", false
	}
	ok := m.objectKey(k)
	self := ok.Kind + " " + ok.Name
	if ok.Namespace != "" {
		self = ok.Kind + " " + ok.Namespace + "/" + ok.Name
	}
	return plan.ObjectKey{Group: cluster.CRDs.Group, Kind: "CustomResourceDefinition", Name: name}, "CRD of " + self, true
}

// gvrOf is the resource the mirror watches objects of ok's kind through.
func (m *Mirror) gvrOf(ok plan.ObjectKey) (schema.GroupVersionResource, bool) {
	for gvr, r := range m.byGVR {
		if r.Group == ok.Group && r.Kind == ok.Kind {
			return gvr, true
		}
	}
	return schema.GroupVersionResource{}, false
}

// cachedNow says whether the informers hold namespace/name of gvr: the
// source has it (as of the last event). False when no informer watches
// that namespace.
func (m *Mirror) cachedNow(gvr schema.GroupVersionResource, namespace, name string) bool {
	inf := m.informer(gvr, namespace)
	if inf == nil {
		return false
	}
	storeKey := name
	if namespace != "" {
		storeKey = namespace + "/" + name
	}
	_, exists, err := inf.GetIndexer().GetByKey(storeKey)
	return err == nil && exists
}
