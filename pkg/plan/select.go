package plan

import (
	"cmp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// PartOfLabel is the label a Stack selects on.
const PartOfLabel = "app.kubernetes.io/part-of"

// Selector is what the user asked to copy.
type Selector struct {
	Namespaces    []string           // empty: every namespace except system ones (unless IncludeSystem)
	IncludeSystem bool               // include kube-system, kube-public, kube-node-lease
	Labels        labels.Selector    // nil or Everything: no label filter; applies to namespaced objects only
	Stack         string             // app.kubernetes.io/part-of=Stack in any namespace, plus dependencies
	IncludeKinds  []schema.GroupKind // empty: all
	ExcludeKinds  []schema.GroupKind
}

// ObjectKey identifies an object across clusters.
type ObjectKey struct{ Group, Kind, Namespace, Name string }

// Object is what the selection reads of a source object: what names it,
// its labels and owners, and — for the kinds whose specs name other objects
// (workloads, Services, Ingresses, claims, RBAC, CRDs) — its content, see
// Content. An *unstructured.Unstructured is one; a large sync holds a
// smaller one for each object whose content waits on disk.
type Object interface {
	GroupVersionKind() schema.GroupVersionKind
	GetNamespace() string
	GetName() string
	GetLabels() map[string]string
	GetOwnerReferences() []metav1.OwnerReference
}

// Content is an Object's content: the object itself when it is an
// Unstructured, what its Content method answers when it has one (nil when
// nothing of it is kept), nil otherwise.
func Content(o Object) *unstructured.Unstructured {
	switch c := o.(type) {
	case *unstructured.Unstructured:
		return c
	case interface {
		Content() *unstructured.Unstructured
	}:
		return c.Content()
	}
	return nil
}

// fields is an Object's content as a map, nil when it has none.
func fields(o Object) map[string]any {
	if c := Content(o); c != nil {
		return c.Object
	}
	return nil
}

// objects is objs as Objects.
func objects[O Object](objs []O) []Object {
	out := make([]Object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

// controlled reports whether a controller owns o.
func controlled(o Object) bool {
	for _, r := range o.GetOwnerReferences() {
		if r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}

// KeyOf returns an object's key.
func KeyOf(obj Object) ObjectKey {
	gk := obj.GroupVersionKind().GroupKind()
	return ObjectKey{Group: gk.Group, Kind: gk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// SystemNamespaces are the cluster's own namespaces: every cluster has its
// own, and they are not copied unless asked.
var SystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// SystemNamespace reports whether ns is one of the cluster's own namespaces.
func SystemNamespace(ns string) bool { return slices.Contains(SystemNamespaces, ns) }

// Select returns the objects to copy, keyed by ObjectKey, with why each came along ("" for direct matches, e.g. "namespace of shop/Deployment web", "ConfigMap referenced by Deployment shop/web", "Role bound to ServiceAccount shop/web by RoleBinding shop/web-read", "CRD of Backup payments/nightly", "CRD granted to ServiceAccount ops/operator by ClusterRole operator-role (ClusterRoleBinding operator) on applications.example.io", "StorageClass of PVC ...").
//
// Without Namespaces, Labels or Stack every object outside the system
// namespaces is selected. With Namespaces or Labels the matching namespaced
// objects (and the Namespace objects of the named namespaces) are the roots;
// with Stack the objects labelled part-of=Stack are. Roots bring their
// dependencies (deps.go) until nothing new comes; only objects in objs are
// ever added, and kind filters and the system-namespace rule apply to
// dependencies as well.
func Select[O Object](objs []O, s Selector) map[ObjectKey]string {
	return pick(objects(objs), s, false, nil, nil).why
}

// Reach is Select for a few objects of a larger source, as a mirror sees
// them change. also are objects of objs the caller knows the selection
// brings along (a dependency found before: a ClusterIssuer, a
// ClusterRole), picked with their reason and followed as roots are.
// kindGroups (nil: none) are the groups that serve each kind in the
// source, for the references that leave their group open (the whole
// source's CRDs tell Select). needed are the objects outside objs that
// the picked ones need, with why: what a Select over the whole source
// would bring along, as far as objs tell — a dependency found through an
// index of other objects (the bindings that name a ServiceAccount, the
// CRD of a kind) is not among them. A reference that leaves its group or
// scope open is needed as each candidate; the caller picks those the
// source has.
func Reach[O Object](objs []O, s Selector, also map[ObjectKey]string, kindGroups map[string][]string) (picked, needed map[ObjectKey]string) {
	if also == nil {
		also = map[ObjectKey]string{}
	}
	p := pick(objects(objs), s, false, also, kindGroups)
	return p.why, p.needed
}

// Selection is what Pick picked: each picked object with why it came along.
type Selection struct {
	s Selector
	// named is the named namespaces when the roots are known by their
	// keys (rootKey) and are not in why; nil otherwise.
	named map[string]bool
	why   map[ObjectKey]string
	// needed are dependencies not among the objects picked from: all of
	// them for Reach; for Select and Pick, the namespaced ones outside the
	// named namespaces (Needed).
	needed map[ObjectKey]string
}

// Needed are the namespaced objects outside the selection's namespaces
// that the picked objects need but that were not among those picked from,
// with why (a Gateway in infra that an HTTPRoute of shop names): a caller
// that listed the named namespaces alone reads them and picks again.
func (p Selection) Needed() map[ObjectKey]string { return p.needed }

// Picked says whether the object of key k (one of the objects picked
// from) is picked, and why ("" for a root).
func (p Selection) Picked(k ObjectKey) (string, bool) {
	if why, ok := p.why[k]; ok {
		return why, true
	}
	return "", p.named != nil && p.rootKey(k)
}

// Pick is Select for a caller that asks of each object (Selection.Picked)
// rather than holding the answer for all. A selection by namespaces alone
// picks every allowed object in them: those are known by their keys, and
// neither they nor the index of them are held — only what came along from
// elsewhere. At 100k objects in the named namespaces, the two maps of
// them took 20 MB.
func Pick[O Object](objs []O, s Selector) Selection {
	return pick(objects(objs), s, s.ByNamespaceOnly(), nil, nil)
}

// ByNamespaceOnly says whether the selection's roots are the objects of
// the named namespaces, whatever their labels: no label selector, no stack.
func (s Selector) ByNamespaceOnly() bool {
	return len(s.Namespaces) > 0 && s.Stack == "" && (s.Labels == nil || s.Labels.Empty())
}

// rootKey says, for a selection by namespaces alone, whether the object of
// key k is a root: an allowed object in a named namespace, or the
// Namespace of one.
func (p Selection) rootKey(k ObjectKey) bool {
	if k.Namespace == "" {
		return isNamespace(schema.GroupKind{Group: k.Group, Kind: k.Kind}) && p.named[k.Name] && p.s.allowedKey(k)
	}
	return p.named[k.Namespace] && p.s.allowedKey(k)
}

// pick selects as Select describes; with roots (a selection by namespaces
// alone) the roots are left out of the answer and of the index (except
// RBAC objects, which the grants read); objects of also are roots with
// their reason (Reach), and with also the dependencies not in all are
// kept in needed; kindGroups add to the groups the index knows serve a
// kind (those outside Kubernetes' own).
func pick(all []Object, s Selector, roots bool, also map[ObjectKey]string, kindGroups map[string][]string) Selection {
	out := Selection{s: s, why: map[ObjectKey]string{}, needed: map[ObjectKey]string{}}
	// Reach says every dependency it does not have; Pick the namespaced
	// ones outside the named namespaces (which a caller may not have read).
	outside := func(k ObjectKey) bool {
		return also != nil || (k.Namespace != "" && len(s.Namespaces) > 0 && !slices.Contains(s.Namespaces, k.Namespace))
	}
	var skip func(ObjectKey) bool
	if roots {
		out.named = map[string]bool{}
		for _, ns := range s.Namespaces {
			out.named[ns] = true
		}
		skip = func(k ObjectKey) bool { return k.Group != rbacGroup && out.rootKey(k) }
	}
	idx := newIndex(all, skip)
	for kind, groups := range kindGroups {
		for _, g := range groups {
			if !sanitize.BuiltInGroup(g) && !slices.Contains(idx.kindGroups[kind], g) {
				idx.kindGroups[kind] = append(idx.kindGroups[kind], g)
			}
		}
	}
	var queue []Object
	// pickAs picks obj with why unless it is picked already; granted says
	// it is the Role an app's grant in a system namespace binds, which the
	// grant allows (AppGrant), the selection's rules allowing the rest.
	pickAs := func(obj Object, why string, granted bool) {
		k := KeyOf(obj)
		if _, ok := out.Picked(k); ok || (!granted && !s.Allowed(obj)) {
			return
		}
		out.why[k] = why
		queue = append(queue, obj)
	}
	add := func(obj Object, why string) { pickAs(obj, why, false) }
	for _, obj := range all {
		k := KeyOf(obj)
		if why, ok := also[k]; ok && SystemRole(k) && s.kindAllowed(k) && !s.Allowed(obj) {
			pickAs(obj, why, true) // a grant's Role the caller found it binds (GrantedRoles)
			continue
		}
		if why, ok := also[k]; ok && !s.root(obj) {
			add(obj, why)
			continue
		}
		if !s.root(obj) {
			continue
		}
		if roots {
			if s.Allowed(obj) {
				queue = append(queue, obj) // picked by its key; its dependencies follow
			}
			continue
		}
		add(obj, "")
	}
	// Roots in key order: a dependency that two roots reach comes with the
	// same reason whatever order the source's lists arrived in.
	slices.SortFunc(queue, func(a, b Object) int { return compareKeys(KeyOf(a), KeyOf(b)) })
	for len(queue) > 0 {
		obj := queue[0]
		queue = queue[1:]
		if controlled(obj) {
			// A Pod of a StatefulSet is not copied (its controller makes it anew):
			// what it needs comes along through the controller, with the controller as the reason.
			continue
		}
		deps := idx.deps(obj)
		from := KeyOf(obj)
		if k := from; isNamespace(schema.GroupKind{Group: k.Group, Kind: k.Kind}) && s.ByNamespaceOnly() && slices.Contains(s.Namespaces, k.Name) {
			// A namespace named by itself brings the cluster-scoped parts
			// of the Helm releases in it (an ingress controller's
			// IngressClass, an operator's ClusterRoles and webhooks), and
			// the app-wide objects labelled as an app whose workload runs
			// in it (a static manifest's IngressClass, the ClusterRoles an
			// operator adds to view and admin): what nothing of it names
			// is still its app's.
			deps = append(deps, idx.released[k.Name]...)
			deps = append(deps, idx.appWideIn[k.Name]...)
		}
		for _, d := range deps {
			by := from
			if d.via != nil {
				if _, ok := out.Picked(*d.via); !ok {
					continue
				}
				by = *d.via
			}
			// The Role an app's grant in a system namespace binds comes with it.
			granted := grantedRole(by, d.key) && s.kindAllowed(d.key) && isPicked(out, by)
			if dep := idx.byKey[d.key]; dep != nil {
				pickAs(dep, d.why, granted)
			} else if _, known := out.needed[d.key]; !known && outside(d.key) && (granted || s.allowedKey(d.key)) {
				out.needed[d.key] = d.why
			}
		}
	}
	return out
}

// isPicked says whether the object of key k is picked.
func isPicked(p Selection, k ObjectKey) bool {
	_, ok := p.Picked(k)
	return ok
}

// Narrows reports whether the selection names namespaces, labels or an
// app stack. When it does not, Select picks the objects Allowed, each for
// itself (""): every one is a root, and a dependency is one of them — but
// for the Roles of system namespaces that apps' grants there bind
// (GrantedRoles). A caller may then ask Allowed of each object, and
// GrantedRoles once, instead of holding Select's map of every object.
func (s Selector) Narrows() bool {
	return len(s.Namespaces) > 0 || (s.Labels != nil && !s.Labels.Empty()) || s.Stack != ""
}

// Allowed applies the rules that hold for roots and dependencies alike:
// kind filters and the system namespaces (but for an app's grant there,
// AppGrant).
func (s Selector) Allowed(obj Object) bool {
	k := KeyOf(obj)
	return s.allowedKey(k) || (s.kindAllowed(k) && AppGrant(obj))
}

// kindAllowed applies the kind filters.
func (s Selector) kindAllowed(k ObjectKey) bool {
	return s.KindAllowed(schema.GroupKind{Group: k.Group, Kind: k.Kind})
}

// KindAllowed says whether the kind filters (--include-kinds,
// --exclude-kinds) let objects of gk be copied.
func (s Selector) KindAllowed(gk schema.GroupKind) bool {
	if len(s.IncludeKinds) > 0 && !slices.Contains(s.IncludeKinds, gk) {
		return false
	}
	return !slices.Contains(s.ExcludeKinds, gk)
}

func (s Selector) allowedKey(k ObjectKey) bool {
	gk := schema.GroupKind{Group: k.Group, Kind: k.Kind}
	if !s.kindAllowed(k) {
		return false
	}
	if s.IncludeSystem {
		return true
	}
	if isNamespace(gk) {
		return !SystemNamespace(k.Name)
	}
	return !SystemNamespace(k.Namespace)
}

// root reports whether obj matches the selection itself.
func (s Selector) root(obj Object) bool {
	ns := obj.GetNamespace()
	namespaced := ns != ""
	byLabels := s.Labels != nil && !s.Labels.Empty()
	inNamespaces := func(n string) bool { return len(s.Namespaces) == 0 || slices.Contains(s.Namespaces, n) }
	matches := func() bool { return !byLabels || s.Labels.Matches(labels.Set(obj.GetLabels())) }

	// A narrowing selection roots nothing in a system namespace unless
	// asked (an app's grant there comes along with the app, AppGrant).
	system := namespaced && SystemNamespace(ns) && !s.IncludeSystem
	switch {
	case s.Stack != "":
		if obj.GetLabels()[PartOfLabel] != s.Stack {
			return false
		}
		if namespaced {
			return inNamespaces(ns) && matches() && !system
		}
		return !isNamespace(obj.GroupVersionKind().GroupKind()) || inNamespaces(obj.GetName())
	case !s.Narrows():
		return true
	case namespaced:
		return inNamespaces(ns) && matches() && !system
	default:
		// Cluster-scoped objects come only as dependencies, except the
		// namespaces the user named.
		return len(s.Namespaces) > 0 && isNamespace(obj.GroupVersionKind().GroupKind()) &&
			slices.Contains(s.Namespaces, obj.GetName())
	}
}

// isNamespace reports whether gk is the core Namespace kind.
func isNamespace(gk schema.GroupKind) bool {
	return gk == schema.GroupKind{Kind: "Namespace"}
}

// compareKeys orders object keys by group, kind, namespace and name.
func compareKeys(a, b ObjectKey) int {
	return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Kind, b.Kind),
		strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}
