package mirror

// What a narrowed selection brings along. `sync -n shop` copies shop's
// objects and what they need outside it — the ClusterRole a binding
// names, the ClusterIssuer a Certificate names, the webhook
// configurations that call shop's Services, the CRDs of its kinds, the
// cluster-scoped parts of the Helm releases in it (pkg/plan's
// dependencies). The mirror follows the same objects: a change to one of
// them is mirrored as one of the selection's (deps), a change that names
// a new one brings it (bringAlong), and an object that points at a
// selected one (a ClusterRoleBinding of shop's ServiceAccount, a webhook
// configuration calling shop's Service) is taken in when it changes
// (alsoFor) and when what it points at is created (bringLinked). A
// dependency in a namespace the selection does not name is watched there
// too (watchAlso).

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
)

// narrowed says whether the selection names namespaces, labels or a stack:
// only then does anything come along that the selection does not pick.
func (m *Mirror) narrowed() bool { return m.Request.Selector.Narrows() }

// objectKey is k as the selection names it.
func (m *Mirror) objectKey(k key) plan.ObjectKey {
	r := m.kinds().byGVR[k.gvr]
	return plan.ObjectKey{Group: r.Group, Kind: r.Kind, Namespace: k.namespace, Name: k.name}
}

// follow records that the mirror follows the object of ok, with why ("":
// a cluster-scoped object the selection picks by itself, such as a
// stack's labelled ClusterRole, kept to be pruned with the selection's);
// it says whether that is new.
func (m *Mirror) follow(ok plan.ObjectKey, why string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, known := m.deps[ok]; known {
		return false
	}
	m.deps[ok] = why
	return true
}

// unfollow forgets the object of ok (its namespace could not be watched).
func (m *Mirror) unfollow(ok plan.ObjectKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.deps, ok)
}

// dep is what the mirror knows of the object of ok: whether it follows
// it, and why.
func (m *Mirror) dep(ok plan.ObjectKey) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	why, known := m.deps[ok]
	return why, known
}

// copies says whether the mirror copies the object of k, so that its
// deletion in the source may prune it: any object when the selection
// narrows nothing; else one it follows, or one the selection picks by its
// key; a namespaced object in the selection's namespaces, when the
// selection is by labels or a stack (picked by labels, which a deletion
// does not tell).
func (m *Mirror) copies(k key) bool {
	if !m.narrowed() {
		return true
	}
	ok := m.objectKey(k)
	if _, known := m.dep(ok); known || m.root(ok) {
		return true
	}
	s := m.Request.Selector
	return k.namespace != "" && !s.ByNamespaceOnly() && (len(s.Namespaces) == 0 || slices.Contains(s.Namespaces, k.namespace))
}

// namedNamespace says whether ok is a Namespace the selection names.
func (m *Mirror) namedNamespace(ok plan.ObjectKey) bool {
	return ok.Group == "" && ok.Kind == "Namespace" && slices.Contains(m.Request.Selector.Namespaces, ok.Name)
}

// root says whether the object of ok is picked by the selection by its
// key alone: a selection by namespaces picks what they hold.
func (m *Mirror) root(ok plan.ObjectKey) bool {
	s := m.Request.Selector
	return s.ByNamespaceOnly() && (slices.Contains(s.Namespaces, ok.Namespace) || m.namedNamespace(ok))
}

// alsoFor are the objects of a change the selection brings along though
// it does not pick them itself (syncer.Changed's also): obj when it is a
// dependency found before, or when a selected object brings it
// (plan.BroughtBy: a binding of a selected ServiceAccount, a webhook
// configuration calling a selected Service, a cluster-scoped part of a
// Helm release in a named namespace), when it is app-wide (appWide) or
// gathered into an aggregated ClusterRole the mirror copies
// (gatheredInto) — then it is a dependency from now on.
func (m *Mirror) alsoFor(ctx context.Context, k key, obj *unstructured.Unstructured) (map[plan.ObjectKey]string, error) {
	also := map[plan.ObjectKey]string{}
	ok := m.objectKey(k)
	if m.narrowed() {
		if why, known := m.dep(ok); known {
			if why != "" {
				also[ok] = why
			}
			return also, nil
		}
	}
	if plan.SystemRole(ok) && !m.Request.Selector.IncludeSystem {
		// Its own event may come before its grant's: bringAlong queues it again then.
		why, granted, err := m.grantFor(ctx, ok)
		if granted {
			also[ok] = why
		}
		return also, err
	}
	if !m.narrowed() {
		return also, nil
	}
	if _, self := plan.Select([]*unstructured.Unstructured{obj}, m.Request.Selector)[ok]; self {
		return also, nil // picked by itself
	}
	bring := func(why string) map[plan.ObjectKey]string { // from now on a dependency
		m.follow(ok, why)
		also[ok] = why
		m.Log.Info("brought along", "object", k.String(), "why", why)
		return also
	}
	why, found, err := m.appWide(ctx, obj)
	if err != nil {
		return also, err
	}
	if found {
		return bring(why), nil
	}
	why, found, err = m.gatheredInto(ctx, obj)
	if err != nil {
		return also, err
	}
	if found {
		return bring(why), nil
	}
	for _, l := range plan.BroughtBy(obj, m.Request.Selector) {
		picked, err := m.selected(ctx, l.By)
		if err != nil {
			return also, err
		}
		if picked {
			return bring(l.Why), nil
		}
	}
	return also, nil
}

// grantFor says why the Role of a system namespace of key ok comes along,
// if it does: an app's grant there binds it (plan.AppGrant, GrantedRoles)
// — under a narrowed selection, a grant the mirror follows. The source's
// RoleBindings of that namespace are asked (a system Role changes
// rarely).
func (m *Mirror) grantFor(ctx context.Context, ok plan.ObjectKey) (string, bool, error) {
	gvr, found := m.gvrOf(plan.ObjectKey{Group: rbacv1.GroupName, Kind: "RoleBinding"})
	if !found {
		return "", false, nil
	}
	var grants []*unstructured.Unstructured
	err := inventory.List(ctx, m.Source, m.kinds().byGVR[gvr], ok.Namespace, func(o *unstructured.Unstructured) error {
		if _, followed := m.dep(plan.KeyOf(o)); plan.AppGrant(o) && (!m.narrowed() || followed) {
			grants = append(grants, o)
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("read the grants of system namespace %s: %w", ok.Namespace, err)
	}
	why, granted := plan.GrantedRoles(grants, m.Request.Selector)[ok]
	return why, granted, nil
}

// appWide says why an app-wide object (an IngressClass, a GatewayClass, a
// ClusterRole gathered into the cluster's view or admin) comes with a
// namespace the selection names by itself, if it does: a workload there
// is labelled as the same app instance (plan.AppWide; Select finds it
// through its index). The source's workloads of the named namespaces are
// asked by those labels: such an object changes rarely.
func (m *Mirror) appWide(ctx context.Context, obj *unstructured.Unstructured) (string, bool, error) {
	s := m.Request.Selector
	if !s.ByNamespaceOnly() {
		return "", false, nil
	}
	for _, ns := range s.Namespaces {
		for _, match := range plan.AppWide(obj, ns) {
			for _, kind := range plan.WorkloadKinds {
				gvr, found := m.gvrOf(plan.ObjectKey{Group: "apps", Kind: kind})
				if !found {
					continue
				}
				l, err := m.Source.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(match.Selector).String(), Limit: 1})
				if err != nil {
					return "", false, fmt.Errorf("look for the workload of app-wide %s in %s: %w", obj.GetName(), ns, err)
				}
				if len(l.Items) > 0 && s.Allowed(&l.Items[0]) {
					return match.Why(plan.KeyOf(&l.Items[0])), true, nil
				}
			}
		}
	}
	return "", false, nil
}

// selected says whether the source object of key ok is one the
// selection picks or brings along now. The informers' caches may not hold
// an object created a moment ago: the source is asked.
func (m *Mirror) selected(ctx context.Context, ok plan.ObjectKey) (bool, error) {
	if _, known := m.dep(ok); known {
		return true, nil
	}
	s := m.Request.Selector
	if s.ByNamespaceOnly() && !m.root(ok) {
		return false, nil
	}
	gvr, found := m.gvrOf(ok)
	if !found {
		return false, nil
	}
	if m.root(ok) && m.cachedNow(gvr, ok.Namespace, ok.Name) {
		return true, nil
	}
	o, err := cluster.Scoped(m.Source.Dynamic.Resource(gvr), ok.Namespace != "", ok.Namespace).Get(ctx, ok.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", ok, err)
	}
	_, picked := plan.Select([]*unstructured.Unstructured{o}, s)[ok]
	return picked, nil
}

// bringAlong takes in what the objects of a change need outside it
// (syncer.Prepared's Needed; for a custom resource, its CRD): each is a
// dependency from now on, and one the source has and the mirror has not
// followed yet is queued to be copied — watched first when it is in a
// namespace no informer watches.
func (m *Mirror) bringAlong(ctx context.Context, k key, needed map[plan.ObjectKey]string) {
	if !m.narrowed() {
		// Every object is its own root, but for the Role of a system
		// namespace an app's grant binds: its own change may have come
		// before the grant's, and been left then.
		for ok := range needed {
			if gvr, found := m.gvrOf(ok); found && plan.SystemRole(ok) && m.cachedNow(gvr, ok.Namespace, ok.Name) {
				m.queue.Add(key{gvr, ok.Namespace, ok.Name})
			}
		}
		return
	}
	if crd, why, ok := m.crdOf(k); ok {
		needed[crd] = why
	}
	for ok, why := range needed {
		if m.root(ok) || !m.follow(ok, why) {
			continue // picked by itself, or followed already
		}
		gvr, found := m.gvrOf(ok)
		if found && ok.Namespace != "" && !m.watchAlso(ctx, gvr, ok.Namespace) {
			m.unfollow(ok) // not watched: a later change that names it tries again
			continue
		}
		if !found || !m.cachedNow(gvr, ok.Namespace, ok.Name) {
			continue // not in the source (yet): followed once it is
		}
		m.Log.Info("brought along", "object", key{gvr, ok.Namespace, ok.Name}.String(), "why", why)
		m.queue.Add(key{gvr, ok.Namespace, ok.Name})
	}
}

// watchDeps watches the namespaces of the dependencies the initial pass
// copied that no informer watches (a Gateway in infra), and queues each
// such dependency once: a change between its copy and the new watch's
// first list would be missed otherwise (an unchanged one is not written).
func (m *Mirror) watchDeps(ctx context.Context) {
	m.mu.Lock()
	var elsewhere []plan.ObjectKey
	for ok := range m.deps {
		if ok.Namespace != "" {
			elsewhere = append(elsewhere, ok)
		}
	}
	m.mu.Unlock()
	started := map[informerKey]bool{}
	for _, ok := range elsewhere {
		gvr, found := m.gvrOf(ok)
		if !found {
			continue
		}
		ik := informerKey{gvr, ok.Namespace}
		if !started[ik] && m.informer(gvr, ok.Namespace) == nil {
			if !m.watchAlso(ctx, gvr, ok.Namespace) {
				m.unfollow(ok) // not watched: a later change that names it tries again
				continue
			}
			started[ik] = true
		}
		if started[ik] {
			m.queue.Add(key{gvr, ok.Namespace, ok.Name})
		}
	}
}

// bringLinked takes in, once a selected object new to the target is
// written, the objects outside the selection that point at it and were
// there before it (a ClusterRoleBinding, or a RoleBinding in another
// namespace, that named a ServiceAccount before the ServiceAccount
// existed): their own changes came while it did not. Looking means listing
// the kinds that may point at it in the source: one look serves every
// object that came meanwhile, and looks are linkEvery apart, so a
// namespace whose ServiceAccounts come and go by the second costs one
// list of the bindings per linkEvery, not one per ServiceAccount.
func (m *Mirror) bringLinked(ctx context.Context, k key) {
	ok := m.objectKey(k)
	if len(m.linkedFrom(ok)) == 0 {
		return
	}
	m.mu.Lock()
	if m.linked == nil {
		m.linked = map[plan.ObjectKey]bool{}
	}
	m.linked[ok] = true
	start := !m.linking
	m.linking = true
	m.mu.Unlock()
	if start {
		go m.lookForLinks(ctx)
	}
}

// linkedFrom are the kinds whose objects may point at the object of ok
// (plan.LinkedFrom), and, for a workload of a namespace the selection
// names by itself, the app-wide objects its app may have (AppWide).
func (m *Mirror) linkedFrom(ok plan.ObjectKey) []schema.GroupKind {
	out := plan.LinkedFrom(schema.GroupKind{Group: ok.Group, Kind: ok.Kind})
	if ok.Group == "apps" && slices.Contains(plan.WorkloadKinds, ok.Kind) && m.Request.Selector.ByNamespaceOnly() {
		out = append(out, plan.AppWideKinds...)
	}
	return out
}

// linkEvery is the least time between two looks of bringLinked.
const linkEvery = 5 * time.Second

// lookForLinks looks for what points at the objects bringLinked was given,
// until none is left.
func (m *Mirror) lookForLinks(ctx context.Context) {
	for {
		m.mu.Lock()
		batch := m.linked
		m.linked = nil
		if len(batch) == 0 || ctx.Err() != nil {
			m.linking = false
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		failed := false
		kinds := map[schema.GroupKind]bool{}
		for ok := range batch {
			for _, gk := range m.linkedFrom(ok) {
				kinds[gk] = true
			}
		}
		for gk := range kinds {
			gvr, found := m.gvrOf(plan.ObjectKey{Group: gk.Group, Kind: gk.Kind})
			if !found {
				continue
			}
			err := inventory.List(ctx, m.Source, m.kinds().byGVR[gvr], "", func(o *unstructured.Unstructured) error {
				if m.root(plan.KeyOf(o)) {
					return nil // the selection's own: its own event brings it
				}
				for _, l := range plan.BroughtBy(o, m.Request.Selector) {
					if batch[l.By] && m.follow(plan.KeyOf(o), l.Why) {
						lk := key{gvr, o.GetNamespace(), o.GetName()}
						m.Log.Info("brought along", "object", lk.String(), "why", l.Why)
						m.queue.Add(lk)
					}
				}
				if slices.Contains(plan.AppWideKinds, gk) {
					if _, known := m.dep(plan.KeyOf(o)); !known {
						why, found, err := m.appWide(ctx, o)
						if err != nil {
							return err
						}
						if found && m.follow(plan.KeyOf(o), why) {
							lk := key{gvr, "", o.GetName()}
							m.Log.Info("brought along", "object", lk.String(), "why", why)
							m.queue.Add(lk)
						}
					}
				}
				return nil
			})
			if err != nil && ctx.Err() == nil {
				m.Log.Warn("could not look for what points at new objects: looked for again", "resource", gvr.Resource, "objects", len(batch), "error", err)
				failed = true
			}
		}
		if failed {
			// The batch again, with what came since: what points at its
			// objects was not all seen.
			m.mu.Lock()
			if m.linked == nil {
				m.linked = map[plan.ObjectKey]bool{}
			}
			maps.Copy(m.linked, batch)
			m.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(linkEvery):
		}
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
	return plan.ObjectKey{Group: cluster.CRDs.Group, Kind: "CustomResourceDefinition", Name: name}, "CRD of " + plan.Describe(m.objectKey(k)), true
}

// gvrOf is the resource the mirror watches objects of ok's kind through.
func (m *Mirror) gvrOf(ok plan.ObjectKey) (schema.GroupVersionResource, bool) {
	for gvr, r := range m.kinds().byGVR {
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
