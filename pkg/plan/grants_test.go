package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// operator is an operator's namespace before any custom resource exists, and
// the CRDs of a cluster; each case adds the RBAC that ties them together.
var operator = []string{
	`{apiVersion: v1, kind: Namespace, metadata: {name: ops}}`,
	`{apiVersion: v1, kind: ServiceAccount, metadata: {name: operator, namespace: ops}}`,
	`{apiVersion: apps/v1, kind: Deployment, metadata: {name: operator, namespace: ops, labels: {app.kubernetes.io/part-of: op}},
	  spec: {template: {spec: {serviceAccountName: operator}}}}`,
	`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: applications.example.io},
	  spec: {group: example.io, names: {kind: Application, plural: applications}}}`,
	`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.other.io},
	  spec: {group: other.io, names: {kind: Widget, plural: widgets}}}`,
	`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: unrelated.example.io},
	  spec: {group: example.io, names: {kind: Unrelated, plural: unrelated}}}`,
	// Another namespace's operator, granted on widgets: not ops's business.
	`{apiVersion: v1, kind: ServiceAccount, metadata: {name: other, namespace: web}}`,
	`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: other},
	  subjects: [{kind: ServiceAccount, name: other, namespace: web}], roleRef: {kind: ClusterRole, name: other-role}}`,
	`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: other-role},
	  rules: [{apiGroups: [other.io], resources: [widgets], verbs: [get]}]}`,
}

const (
	crbOperator = `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: operator},
	  subjects: [{kind: ServiceAccount, name: operator, namespace: ops}], roleRef: {kind: ClusterRole, name: operator-role}}`
	rbOperator = `{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: operator, namespace: ops},
	  subjects: [{kind: ServiceAccount, name: operator}], roleRef: {kind: ClusterRole, name: operator-role}}`
)

// clusterRole is ClusterRole operator-role with rules (YAML flow list).
func clusterRole(rules string) string {
	return `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: operator-role}, rules: ` + rules + `}`
}

func crdKey(name string) ObjectKey { return ObjectKey{crdGroup, "CustomResourceDefinition", "", name} }

func TestSelectBringsGrantedCRDs(t *testing.T) {
	const (
		viaCRB = "CRD granted to ServiceAccount ops/operator by ClusterRole operator-role (ClusterRoleBinding operator) on "
		viaRB  = "CRD granted to ServiceAccount ops/operator by ClusterRole operator-role (RoleBinding ops/operator) on "
	)
	ns := Selector{Namespaces: []string{"ops"}}
	cases := []struct {
		name string
		rbac []string
		s    Selector
		want map[ObjectKey]string // the CRDs selected, with why
	}{
		{"cluster role binding on two CRDs", []string{crbOperator, clusterRole(
			`[{apiGroups: [example.io], resources: [applications, applications/status], verbs: ["*"]},
			  {apiGroups: [other.io], resources: [widgets], verbs: [list, watch]}]`)}, ns,
			map[ObjectKey]string{
				crdKey("applications.example.io"): viaCRB + "applications.example.io",
				crdKey("widgets.other.io"):        viaCRB + "widgets.other.io",
			}},
		{"role binding in the namespace to a cluster role", []string{rbOperator, clusterRole(
			`[{apiGroups: [example.io], resources: [applications]}]`)}, ns,
			map[ObjectKey]string{crdKey("applications.example.io"): viaRB + "applications.example.io"}},
		{"role", []string{
			`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: operator, namespace: ops},
			  subjects: [{kind: ServiceAccount, name: operator}], roleRef: {kind: Role, name: local}}`,
			`{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: local, namespace: ops},
			  rules: [{apiGroups: [other.io], resources: [widgets]}]}`}, ns,
			map[ObjectKey]string{crdKey("widgets.other.io"): "CRD granted to ServiceAccount ops/operator by Role ops/local (RoleBinding ops/operator) on widgets.other.io"}},
		{"subresource only", []string{crbOperator, clusterRole(
			`[{apiGroups: [example.io], resources: [applications/status, applications/finalizers]}]`)}, ns,
			map[ObjectKey]string{crdKey("applications.example.io"): viaCRB + "applications.example.io"}},
		{"a wildcard group brings nothing", []string{crbOperator, clusterRole(
			`[{apiGroups: ["*"], resources: [applications]}, {apiGroups: ["*"], resources: ["*"]},
			  {nonResourceURLs: [/healthz], verbs: [get]}]`)}, ns,
			nil},
		{"every resource of a named group is each of its CRDs", []string{crbOperator, clusterRole(
			`[{apiGroups: [example.io], resources: ["*"], verbs: [get, list, watch, update]}, {apiGroups: [other.io], resources: ["*/status"], verbs: [patch]},
			  {apiGroups: [""], resources: ["*"], verbs: ["*"]}]`)}, ns,
			map[ObjectKey]string{
				crdKey("applications.example.io"): viaCRB + "applications.example.io",
				crdKey("unrelated.example.io"):    viaCRB + "unrelated.example.io",
				crdKey("widgets.other.io"):        viaCRB + "widgets.other.io",
			}},
		{"reading every resource of a group grants none of them", []string{crbOperator, clusterRole(
			`[{apiGroups: [example.io, other.io], resources: ["*"], verbs: [get, list, watch]}]`)}, ns,
			nil},
		// istiod's: one rule reads every kind of Istio's groups to program
		// its proxies, and the role writes the status of some.
		{"reading every resource of groups the role also writes in grants each of them", []string{crbOperator, clusterRole(
			`[{apiGroups: [example.io, other.io], resources: ["*"], verbs: [get, list, watch]},
			  {apiGroups: [example.io], resources: [applications/status], verbs: [update]}]`)}, ns,
			map[ObjectKey]string{
				crdKey("applications.example.io"): viaCRB + "applications.example.io",
				crdKey("unrelated.example.io"):    viaCRB + "unrelated.example.io",
				crdKey("widgets.other.io"):        viaCRB + "widgets.other.io",
			}},
		{"a read of every resource in a rule of its own stays out, the role's writes elsewhere", []string{crbOperator, clusterRole(
			`[{apiGroups: [other.io], resources: ["*"], verbs: [get, list, watch]},
			  {apiGroups: [example.io], resources: [applications/status], verbs: [update]}]`)}, ns,
			map[ObjectKey]string{
				crdKey("applications.example.io"): viaCRB + "applications.example.io",
			}},
		{"a role an aggregate-to-view label gathers into, made like view, grants nothing", []string{crbOperator,
			`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: operator-role},
			  aggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}}]},
			  rules: [{apiGroups: [example.io], resources: [applications], verbs: [get, list, watch]}]}`}, ns,
			nil},
		{"the cluster's default roles grant nothing", []string{
			`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: operator},
			  subjects: [{kind: ServiceAccount, name: operator, namespace: ops}], roleRef: {kind: ClusterRole, name: view}}`,
			`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: view, labels: {kubernetes.io/bootstrapping: rbac-defaults}},
			  aggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}}]},
			  rules: [{apiGroups: [example.io], resources: [applications], verbs: [get, list, watch]}, {apiGroups: [other.io], resources: ["*"], verbs: [get]}]}`}, ns,
			nil},
		{"wildcard beside a named group", []string{crbOperator, clusterRole(
			`[{apiGroups: ["*", example.io], resources: [applications]}]`)}, ns,
			map[ObjectKey]string{crdKey("applications.example.io"): viaCRB + "applications.example.io"}},
		{"core and built-in resources are no CRDs", []string{crbOperator, clusterRole(
			`[{apiGroups: ["", apps], resources: [configmaps, deployments]}]`)}, ns, nil},
		{"aggregated cluster role, rules as stored", []string{crbOperator,
			`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: operator-role},
			  aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: op}}]},
			  rules: [{apiGroups: [other.io], resources: [widgets]}]}`,
			`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: part, labels: {agg: op}},
			  rules: [{apiGroups: [other.io], resources: [widgets]}]}`}, ns,
			map[ObjectKey]string{crdKey("widgets.other.io"): viaCRB + "widgets.other.io"}},
		{"stack brings them through the workload's ServiceAccount", []string{crbOperator, clusterRole(
			`[{apiGroups: [example.io], resources: [applications]}]`)}, Selector{Stack: "op"},
			map[ObjectKey]string{crdKey("applications.example.io"): viaCRB + "applications.example.io"}},
		{"binding left out, no grant", []string{crbOperator, clusterRole(
			`[{apiGroups: [example.io], resources: [applications]}]`)},
			Selector{Namespaces: []string{"ops"}, ExcludeKinds: []schema.GroupKind{{Group: rbacGroup, Kind: "ClusterRoleBinding"}}}, nil},
		{"role absent from the source", []string{crbOperator}, ns, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[ObjectKey]string{}
			for k, why := range Select(parseAll(t, append(append([]string{}, operator...), tc.rbac...)...), tc.s) {
				if k.Kind == "CustomResourceDefinition" {
					got[k] = why
				}
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("CRDs selected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGrantedCRDs(t *testing.T) {
	objs := parseAll(t, append(append([]string{}, operator...), crbOperator, rbOperator, clusterRole(
		`[{apiGroups: [example.io], resources: [applications, applications/status]}]`))...)
	sa := func(ns, name string) ObjectKey { return ObjectKey{"", "ServiceAccount", ns, name} }
	crb := func(name string) ObjectKey { return ObjectKey{rbacGroup, "ClusterRoleBinding", "", name} }
	cr := func(name string) ObjectKey { return ObjectKey{rbacGroup, "ClusterRole", "", name} }
	ops := []Grant{
		{sa("ops", "operator"), crb("operator"), cr("operator-role"), crdKey("applications.example.io"), false},
		{sa("ops", "operator"), ObjectKey{rbacGroup, "RoleBinding", "ops", "operator"}, cr("operator-role"), crdKey("applications.example.io"), false},
	}
	web := Grant{sa("web", "other"), crb("other"), cr("other-role"), crdKey("widgets.other.io"), false}
	cases := []struct {
		name       string
		namespaces []string
		want       []Grant
	}{
		{"one namespace", []string{"ops"}, ops},
		{"every namespace", nil, append([]Grant{web}, ops...)},
		{"none granted", []string{"quiet"}, nil},
	}
	// The same grants from what Essential keeps of the objects.
	essential := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		essential[i] = Essential(o)
	}
	for form, objs := range map[string][]*unstructured.Unstructured{"whole": objs, "essential": essential} {
		for _, tc := range cases {
			t.Run(form+"/"+tc.name, func(t *testing.T) {
				got := GrantedCRDs(objs, tc.namespaces)
				less := func(a, b Grant) bool { return a.Why() < b.Why() }
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(less)); diff != "" {
					t.Errorf("GrantedCRDs (-want +got):\n%s", diff)
				}
			})
		}
	}
	if why := ops[0].Why(); !strings.HasSuffix(why, "by ClusterRole operator-role (ClusterRoleBinding operator) on applications.example.io") {
		t.Errorf("Why() = %q", why)
	}
}

// A CRD that two roots reach (a custom resource of it, and the operator's
// ServiceAccount granted on it) comes with the same reason whatever order
// the objects are listed in: sync's lists arrive in parallel.
func TestSelectReasonDoesNotDependOnListOrder(t *testing.T) {
	objs := parseAll(t, append(append([]string{}, operator...), crbOperator, clusterRole(`[{apiGroups: [example.io], resources: [applications]}]`),
		`{apiVersion: example.io/v1, kind: Application, metadata: {name: one, namespace: ops}}`)...)
	ns := Selector{Namespaces: []string{"ops"}}
	want := ""
	for i := 0; i < 2*len(objs); i++ {
		order := slices.Clone(objs)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		rotate := i / 2
		order = append(order[rotate:], order[:rotate]...)
		for _, picked := range []map[ObjectKey]string{Select(order, ns), whyOf(Pick(order, ns), order)} {
			why, ok := picked[crdKey("applications.example.io")]
			if !ok || why == "" {
				t.Fatalf("order %d: CRD not picked as a dependency (%q, %v)", i, why, ok)
			}
			if want == "" {
				want = why
			}
			if why != want {
				t.Errorf("order %d: why %q, another order gave %q", i, why, want)
			}
		}
	}
}

// whyOf is Pick's answer as Select's map.
func whyOf(sel Selection, objs []*unstructured.Unstructured) map[ObjectKey]string {
	out := map[ObjectKey]string{}
	for _, o := range objs {
		if why, ok := sel.Picked(KeyOf(o)); ok {
			out[KeyOf(o)] = why
		}
	}
	return out
}

// A CRD both named by a rule and in a group another rule grants whole comes
// once, as named; the group's other CRDs after it, marked Wildcard.
func TestGrantedCRDsNamedBeforeWildcard(t *testing.T) {
	objs := parseAll(t, append(append([]string{}, operator...), crbOperator, clusterRole(
		`[{apiGroups: [example.io], resources: ["*"], verbs: ["*"]}, {apiGroups: [example.io], resources: [applications], verbs: [get]}]`))...)
	var got []string
	for _, g := range GrantedCRDs(objs, []string{"ops"}) {
		got = append(got, fmt.Sprintf("%s wildcard=%t", g.CRD.Name, g.Wildcard))
	}
	want := []string{"applications.example.io wildcard=false", "unrelated.example.io wildcard=true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}
}
