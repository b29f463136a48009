package plan

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// source is a small source cluster: a "store" stack in shop, a blog, and kube-system.
const source = `
{apiVersion: v1, kind: Namespace, metadata: {name: shop}}
---
{apiVersion: v1, kind: Namespace, metadata: {name: blog}}
---
{apiVersion: v1, kind: Namespace, metadata: {name: kube-system}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app.kubernetes.io/part-of: store, app: web}}
spec: {template: {spec: {serviceAccountName: web, priorityClassName: high, volumes: [{name: c, configMap: {name: web-config}}, {name: d, persistentVolumeClaim: {claimName: data}}]}}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: web-config, namespace: shop}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: unused, namespace: shop}}
---
{apiVersion: v1, kind: Secret, metadata: {name: web-cert, namespace: shop}}
---
{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: shop}, spec: {storageClassName: fast}}
---
{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: fast}}
---
{apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: high}}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: web, namespace: shop}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: web-read, namespace: shop}, subjects: [{kind: ServiceAccount, name: web}], roleRef: {kind: Role, name: reader}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: reader, namespace: shop}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: web-view}, subjects: [{kind: ServiceAccount, name: web, namespace: shop}], roleRef: {kind: ClusterRole, name: view}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: view}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: unused}}
---
{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop, labels: {app: web}}, spec: {selector: {app: web}}}
---
{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web, namespace: shop, labels: {app.kubernetes.io/part-of: store}}, spec: {ingressClassName: nginx, tls: [{secretName: web-cert}], defaultBackend: {service: {name: web}}}}
---
{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: nginx, labels: {app.kubernetes.io/part-of: store}}}
---
{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: backups.velero.io}, spec: {group: velero.io, names: {kind: Backup}}}
---
{apiVersion: velero.io/v1, kind: Backup, metadata: {name: nightly, namespace: blog, labels: {app.kubernetes.io/part-of: store}}}
---
{apiVersion: apps/v1, kind: Deployment, metadata: {name: site, namespace: blog}, spec: {template: {spec: {}}}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: coredns, namespace: kube-system}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: web-kube, namespace: kube-system}, subjects: [{kind: ServiceAccount, name: web, namespace: shop}], roleRef: {kind: Role, name: leader}}
`

// names lists selected keys as "Kind ns/name", sorted.
func names(sel map[ObjectKey]string) []string {
	var out []string
	for k := range sel {
		out = append(out, Describe(k))
	}
	sort.Strings(out)
	return out
}

func TestSelect(t *testing.T) {
	objs := parseAll(t, strings.Split(source, "\n---\n")...)
	all := func(except ...string) []string {
		var out []string
		for _, o := range objs {
			if d := Describe(KeyOf(o)); !contains(except, d) {
				out = append(out, d)
			}
		}
		sort.Strings(out)
		return out
	}
	// web-kube binds shop's ServiceAccount in kube-system: the app's grant
	// there (AppGrant), copied with the app, unlike the cluster's own.
	system := []string{"Namespace kube-system", "ConfigMap kube-system/coredns"}
	shopDeps := []string{"Namespace shop", "StorageClass fast", "PriorityClass high", "ClusterRoleBinding web-view",
		"ClusterRole view", "IngressClass nginx", "RoleBinding kube-system/web-kube"}
	shop := []string{"Deployment shop/web", "ConfigMap shop/web-config", "ConfigMap shop/unused", "Secret shop/web-cert",
		"PersistentVolumeClaim shop/data", "ServiceAccount shop/web", "RoleBinding shop/web-read", "Role shop/reader",
		"Service shop/web", "Ingress shop/web"}
	cases := []struct {
		name string
		s    Selector
		want []string
	}{
		{"default", Selector{}, all(system...)},
		{"default with system", Selector{IncludeSystem: true}, all()},
		{"everything label selector is no filter", Selector{Labels: labels.Everything()}, all(system...)},
		{"namespace", Selector{Namespaces: []string{"shop"}}, sorted(shop, shopDeps)},
		{"system namespace needs IncludeSystem", Selector{Namespaces: []string{"kube-system"}}, nil},
		{"system namespace with IncludeSystem", Selector{Namespaces: []string{"kube-system"}, IncludeSystem: true},
			sorted(system, []string{"RoleBinding kube-system/web-kube"})},
		{"labels", Selector{Labels: labels.SelectorFromSet(labels.Set{"app": "web"})}, sorted(
			[]string{"Deployment shop/web", "Service shop/web", "ConfigMap shop/web-config", "PersistentVolumeClaim shop/data",
				"ServiceAccount shop/web", "RoleBinding shop/web-read", "Role shop/reader"},
			[]string{"Namespace shop", "StorageClass fast", "PriorityClass high", "ClusterRoleBinding web-view", "ClusterRole view", "RoleBinding kube-system/web-kube"})},
		{"exclude kinds", Selector{Namespaces: []string{"shop"}, ExcludeKinds: []schema.GroupKind{{Kind: "Secret"}, {Group: rbacGroup, Kind: "ClusterRoleBinding"}}},
			sorted(without(shop, "Secret shop/web-cert"), without(shopDeps, "ClusterRoleBinding web-view", "ClusterRole view"))},
		{"include kinds", Selector{IncludeKinds: []schema.GroupKind{{Group: "apps", Kind: "Deployment"}}},
			[]string{"Deployment blog/site", "Deployment shop/web"}},
		{"stack in a namespace", Selector{Stack: "store", Namespaces: []string{"blog"}}, []string{
			"CustomResourceDefinition backups.velero.io", "Backup blog/nightly", "IngressClass nginx", "Namespace blog"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Select(objs, tc.s)
			if diff := cmp.Diff(tc.want, names(got), cmpopts.EquateEmpty(), cmpopts.SortSlices(strLess)); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
			if tc.s.Narrows() {
				return
			}
			// Narrowing nothing, Select picks what Allowed allows, each for itself.
			allowed := map[ObjectKey]string{}
			for _, o := range objs {
				if tc.s.Allowed(o) {
					allowed[KeyOf(o)] = ""
				}
			}
			if diff := cmp.Diff(allowed, got); diff != "" {
				t.Errorf("Select of a selection that narrows nothing is not Allowed (-allowed +Select):\n%s", diff)
			}
		})
	}

	t.Run("stack reasons", func(t *testing.T) {
		want := map[ObjectKey]string{
			{"apps", "Deployment", "shop", "web"}:                           "",
			{"networking.k8s.io", "Ingress", "shop", "web"}:                 "",
			{"networking.k8s.io", "IngressClass", "", "nginx"}:              "",
			{"velero.io", "Backup", "blog", "nightly"}:                      "",
			{"", "Namespace", "", "shop"}:                                   "namespace of shop/Deployment web",
			{"", "Namespace", "", "blog"}:                                   "namespace of blog/Backup nightly",
			{crdGroup, "CustomResourceDefinition", "", "backups.velero.io"}: "CRD of Backup blog/nightly",
			{"", "ConfigMap", "shop", "web-config"}:                         "ConfigMap referenced by Deployment shop/web",
			{"", "PersistentVolumeClaim", "shop", "data"}:                   "PVC mounted by Deployment shop/web",
			{"storage.k8s.io", "StorageClass", "", "fast"}:                  "StorageClass of PVC shop/data",
			{"scheduling.k8s.io", "PriorityClass", "", "high"}:              "PriorityClass of Deployment shop/web",
			{"", "ServiceAccount", "shop", "web"}:                           "ServiceAccount of Deployment shop/web",
			{rbacGroup, "RoleBinding", "shop", "web-read"}:                  "RoleBinding of ServiceAccount shop/web",
			{rbacGroup, "RoleBinding", "kube-system", "web-kube"}:           "RoleBinding of ServiceAccount shop/web",
			{rbacGroup, "Role", "shop", "reader"}:                           "Role bound to ServiceAccount shop/web by RoleBinding shop/web-read",
			{rbacGroup, "ClusterRoleBinding", "", "web-view"}:               "ClusterRoleBinding of ServiceAccount shop/web",
			{rbacGroup, "ClusterRole", "", "view"}:                          "ClusterRole bound to ServiceAccount shop/web by ClusterRoleBinding web-view",
			{"", "Service", "shop", "web"}:                                  "Service behind Ingress shop/web",
			{"", "Secret", "shop", "web-cert"}:                              "TLS Secret of Ingress shop/web",
		}
		if diff := cmp.Diff(want, Select(objs, Selector{Stack: "store"})); diff != "" {
			t.Errorf("Select (-want +got):\n%s", diff)
		}
	})
}

func TestSystemNamespace(t *testing.T) {
	for ns, want := range map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true, "default": false, "shop": false} {
		t.Run(ns, func(t *testing.T) {
			if got := SystemNamespace(ns); got != want {
				t.Errorf("SystemNamespace(%q) = %v, want %v", ns, got, want)
			}
		})
	}
}

func strLess(a, b string) bool { return a < b }

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func sorted(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, l := range list {
		if !contains(drop, l) {
			out = append(out, l)
		}
	}
	return out
}

func TestSelectReasonComesFromTheControllerNotItsPods(t *testing.T) {
	yes := true
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "db-0", "namespace": "data", "labels": map[string]any{PartOfLabel: "shop"},
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u", "controller": yes}}},
		"spec": map[string]any{"serviceAccountName": "db-sa", "containers": []any{map[string]any{"name": "c", "image": "i"}}},
	}}
	sts := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": map[string]any{"name": "db", "namespace": "data", "labels": map[string]any{PartOfLabel: "shop"}},
		"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccountName": "db-sa", "containers": []any{map[string]any{"name": "c", "image": "i"}}}}},
	}}
	sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "db-sa", "namespace": "data"}}}
	// The pod comes first, as discovery may list it first.
	got := Select([]*unstructured.Unstructured{pod, sts, sa}, Selector{Stack: "shop"})
	why, ok := got[KeyOf(sa)]
	if !ok {
		t.Fatalf("ServiceAccount not selected: %v", got)
	}
	if !strings.Contains(why, "StatefulSet data/db") {
		t.Errorf("why %q, want it to name the StatefulSet", why)
	}
}

// Pick answers as Select does, object by object, for every selection —
// and for a selection by namespaces alone it holds none of the objects of
// those namespaces (they are picked by their keys), only what came along
// from elsewhere.
func TestPickAnswersAsSelect(t *testing.T) {
	objs := parseAll(t, strings.Split(source, "\n---\n")...)
	grant := parseAll(t, `{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.example.io}, spec: {group: example.io, names: {kind: Widget, plural: widgets}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: widgets, namespace: blog}, rules: [{apiGroups: [example.io], resources: [widgets], verbs: [get]}]}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: op, namespace: blog}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: op, namespace: blog}, subjects: [{kind: ServiceAccount, name: op}], roleRef: {kind: Role, name: widgets}}`)
	objs = append(objs, grant...)
	for _, s := range []Selector{
		{Namespaces: []string{"shop"}},
		{Namespaces: []string{"shop", "blog"}},
		{Namespaces: []string{"blog"}, ExcludeKinds: []schema.GroupKind{{Kind: "ConfigMap"}}},
		{Namespaces: []string{"kube-system"}, IncludeSystem: true},
		{Namespaces: []string{"shop"}, Labels: labels.SelectorFromSet(labels.Set{"app": "web"})},
		{Stack: "store"},
	} {
		want := Select(objs, s)
		got := Pick(objs, s)
		for _, o := range objs {
			k := KeyOf(o)
			wantWhy, wantOK := want[k]
			gotWhy, gotOK := got.Picked(k)
			if gotOK != wantOK || gotWhy != wantWhy {
				t.Errorf("%+v: Picked(%s) = %q, %v; Select: %q, %v", s, Describe(k), gotWhy, gotOK, wantWhy, wantOK)
			}
		}
		if s.ByNamespaceOnly() {
			for k := range got.why {
				if got.rootKey(k) {
					t.Errorf("%+v: %s is held, though it is picked by its key", s, Describe(k))
				}
			}
			if len(got.why) >= len(want) {
				t.Errorf("%+v: Pick held %d objects, Select %d: nothing was saved", s, len(got.why), len(want))
			}
		}
	}
}

// A namespace's app brings the cluster-scoped objects it names by kind and
// name (an extension's reference) and those that call its Services (its
// admission webhooks), with the reason; what nothing of it names stays.
func TestSelectBringsReferencedAndCallingObjects(t *testing.T) {
	objs := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: certs}}`,
		`{apiVersion: v1, kind: Service, metadata: {name: webhook, namespace: certs}, spec: {selector: {app: webhook}}}`,
		`{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingWebhookConfiguration, metadata: {name: certs-webhook},
		  webhooks: [{name: v.certs.example, clientConfig: {service: {namespace: certs, name: webhook}}}]}`,
		`{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingWebhookConfiguration, metadata: {name: other}, webhooks: [{name: v.other.example, clientConfig: {service: {namespace: other, name: hook}}}]}`,
		`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: clusterissuers.cert-manager.io}, spec: {group: cert-manager.io, names: {kind: ClusterIssuer, plural: clusterissuers}}}`,
		`{apiVersion: cert-manager.io/v1, kind: ClusterIssuer, metadata: {name: le}}`,
		`{apiVersion: cert-manager.io/v1, kind: ClusterIssuer, metadata: {name: unused}}`,
		`{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {name: tls, namespace: certs}, spec: {issuerRef: {name: le, kind: ClusterIssuer}}}`,
	)
	for _, form := range []struct {
		name string
		of   func(*unstructured.Unstructured) *unstructured.Unstructured
	}{
		{"whole", func(u *unstructured.Unstructured) *unstructured.Unstructured { return u }},
		{"essential", func(u *unstructured.Unstructured) *unstructured.Unstructured { return Essential(u) }},
	} {
		in := make([]*unstructured.Unstructured, len(objs))
		for i, o := range objs {
			in[i] = form.of(o)
		}
		got := Select(in, Selector{Namespaces: []string{"certs"}})
		want := map[string]string{
			"ValidatingWebhookConfiguration certs-webhook": "ValidatingWebhookConfiguration certs-webhook, which calls Service certs/webhook",
			"ClusterIssuer le": "ClusterIssuer le referenced by Certificate certs/tls (spec.issuerRef)",
			"CustomResourceDefinition clusterissuers.cert-manager.io": "CRD of ClusterIssuer le",
		}
		for k, why := range got {
			d := Describe(k)
			if k.Namespace == "certs" || d == "Namespace certs" {
				continue // the roots
			}
			if want[d] != why {
				t.Errorf("%s: %s picked for %q, want %q", form.name, d, why, want[d])
			}
			delete(want, d)
		}
		for d := range want {
			t.Errorf("%s: %s not picked", form.name, d)
		}
	}
}

// A mirror sees one object at a time: Reach on each change, the
// dependencies it names followed (also), and a cluster-scoped object taken
// in when BroughtBy names a selected object. Followed to the end from the
// roots, that picks what Select over the whole source picks.
func TestReachFollowedToTheEndIsSelect(t *testing.T) {
	all := parseAll(t, strings.Split(source, "\n---\n")...)
	byKey := map[ObjectKey]*unstructured.Unstructured{}
	for _, o := range all {
		byKey[KeyOf(o)] = o
	}
	for _, s := range []Selector{{Namespaces: []string{"shop"}}, {Stack: "store"}, {Labels: labels.SelectorFromSet(labels.Set{"app": "web"})}} {
		if diff := cmp.Diff(names(Select(all, s)), names(followChanges(all, s))); diff != "" {
			t.Errorf("%+v: followed change by change (-Select +Reach):\n%s", s, diff)
		}
	}
}

// followChanges picks from all as a mirror does, one object at a time
// until nothing more comes: Reach with the dependencies found so far,
// BroughtBy for what points at a picked object.
func followChanges(all []*unstructured.Unstructured, s Selector) map[ObjectKey]string {
	byKey := map[ObjectKey]*unstructured.Unstructured{}
	for _, o := range all {
		byKey[KeyOf(o)] = o
	}
	picked := map[ObjectKey]string{}
	deps := map[ObjectKey]string{}
	for changed := true; changed; {
		changed = false
		for _, o := range all {
			k := KeyOf(o)
			if _, ok := picked[k]; !ok {
				for _, l := range BroughtBy(o, s) {
					if _, ok := picked[l.By]; ok {
						deps[k] = l.Why
					}
				}
			}
			p, needed := Reach([]*unstructured.Unstructured{o}, s, deps, nil)
			for pk, why := range p {
				if _, ok := picked[pk]; !ok {
					picked[pk], changed = why, true
				}
			}
			if len(p) == 0 {
				continue
			}
			if k.Group == "velero.io" {
				// The CRD of a custom resource is the caller's to name:
				// it knows the resource's plural (pkg/mirror's crdOf).
				needed[ObjectKey{Group: crdGroup, Kind: "CustomResourceDefinition", Name: "backups.velero.io"}] = "CRD of " + Describe(k)
			}
			for nk, why := range needed {
				if _, ok := deps[nk]; !ok && byKey[nk] != nil {
					deps[nk], changed = why, true
				}
			}
		}
	}
	return picked
}

// A namespace named by itself brings the cluster-scoped parts of the Helm
// releases in it, which nothing in it names (an ingress controller's
// IngressClass); a selection by labels does not.
func TestSelectBringsTheClusterScopedPartsOfANamespacesHelmReleases(t *testing.T) {
	all := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: ingress}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: controller, namespace: ingress, labels: {app: ingress}}, spec: {template: {spec: {}}}}`,
		`{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: nginx, annotations: {meta.helm.sh/release-name: ingress-nginx, meta.helm.sh/release-namespace: ingress}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: ingress-nginx, annotations: {meta.helm.sh/release-name: ingress-nginx, meta.helm.sh/release-namespace: ingress}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: other, annotations: {meta.helm.sh/release-name: other, meta.helm.sh/release-namespace: elsewhere}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: plain}}`,
		`{apiVersion: v1, kind: Namespace, metadata: {name: team-a, annotations: {meta.helm.sh/release-name: ingress-nginx, meta.helm.sh/release-namespace: ingress}}}`,
	)
	s := Selector{Namespaces: []string{"ingress"}}
	got := Select(all, s)
	want := map[string]string{
		"IngressClass nginx":        "IngressClass nginx of Helm release ingress/ingress-nginx",
		"ClusterRole ingress-nginx": "ClusterRole ingress-nginx of Helm release ingress/ingress-nginx",
	}
	if _, ok := got[ObjectKey{Kind: "Namespace", Name: "team-a"}]; ok {
		t.Error("a namespace the release made came along: a namespace is selected by naming it")
	}
	for k, why := range got {
		if d := Describe(k); k.Namespace == "" && d != "Namespace ingress" && want[d] != why {
			t.Errorf("%s picked for %q, want %q", d, why, want[d])
		}
	}
	for d := range want {
		if !slices.Contains(names(got), d) {
			t.Errorf("%s not picked: %v", d, names(got))
		}
	}
	if diff := cmp.Diff(names(got), names(followChanges(all, s))); diff != "" {
		t.Errorf("followed change by change (-Select +Reach):\n%s", diff)
	}
	byLabels := Selector{Namespaces: []string{"ingress"}, Labels: labels.SelectorFromSet(labels.Set{"app": "ingress"})}
	for k := range Select(all, byLabels) {
		if k.Kind == "IngressClass" || k.Kind == "ClusterRole" {
			t.Errorf("a selection by labels brought %s", Describe(k))
		}
	}
}

// A namespace named by itself brings the IngressClass labelled as the
// same app instance as a workload in it (a manifest rendered from a chart,
// without Helm's annotations); not a class of another instance, not one
// without the labels, and not under a selection by labels.
func TestSelectBringsTheClassOfANamespacesApp(t *testing.T) {
	all := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: ingress-nginx}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: ingress-nginx-controller, namespace: ingress-nginx, labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx}}, spec: {template: {spec: {}}}}`,
		`{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: nginx, labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx}}, spec: {controller: k8s.io/ingress-nginx}}`,
		`{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: nginx-internal, labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: internal}}, spec: {controller: k8s.io/ingress-nginx-internal}}`,
		`{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: plain}, spec: {controller: example.com/plain}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: not-a-workload, namespace: ingress-nginx, labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: internal}}}`,
		// The same chart released under the same name in another namespace:
		// its class is that release's (an instance is named per namespace).
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: ingress-nginx-controller, namespace: private, labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx}}, spec: {template: {spec: {}}}}`,
		`{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: nginx-private, labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx}, annotations: {meta.helm.sh/release-name: ingress-nginx, meta.helm.sh/release-namespace: private}}, spec: {controller: k8s.io/ingress-nginx-private}}`,
	)
	s := Selector{Namespaces: []string{"ingress-nginx"}}
	got := Select(all, s)
	want := "IngressClass nginx of app ingress-nginx instance ingress-nginx, as Deployment ingress-nginx/ingress-nginx-controller (labels app.kubernetes.io/name, app.kubernetes.io/instance)"
	if why, ok := got[ObjectKey{Group: "networking.k8s.io", Kind: "IngressClass", Name: "nginx"}]; !ok || why != want {
		t.Errorf("IngressClass nginx: picked %v for %q, want %q", ok, why, want)
	}
	for _, n := range []string{"nginx-internal", "plain", "nginx-private"} {
		if _, ok := got[ObjectKey{Group: "networking.k8s.io", Kind: "IngressClass", Name: n}]; ok {
			t.Errorf("IngressClass %s came along", n)
		}
	}
	if p := Pick(all, s); func() bool {
		_, ok := p.Picked(ObjectKey{Group: "networking.k8s.io", Kind: "IngressClass", Name: "nginx"})
		return !ok
	}() {
		t.Error("Pick did not pick IngressClass nginx")
	}
	byLabels := Selector{Namespaces: []string{"ingress-nginx"}, Labels: labels.SelectorFromSet(labels.Set{"app.kubernetes.io/name": "ingress-nginx"})}
	if _, ok := Select(all, byLabels)[ObjectKey{Group: "networking.k8s.io", Kind: "IngressClass", Name: "nginx"}]; ok {
		t.Error("a selection by labels brought the class")
	}
	// Its workload left out by a kind filter, the class stays behind too.
	noDeployments := Selector{Namespaces: []string{"ingress-nginx"}, ExcludeKinds: []schema.GroupKind{{Group: "apps", Kind: "Deployment"}}}
	if _, ok := Select(all, noDeployments)[ObjectKey{Group: "networking.k8s.io", Kind: "IngressClass", Name: "nginx"}]; ok {
		t.Error("the class came along with its Deployment excluded")
	}
	// What a mirror asks of a class that changed says the same.
	for _, o := range all {
		k := KeyOf(o)
		if k.Kind != "IngressClass" {
			continue
		}
		matches := AppWide(o, "ingress-nginx")
		if (len(matches) > 0) != (k.Name == "nginx" || k.Name == "nginx-internal") {
			t.Errorf("AppWide(%s) in ingress-nginx: %d matches", k.Name, len(matches))
		}
		if k.Name == "nginx" && (len(matches) != 1 || matches[0].Selector["app.kubernetes.io/instance"] != "ingress-nginx" ||
			matches[0].Why(ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}) != want) {
			t.Errorf("AppWide(nginx) = %+v", matches)
		}
	}
}

// A namespace named by itself brings the ClusterRoles its apps add to the
// cluster's own roles (labelled aggregate-to-view, -admin…), which nothing
// binds: cert-manager's, labelled with its app's name and instance like
// its Deployment, and kyverno's, whose components have names of their own
// and share the instance and the app they are part of. Not a ClusterRole
// of the same instance that is not gathered into another, not one of
// another instance.
func TestSelectBringsTheClusterRolesANamespacesAppAddsToViewAndAdmin(t *testing.T) {
	all := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: cert-manager}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: cert-manager, namespace: cert-manager, labels: {app.kubernetes.io/name: cert-manager, app.kubernetes.io/instance: cert-manager}}, spec: {template: {spec: {}}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: cert-manager-view, labels: {app.kubernetes.io/name: cert-manager, app.kubernetes.io/instance: cert-manager, rbac.authorization.k8s.io/aggregate-to-view: "true"}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: cert-manager-unbound, labels: {app.kubernetes.io/name: cert-manager, app.kubernetes.io/instance: cert-manager}}}`,
		`{apiVersion: v1, kind: Namespace, metadata: {name: kyverno}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: kyverno-admission-controller, namespace: kyverno, labels: {app.kubernetes.io/name: kyverno-admission-controller, app.kubernetes.io/instance: kyverno, app.kubernetes.io/part-of: kyverno}}, spec: {template: {spec: {}}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "kyverno:rbac:admin:policies", labels: {app.kubernetes.io/instance: kyverno, app.kubernetes.io/part-of: kyverno, rbac.authorization.k8s.io/aggregate-to-admin: "true"}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: other-view, labels: {app.kubernetes.io/instance: other, app.kubernetes.io/part-of: kyverno, rbac.authorization.k8s.io/aggregate-to-view: "true"}}}`,
		// The cluster's own aggregate-to role carries the label too.
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "system:aggregate-to-view", labels: {kubernetes.io/bootstrapping: rbac-defaults, app.kubernetes.io/instance: kyverno, app.kubernetes.io/part-of: kyverno, rbac.authorization.k8s.io/aggregate-to-view: "true"}}}`,
		// A class is told its app by its name: part-of is a ClusterRole's.
		`{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: kyverno-class, labels: {app.kubernetes.io/name: other, app.kubernetes.io/instance: kyverno, app.kubernetes.io/part-of: kyverno}}, spec: {controller: example.com/x}}`,
	)
	got := Select(all, Selector{Namespaces: []string{"cert-manager", "kyverno"}})
	want := map[string]string{
		"cert-manager-view":           "ClusterRole cert-manager-view of app cert-manager instance cert-manager, as Deployment cert-manager/cert-manager (labels app.kubernetes.io/name, app.kubernetes.io/instance)",
		"kyverno:rbac:admin:policies": "ClusterRole kyverno:rbac:admin:policies of app instance kyverno, part of kyverno, as Deployment kyverno/kyverno-admission-controller (labels app.kubernetes.io/instance, app.kubernetes.io/part-of)",
	}
	for name, w := range want {
		if why, ok := got[ObjectKey{Group: rbacGroup, Kind: "ClusterRole", Name: name}]; !ok || why != w {
			t.Errorf("ClusterRole %s: picked %v for %q, want %q", name, ok, why, w)
		}
	}
	for _, name := range []string{"cert-manager-unbound", "other-view", "system:aggregate-to-view"} {
		if _, ok := got[ObjectKey{Group: rbacGroup, Kind: "ClusterRole", Name: name}]; ok {
			t.Errorf("ClusterRole %s came along", name)
		}
	}
	if _, ok := got[ObjectKey{Group: "networking.k8s.io", Kind: "IngressClass", Name: "kyverno-class"}]; ok {
		t.Error("an IngressClass came along by part-of")
	}
	for _, o := range all {
		if o.GetName() == "kyverno:rbac:admin:policies" {
			m := AppWide(o, "kyverno")
			if len(m) != 1 || m[0].Selector["app.kubernetes.io/part-of"] != "kyverno" || m[0].Selector["app.kubernetes.io/name"] != "" {
				t.Errorf("AppWide(kyverno:rbac:admin:policies) = %+v; want one match by instance and part-of", m)
			}
		}
	}
}

// An aggregated ClusterRole brings the ClusterRoles its selectors gather:
// in the target its rules are what the aggregation controller gathers
// there (kyverno binds its controllers to such roles). Not a ClusterRole
// no selector matches.
func TestSelectBringsWhatAnAggregatedClusterRoleGathers(t *testing.T) {
	all := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: kyverno}}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: kyverno-admission-controller, namespace: kyverno}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: "kyverno:admission-controller"}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "kyverno:admission-controller"}, subjects: [{kind: ServiceAccount, name: kyverno-admission-controller, namespace: kyverno}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "kyverno:admission-controller"}, aggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.kyverno.io/aggregate-to-admission-controller: "true"}}, {matchExpressions: [{key: app.kubernetes.io/component, operator: In, values: [admission-controller]}]}]}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "kyverno:admission-controller:core", labels: {rbac.kyverno.io/aggregate-to-admission-controller: "true"}}, rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "kyverno:admission-controller:extra", labels: {app.kubernetes.io/component: admission-controller}}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "kyverno:background-controller:core", labels: {rbac.kyverno.io/aggregate-to-background-controller: "true"}}}`,
		// A RoleBinding to the cluster's own admin, which gathers what
		// every app adds to it: the target's admin gathers the target's.
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: admins, namespace: kyverno}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}, subjects: [{kind: ServiceAccount, name: kyverno-admission-controller, namespace: kyverno}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: admin, labels: {kubernetes.io/bootstrapping: rbac-defaults}}, aggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}}]}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: other-apps-admin, labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}}}`,
		// An empty selector matches every ClusterRole: not followed.
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: everything}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}, subjects: [{kind: ServiceAccount, name: kyverno-admission-controller, namespace: kyverno}]}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: everything}, aggregationRule: {clusterRoleSelectors: [{}]}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: unlabelled}}`,
	)
	s := Selector{Namespaces: []string{"kyverno"}}
	got := Select(all, s)
	for _, name := range []string{"kyverno:admission-controller:core", "kyverno:admission-controller:extra"} {
		want := "ClusterRole " + name + ", gathered into ClusterRole kyverno:admission-controller by its aggregationRule"
		if why, ok := got[ObjectKey{Group: rbacGroup, Kind: "ClusterRole", Name: name}]; !ok || why != want {
			t.Errorf("ClusterRole %s: picked %v for %q, want %q", name, ok, why, want)
		}
	}
	for _, name := range []string{"kyverno:background-controller:core", "other-apps-admin", "unlabelled"} {
		if why, ok := got[ObjectKey{Group: rbacGroup, Kind: "ClusterRole", Name: name}]; ok {
			t.Errorf("ClusterRole %s came along: %s", name, why)
		}
	}
	if _, ok := got[ObjectKey{Group: rbacGroup, Kind: "ClusterRole", Name: "everything"}]; !ok {
		t.Error("the ClusterRole with an empty selector, bound to the ServiceAccount, did not come along itself")
	}
	// The essential form of a ClusterRole keeps its aggregationRule.
	for _, o := range all {
		if o.GetName() == "kyverno:admission-controller" && o.GetKind() == "ClusterRole" {
			if _, found, _ := unstructured.NestedSlice(Essential(o).Object, "aggregationRule", "clusterRoleSelectors"); !found {
				t.Error("the essential form of an aggregated ClusterRole lost its aggregationRule")
			}
		}
	}
}

func TestReachSaysWhatIsNeededOutsideAndTakesAlso(t *testing.T) {
	all := parseAll(t, strings.Split(source, "\n---\n")...)
	find := func(kind, ns, name string) *unstructured.Unstructured {
		for _, o := range all {
			if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
				return o
			}
		}
		t.Fatalf("no %s %s/%s", kind, ns, name)
		return nil
	}
	s := Selector{Namespaces: []string{"shop"}}
	picked, needed := Reach([]*unstructured.Unstructured{find("Deployment", "shop", "web")}, s, nil, nil)
	if _, ok := picked[ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}]; !ok || len(picked) != 1 {
		t.Errorf("picked %v, want the Deployment alone", names(picked))
	}
	if why := needed[ObjectKey{Group: "scheduling.k8s.io", Kind: "PriorityClass", Name: "high"}]; !strings.Contains(why, "Deployment shop/web") {
		t.Errorf("PriorityClass high needed for %q; needed: %v", why, needed)
	}
	// A cluster-scoped object is not picked by a namespace selection unless
	// the caller says it comes along; then it is, and what it needs is said.
	crb := find("ClusterRoleBinding", "", "web-view")
	if picked, _ := Reach([]*unstructured.Unstructured{crb}, s, nil, nil); len(picked) != 0 {
		t.Errorf("a ClusterRoleBinding picked by itself: %v", names(picked))
	}
	picked, needed = Reach([]*unstructured.Unstructured{crb}, s, map[ObjectKey]string{KeyOf(crb): "because"}, nil)
	if picked[KeyOf(crb)] != "because" {
		t.Errorf("also: picked %v", picked)
	}
	if _, ok := needed[ObjectKey{Group: rbacGroup, Kind: "ClusterRole", Name: "view"}]; !ok {
		t.Errorf("the binding's ClusterRole not needed: %v", needed)
	}
	// A reference that leaves its group open: the groups that serve the
	// kind, as the caller knows them, are its candidates.
	release := parse(t, `{apiVersion: helm.toolkit.fluxcd.io/v2, kind: HelmRelease, metadata: {name: web, namespace: shop}, spec: {chart: {spec: {sourceRef: {kind: HelmRepository, name: charts}}}}}`)
	repo := ObjectKey{Group: "source.toolkit.fluxcd.io", Kind: "HelmRepository", Namespace: "shop", Name: "charts"}
	if _, needed := Reach([]*unstructured.Unstructured{release}, s, nil, nil); needed[repo] != "" {
		t.Errorf("without the kind's groups, %v needed", repo)
	}
	_, needed = Reach([]*unstructured.Unstructured{release}, s, nil, map[string][]string{"HelmRepository": {"source.toolkit.fluxcd.io"}, "Service": {""}})
	if !strings.Contains(needed[repo], "referenced by HelmRelease shop/web") {
		t.Errorf("the HelmRepository not needed with its group known: %v", needed)
	}
	// What a system namespace holds is never needed.
	_, needed = Reach([]*unstructured.Unstructured{find("RoleBinding", "kube-system", "web-kube")}, Selector{Namespaces: []string{"kube-system"}}, nil, nil)
	if len(needed) != 0 {
		t.Errorf("needed from kube-system without IncludeSystem: %v", needed)
	}
	links := BroughtBy(crb, s)
	if len(links) != 1 || links[0].By != (ObjectKey{Kind: "ServiceAccount", Namespace: "shop", Name: "web"}) || links[0].Why != Select(all, s)[KeyOf(crb)] {
		t.Errorf("BroughtBy(web-view) = %+v, want ServiceAccount shop/web with Select's reason %q", links, Select(all, s)[KeyOf(crb)])
	}
}

// A selection by namespaces says which objects its picks need in other
// namespaces (a caller that listed the named ones alone reads those), and
// nothing it has or picks by key.
func TestPickSaysWhatIsNeededInOtherNamespaces(t *testing.T) {
	objs := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: shop}}`,
		`{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: {name: web, namespace: shop}, spec: {parentRefs: [{name: edge, namespace: infra}], rules: [{backendRefs: [{name: web}]}]}}`,
		`{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}}`,
	)
	for _, s := range []Selector{{Namespaces: []string{"shop"}}, {Namespaces: []string{"shop"}, Labels: labels.Everything()}} {
		needed := Pick(objs, s).Needed()
		gw := ObjectKey{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "infra", Name: "edge"}
		if !strings.Contains(needed[gw], "referenced by HTTPRoute shop/web") || len(needed) != 1 {
			t.Errorf("%+v: needed %v; want the Gateway in infra alone", s, needed)
		}
	}
	if needed := Pick(objs, Selector{}).Needed(); len(needed) != 0 {
		t.Errorf("a selection of everything needs nothing outside: %v", needed)
	}
}

// A service-account token Secret brings its ServiceAccount: without it the
// target's token controller deletes the copy. An opaque Secret names none.
func TestSelectBringsATokenSecretsServiceAccount(t *testing.T) {
	objs := parseAll(t,
		`{apiVersion: v1, kind: Namespace, metadata: {name: ci}}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: builder, namespace: ci}}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: other, namespace: ci}}`,
		`{apiVersion: v1, kind: Secret, type: kubernetes.io/service-account-token, metadata: {name: builder-token, namespace: ci, labels: {app: ci}, annotations: {kubernetes.io/service-account.name: builder}}}`,
		`{apiVersion: v1, kind: Secret, type: Opaque, metadata: {name: settings, namespace: ci, labels: {app: ci}}}`,
	)
	sel, err := labels.Parse("app=ci")
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []struct {
		name string
		of   func(*unstructured.Unstructured) *unstructured.Unstructured
	}{
		{"whole", func(u *unstructured.Unstructured) *unstructured.Unstructured { return u }},
		{"essential", func(u *unstructured.Unstructured) *unstructured.Unstructured {
			e := Essential(u)
			e.SetLabels(u.GetLabels()) // a sketch keeps labels beside its content
			return e
		}},
	} {
		in := make([]*unstructured.Unstructured, len(objs))
		for i, o := range objs {
			in[i] = form.of(o)
		}
		got := Select(in, Selector{Labels: sel})
		sa := ObjectKey{Kind: "ServiceAccount", Namespace: "ci", Name: "builder"}
		if why, ok := got[sa]; !ok || why != "ServiceAccount of token Secret ci/builder-token" {
			t.Errorf("%s: ServiceAccount ci/builder picked %v for %q", form.name, ok, why)
		}
		if _, ok := got[ObjectKey{Kind: "ServiceAccount", Namespace: "ci", Name: "other"}]; ok {
			t.Errorf("%s: a ServiceAccount no token names was picked", form.name)
		}
	}
}
