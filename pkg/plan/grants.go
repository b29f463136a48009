package plan

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Grant is one CustomResourceDefinition a ServiceAccount is granted on through
// RBAC: a binding names the ServiceAccount as a subject and refers to a role
// with a rule on one of the CRD's resources. An operator whose ServiceAccount
// watches its own kinds has no use in the target without their CRDs, even
// before any custom resource exists.
type Grant struct {
	ServiceAccount ObjectKey // the ServiceAccount granted
	Binding        ObjectKey // the RoleBinding or ClusterRoleBinding naming it
	Role           ObjectKey // the Role or ClusterRole whose rule names the resource
	CRD            ObjectKey // the CustomResourceDefinition serving the resource
	// Wildcard: the rule names no resource but every one of the CRD's
	// group (resources "*"), with a verb that writes, or in a role that
	// writes in one of the rule's groups.
	Wildcard bool
}

// Why names the chain for a user, in the form of Select's reasons: "CRD
// granted to ServiceAccount ops/operator by ClusterRole operator-role
// (ClusterRoleBinding operator) on applications.example.io".
func (g Grant) Why() string {
	return "CRD granted to " + Describe(g.ServiceAccount) + " by " + Describe(g.Role) +
		" (" + Describe(g.Binding) + ") on " + g.CRD.Name
}

// GrantedCRDs lists the CRDs that the ServiceAccounts of namespaces (nil or
// empty: every namespace) are granted on through RBAC, one Grant per
// ServiceAccount, binding, role and CRD, in the order of objs. Only objects in
// objs count: a binding whose role or a rule whose CRD is absent grants
// nothing here. Rules are read as stored, so an aggregated ClusterRole counts
// with the rules the aggregation controller gave it — but not the cluster's
// default roles (see defaultRole). A wildcard group is ignored; every
// resource of a named group is each of its CRDs (see ruleResources). Select
// follows the same grants;
// this is for reports, e.g. the plan's "namespace ops's ServiceAccounts are
// granted on CRD applications.example.io".
func GrantedCRDs(objs []*unstructured.Unstructured, namespaces []string) []Grant {
	idx := newIndex(objects(objs), nil)
	var out []Grant
	seen := map[ObjectKey]bool{}
	for _, obj := range objs {
		k := KeyOf(obj)
		if k.Group != "" || k.Kind != "ServiceAccount" || seen[k] {
			continue
		}
		seen[k] = true
		if len(namespaces) > 0 && !slices.Contains(namespaces, k.Namespace) {
			continue
		}
		out = append(out, idx.grants(k)...)
	}
	return out
}

// grants lists the CRDs the ServiceAccount sa is granted on, through every
// binding that names it: those a rule names first, then those a rule on
// every resource of their group gives (Wildcard), each CRD once per
// binding and role.
func (idx index) grants(sa ObjectKey) []Grant {
	var named, wild []Grant
	seen := map[Grant]bool{}
	add := func(g Grant) {
		if seen[g] {
			return
		}
		seen[g] = true
		if g.Wildcard {
			wild = append(wild, g)
		} else {
			named = append(named, g)
		}
	}
	for _, b := range idx.bindings[[2]string{sa.Namespace, sa.Name}] {
		rk, ok := roleRef(b)
		role := idx.byKey[rk]
		if !ok || role == nil || defaultRole(role) {
			continue
		}
		rules := list(fields(role), "rules")
		written := writtenGroups(rules)
		for _, rule := range rules {
			// A rule that writes has its own groups in written.
			controls := writesInAny(rule, written)
			for _, gr := range ruleResources(rule) {
				g := Grant{ServiceAccount: sa, Binding: KeyOf(b), Role: rk}
				if gr.Resource != "*" {
					if crd, ok := idx.crdResources[gr]; ok {
						g.CRD = crd
						add(g)
					}
					continue
				}
				if !controls {
					// Reading every kind of a group (a dashboard's)
					// serves none of them; a role that also writes in
					// one of the rule's groups (a status, one of its
					// kinds) is their controller's: istiod reads every
					// kind of Istio's seven groups in one rule, to
					// program its proxies, and writes in two of them.
					continue
				}
				g.Wildcard = true
				for _, crd := range idx.crdsOfGroup[gr.Group] {
					g.CRD = crd
					add(g)
				}
			}
		}
	}
	out := named
	for _, g := range wild {
		byName := g
		byName.Wildcard = false
		if !seen[byName] {
			out = append(out, g)
		}
	}
	return out
}

// writtenGroups are the API groups in which one of rules grants a verb that
// writes, on any resource or subresource.
func writtenGroups(rules []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, rule := range rules {
		if !writes(rule) {
			continue
		}
		groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
		for _, g := range groups {
			out[g] = true
		}
	}
	return out
}

// writesInAny says whether written holds one of rule's API groups.
func writesInAny(rule map[string]any, written map[string]bool) bool {
	groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
	return slices.ContainsFunc(groups, func(g string) bool { return g != "*" && written[g] })
}

// writes says whether a PolicyRule grants a verb that writes.
func writes(rule map[string]any) bool {
	verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
	for _, v := range verbs {
		switch v {
		case "*", "create", "update", "patch", "delete", "deletecollection":
			return true
		}
	}
	return false
}

// defaultRole says whether role is one of the cluster's default roles, which
// the apiserver labels kubernetes.io/bootstrapping=rbac-defaults (view, edit,
// admin, cluster-admin, system:…; kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings),
// or one made like view, edit and admin: an aggregated ClusterRole that
// gathers only what is labelled aggregate-to-view, -edit or -admin. Those
// gather the rules every installed project labels so: a ServiceAccount
// bound to view is granted on every such CRD of the cluster, which says
// nothing about the CRDs it serves (Kyverno's admission controller is bound
// to view, and would have been taken for Tekton's controller).
func defaultRole(role Object) bool {
	if role.GetLabels()["kubernetes.io/bootstrapping"] == "rbac-defaults" {
		return true
	}
	selectors := list(fields(role), "aggregationRule", "clusterRoleSelectors")
	for _, sel := range selectors {
		labels, _, _ := unstructured.NestedStringMap(sel, "matchLabels")
		exprs, _, _ := unstructured.NestedSlice(sel, "matchExpressions")
		if len(labels) == 0 || len(exprs) > 0 {
			return false
		}
		for k := range labels {
			switch k {
			case "rbac.authorization.k8s.io/aggregate-to-view", "rbac.authorization.k8s.io/aggregate-to-edit", "rbac.authorization.k8s.io/aggregate-to-admin":
			default:
				return false
			}
		}
	}
	return len(selectors) > 0
}

// ruleResources lists the group/resource pairs a PolicyRule names, with
// subresources stripped ("applications/status" is the applications resource).
// A wildcard group is skipped, not expanded: a rule on every group says
// nothing about which CRDs the subject needs, and expanding it would drag
// every CRD of the cluster into a selection (think of an SA bound to
// cluster-admin). A wildcard resource of a named group ("*", "*/status") is
// returned as the resource "*": every resource of that group, as Knative's
// and istiod's roles grant on their own groups.
func ruleResources(rule map[string]any) []schema.GroupResource {
	groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
	resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
	var out []schema.GroupResource
	for _, g := range groups {
		if g == "*" {
			continue
		}
		for _, r := range resources {
			r, _, _ = strings.Cut(r, "/")
			if r == "" {
				continue
			}
			out = append(out, schema.GroupResource{Group: g, Resource: r})
		}
	}
	return out
}

// crdResource returns the group and plural resource a CRD serves. The plural
// falls back to the CRD's name, which the apiserver requires to be
// <plural>.<group>.
func crdResource(crd Object) schema.GroupResource {
	group := str(fields(crd), "spec", "group")
	plural := str(fields(crd), "spec", "names", "plural")
	if plural == "" {
		plural, _ = strings.CutSuffix(crd.GetName(), "."+group)
	}
	return schema.GroupResource{Group: group, Resource: plural}
}
