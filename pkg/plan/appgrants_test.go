package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// An app in its own namespace granted something in kube-system (its
// leader election, an extension apiserver's authentication reader): the
// grant and the Role of kube-system it binds come with the app; the
// cluster's own bindings there, and one that also grants a user, do not.
func TestAppGrantInASystemNamespaceComesWithTheApp(t *testing.T) {
	objs := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: cert-manager}}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: cert-manager, namespace: cert-manager}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: cert-manager, namespace: cert-manager}, spec: {template: {spec: {serviceAccountName: cert-manager}}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: "cert-manager:leaderelection", namespace: kube-system}, rules: [{apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, update]}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: "cert-manager:leaderelection", namespace: kube-system}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "cert-manager:leaderelection"}, subjects: [{kind: ServiceAccount, name: cert-manager, namespace: cert-manager}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: cluster-own, namespace: kube-system}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "cert-manager:leaderelection"}, subjects: [{kind: ServiceAccount, name: bootstrap-signer}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: mixed, namespace: kube-system}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: other}, subjects: [{kind: ServiceAccount, name: cert-manager, namespace: cert-manager}, {kind: User, name: bob}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: other, namespace: kube-system}}`,
	)
	grant := ObjectKey{Group: rbacGroup, Kind: "RoleBinding", Namespace: "kube-system", Name: "cert-manager:leaderelection"}
	role := ObjectKey{Group: rbacGroup, Kind: "Role", Namespace: "kube-system", Name: "cert-manager:leaderelection"}

	byNamespace := Select(objs, Selector{Namespaces: []string{"cert-manager"}})
	want := map[ObjectKey]string{
		grant: "RoleBinding of ServiceAccount cert-manager/cert-manager",
		role:  "Role bound to ServiceAccount cert-manager/cert-manager by RoleBinding kube-system/cert-manager:leaderelection",
	}
	got := map[ObjectKey]string{}
	for k, why := range byNamespace {
		if k.Namespace == "kube-system" {
			got[k] = why
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("kube-system's objects picked with namespace cert-manager (-want +got):\n%s", d)
	}
	p := Pick(objs, Selector{Namespaces: []string{"cert-manager"}})
	for k := range want {
		if _, ok := p.Picked(k); !ok {
			t.Errorf("Pick did not pick %s", Describe(k))
		}
	}

	// Narrowing nothing: Allowed takes the grant, GrantedRoles its Role.
	all := Selector{}
	for _, o := range objs {
		k := KeyOf(o)
		if wantAllowed := k.Namespace != "kube-system" || k == grant; all.Allowed(o) != wantAllowed {
			t.Errorf("Allowed(%s) = %v, want %v", Describe(k), !wantAllowed, wantAllowed)
		}
	}
	if d := cmp.Diff(map[ObjectKey]string{role: "Role referenced by RoleBinding kube-system/cert-manager:leaderelection"}, GrantedRoles(objs, all)); d != "" {
		t.Errorf("GrantedRoles (-want +got):\n%s", d)
	}

	// A mirror that sees the Role change alone, having found the grant
	// that binds it (GrantedRoles), picks it as Reach's also; without that,
	// not.
	var roleObj Object
	for _, o := range objs {
		if KeyOf(o) == role {
			roleObj = o
		}
	}
	for _, s := range []Selector{{}, {Namespaces: []string{"cert-manager"}}} {
		if p, _ := Reach([]Object{roleObj}, s, GrantedRoles(objs, s), nil); p[role] == "" {
			t.Errorf("%+v: Reach of the Role with its grant found: %v", s, p)
		}
		if p, _ := Reach([]Object{roleObj}, s, nil, nil); len(p) != 0 {
			t.Errorf("%+v: Reach of the Role alone picked %v", s, p)
		}
	}

	// Naming kube-system itself still needs IncludeSystem; excluding
	// RoleBindings leaves the grant and its Role out.
	if got := Select(objs, Selector{Namespaces: []string{"kube-system"}}); len(got) != 0 {
		t.Errorf("kube-system without IncludeSystem: %v", names(got))
	}
	noBindings := Selector{Namespaces: []string{"cert-manager"}, ExcludeKinds: []schema.GroupKind{{Group: rbacGroup, Kind: "RoleBinding"}}}
	for k := range Select(objs, noBindings) {
		if k.Namespace == "kube-system" {
			t.Errorf("%s picked with RoleBindings excluded", Describe(k))
		}
	}
}
