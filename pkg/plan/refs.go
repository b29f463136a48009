package plan

import (
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// References an extension API makes by kind and name.
//
// Kubernetes' own kinds name what they need at fields deps.go knows. An
// extension's kinds cannot be known one by one, but most follow the
// convention of Kubernetes' ObjectReference and TypedLocalObjectReference:
// a map with "kind" and "name", the group in "group", "apiGroup" or
// "apiVersion" when it is not implied, and "namespace" when it is another
// namespace's. cert-manager's issuerRef, Gateway API's parentRefs,
// external-secrets' secretStoreRef and Karpenter's nodeClassRef are such
// maps. A selection that copies a Certificate brings the ClusterIssuer it
// names that way.

// readsRefs says whether the selection reads gk's objects for references
// by kind and name: the kinds of extension APIs.
func readsRefs(gk schema.GroupKind) bool { return !sanitize.BuiltInGroup(gk.Group) }

// kindRef is one reference by kind and name found in an object.
type kindRef struct {
	group     string // "" with groupSet false: not said
	groupSet  bool
	kind      string
	namespace string // "" when not said
	name      string
	path      string // where, e.g. spec.issuerRef
	// scope, when the API says it: namespaced (the namespace is the
	// referrer's unless said) or clusterScoped; otherwise either.
	scope refScope
}

type refScope int

const (
	eitherScope refScope = iota
	namespacedScope
	clusterScope
)

// maxRefDepth bounds the walk of one object: references sit a few levels
// down; a deeper tree is data, not references.
const maxRefDepth = 12

// gatewayGroup is Gateway API's group. Its references leave the kind out
// when it is the default, which the API documents per field: parentRefs
// name Gateways, backendRefs Services, certificateRefs Secrets
// (https://gateway-api.sigs.k8s.io/reference/spec/).
const gatewayGroup = "gateway.networking.k8s.io"

var gatewayDefaults = map[string]kindRef{
	"parentRefs":      {group: gatewayGroup, groupSet: true, kind: "Gateway", scope: namespacedScope},
	"backendRefs":     {group: "", groupSet: true, kind: "Service", scope: namespacedScope},
	"certificateRefs": {group: "", groupSet: true, kind: "Secret", scope: namespacedScope},
}

// kindRefs lists the references by kind and name in obj's fields other
// than metadata and status (what the object's author wrote); gateway says
// the object is Gateway API's, whose references may leave kind out.
func kindRefs(obj map[string]any, gateway bool) []kindRef {
	var out []kindRef
	for k, v := range obj {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		walkRefs(v, k, 1, func(m map[string]any, path string) {
			r, ok := asKindRef(m)
			if !ok && gateway {
				r, ok = gatewayRef(m, path)
			}
			if ok {
				r.path = path
				out = append(out, r)
			}
		})
	}
	if gateway {
		if class := str(obj, "spec", "gatewayClassName"); class != "" {
			out = append(out, kindRef{group: gatewayGroup, groupSet: true, kind: "GatewayClass", name: class, path: "spec.gatewayClassName", scope: clusterScope})
		}
	}
	// In path order: a reason does not depend on map order.
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// walkRefs calls visit for every map in v (v included), depth-first.
func walkRefs(v any, path string, depth int, visit func(map[string]any, string)) {
	if depth > maxRefDepth {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		visit(t, path)
		for k, c := range t {
			walkRefs(c, path+"."+k, depth+1, visit)
		}
	case []any:
		for i, c := range t {
			walkRefs(c, path+"["+strconv.Itoa(i)+"]", depth+1, visit)
		}
	}
}

// asKindRef reads m as a reference by kind and name, if it is one.
func asKindRef(m map[string]any) (kindRef, bool) {
	kind, _ := m["kind"].(string)
	name, _ := m["name"].(string)
	if kind == "" || name == "" || kind[0] < 'A' || kind[0] > 'Z' {
		return kindRef{}, false
	}
	r := kindRef{kind: kind, name: name}
	r.namespace, _ = m["namespace"].(string)
	for _, f := range []string{"group", "apiGroup"} {
		if g, ok := m[f].(string); ok {
			r.group, r.groupSet = g, true
			return r, true
		}
	}
	if av, ok := m["apiVersion"].(string); ok && av != "" {
		r.group, r.groupSet = "", true
		if g, _, found := strings.Cut(av, "/"); found {
			r.group = g
		}
	}
	return r, true
}

// gatewayRef reads m, an item of a Gateway API list of references at
// path, with the kind and group the API defaults to.
func gatewayRef(m map[string]any, path string) (kindRef, bool) {
	name, _ := m["name"].(string)
	if name == "" || !strings.HasSuffix(path, "]") {
		return kindRef{}, false
	}
	field := path[:strings.LastIndex(path, "[")]
	field = field[strings.LastIndex(field, ".")+1:]
	r, ok := gatewayDefaults[field]
	if !ok {
		return kindRef{}, false
	}
	if _, set := m["kind"]; set {
		return kindRef{}, false // a kind of its own, not a name: not a reference asKindRef reads
	}
	r.name = name
	r.namespace, _ = m["namespace"].(string)
	if g, ok := m["group"].(string); ok {
		r.group = g
	}
	return r, true
}

// refDeps lists the objects the references by kind and name of obj (of
// key k, described as self) may name: one candidate per group and
// namespace the reference leaves open — the referrer's own group, the
// core group and the groups that serve the kind; the referrer's namespace
// and the cluster scope. Only those the source has are ever picked.
func (idx index) refDeps(k ObjectKey, f map[string]any, self string) []dep {
	var out []dep
	for _, r := range kindRefs(f, k.Group == gatewayGroup) {
		groups := []string{r.group}
		if !r.groupSet {
			groups = append([]string{k.Group, ""}, idx.kindGroups[r.kind]...)
		}
		namespaces := []string{r.namespace}
		switch {
		case r.scope == clusterScope:
			namespaces = []string{""}
		case r.namespace != "" || k.Namespace == "":
		case r.scope == namespacedScope:
			namespaces = []string{k.Namespace}
		default:
			namespaces = []string{k.Namespace, ""}
		}
		seen := map[ObjectKey]bool{}
		for _, g := range groups {
			for _, ns := range namespaces {
				key := ObjectKey{Group: g, Kind: r.kind, Namespace: ns, Name: r.name}
				if seen[key] || key == k {
					continue
				}
				seen[key] = true
				out = append(out, dep{key: key, why: r.kind + " " + r.name + " referenced by " + self + " (" + r.path + ")"})
			}
		}
	}
	return out
}

// pruneRefs is v with only the branches that lead to references by kind
// and name (for Essential), and whether there are any.
func pruneRefs(v any, depth int) (any, bool) {
	if depth > maxRefDepth {
		return nil, false
	}
	switch t := v.(type) {
	case map[string]any:
		if _, ok := asKindRef(t); ok {
			return t, true // the reference whole: its fields are few
		}
		var out map[string]any
		for k, c := range t {
			if p, ok := pruneRefs(c, depth+1); ok {
				if out == nil {
					out = map[string]any{}
				}
				out[k] = p
			}
		}
		return out, out != nil
	case []any:
		// Items without references stay as nulls: a reference's path
		// (parentRefs[2]) is the same in the pruned copy.
		out := make([]any, len(t))
		found := false
		for i, c := range t {
			if p, ok := pruneRefs(c, depth+1); ok {
				out[i], found = p, true
			}
		}
		return out, found
	}
	return nil, false
}

// essentialRefs sets in out, from obj, the branches of its fields that
// lead to references by kind and name (see Essential); of a Gateway API
// object, whose references are known by their fields, the spec whole
// (routes and gateways are small).
func essentialRefs(out, obj map[string]any, gateway bool) {
	if gateway {
		copyAt(out, obj, "spec")
		return
	}
	for k, v := range obj {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		if p, ok := pruneRefs(v, 1); ok {
			out[k] = p
		}
	}
}
