package preflight

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// slimCases are source objects of the kinds slim changes, and of those the
// checks read beside them, as a cluster serves them (managedFields and all).
const slimCases = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels: {app.kubernetes.io/managed-by: Helm}
  annotations:
    meta.helm.sh/release-name: shop
    meta.helm.sh/release-namespace: shop
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"ConfigMap","data":{"app.conf":"port=8080"},"metadata":{"name":"settings"}}'
  managedFields:
  - {manager: kubectl-client-side-apply, operation: Update, apiVersion: v1, time: "2026-01-01T00:00:00Z", fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:app.conf": {}}}}
data: {app.conf: "port=8080"}
binaryData: {blob: AAEC}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-root-ca.crt, namespace: shop}
data: {ca.crt: "-----BEGIN CERTIFICATE-----"}
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations: {argocd.argoproj.io/tracking-id: "shop:/Secret:shop/db"}
  managedFields:
  - {manager: argocd-controller, operation: Apply, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:password": {}}}}
type: Opaque
data: {password: c2VjcmV0}
stringData: {user: admin}
---
apiVersion: v1
kind: Secret
metadata: {name: default-token, namespace: shop}
type: kubernetes.io/service-account-token
data: {token: dG9rZW4=}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"extensions/v1beta1","kind":"Deployment","spec":{"replicas":2}}'
  managedFields:
  - {manager: kubectl, operation: Update, apiVersion: extensions/v1beta1, fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:replicas": {}}}}
  - {manager: kube-controller-manager, operation: Update, apiVersion: apps/v1, subresource: status, fieldsType: FieldsV1, fieldsV1: {"f:status": {}}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      priorityClassName: high
      runtimeClassName: gvisor
      containers: [{name: app, image: web:1}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "not json"}
spec: {storageClassName: fast, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {maxUnavailable: 0, selector: {matchLabels: {app: web}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {ingressClassName: nginx, rules: [{host: shop.example.com}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widgets-editor}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: widgets-editor}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: widgets-editor}
subjects: [{kind: ServiceAccount, name: operator, namespace: shop}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: operator, namespace: shop}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}, versions: [{name: v1, served: true, storage: true}]}
`

func slimObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(slimCases, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return append(out, helmSecret(t, "shop", "shop", chart, true))
}

// TestEnvKeepsWhatTheChecksRead builds an Env from the cases as Load does
// (in an order with the Endpoints before their Service) and compares what
// the checks read of it with what they read of the whole objects: the
// evidence Seen gathered of every object against the same evidence read
// from each whole object, and the findings of the checks that read the
// source alone against an Env holding every object whole.
func TestEnvKeepsWhatTheChecksRead(t *testing.T) {
	partly := NewServed()
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "ConfigMap"}, {Version: "v1", Kind: "Secret"}, {Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
	} {
		partly.Add(gvk.GroupVersion(), gvk.Kind, true)
	}
	for name, served := range map[string]*Served{"target serving nothing": NewServed(), "target serving some": partly} {
		t.Run(name, func(t *testing.T) {
			whole := slimObjects(t)
			kept := slimObjects(t)
			slices.Reverse(kept) // Endpoints before their Service
			env := NewEnv(&cluster.Conn{Context: "src"}, &cluster.Conn{Context: "dst"}, nil, kept, served)
			env.strict = true

			// The evidence of every object, read from the whole ones.
			var usages []Usage
			var refs []ClassRef
			count, copies := map[schema.GroupKind]int{}, map[schema.GroupKind]int{}
			selector := map[string]bool{}
			for _, o := range whole {
				if sel, _, _ := unstructured.NestedMap(o.Object, "spec", "selector"); o.GetKind() == "Service" && len(sel) > 0 {
					selector[o.GetNamespace()+"/"+o.GetName()] = true
				}
			}
			for _, o := range whole {
				us := ManagedFieldsUsages(o)
				if u, ok := LastAppliedUsage(o); ok {
					us = append(us, u)
				}
				for _, u := range us {
					if !served.Serves(u.GroupVersion, u.Kind) && (u.Evidence != EvidenceManagedFields || !ControlPlaneManager(u.Detail)) {
						usages = append(usages, u)
					}
				}
				refs = append(refs, ClassRefs(o)...)
				gk := o.GroupVersionKind().GroupKind()
				count[gk]++
				if !sanitize.Object(o.DeepCopy(), sanitize.Context{ServiceHasSelector: func(ns, name string) bool { return selector[ns+"/"+name] }}).Skip {
					copies[gk]++
				}
			}
			anyOrder := cmp.Options{cmpopts.SortSlices(func(a, b Usage) bool { return fmt.Sprint(a) < fmt.Sprint(b) }),
				cmpopts.SortSlices(func(a, b ClassRef) bool { return fmt.Sprint(a) < fmt.Sprint(b) })}
			if d := cmp.Diff(usages, env.Seen.usages, anyOrder); d != "" {
				t.Errorf("apis evidence (-whole objects +Seen):\n%s", d)
			}
			if d := cmp.Diff(refs, env.Seen.classRefs, anyOrder); d != "" {
				t.Errorf("class references (-whole objects +Seen):\n%s", d)
			}
			if d := cmp.Diff(count, env.Seen.count); d != "" || env.Seen.Objects != len(whole) {
				t.Errorf("objects counted (-whole objects +Seen), %d of %d:\n%s", env.Seen.Objects, len(whole), d)
			}
			if d := cmp.Diff(copies, env.Seen.copied); d != "" {
				t.Errorf("objects a sync would write (-whole objects +Seen):\n%s", d)
			}
			if n := env.Seen.Copied("", "Endpoints"); n != 0 || env.Seen.Count("", "Endpoints") != 1 {
				t.Errorf("the Endpoints of a Service with a selector: %d of %d counted as copied, want 0 of 1", n, env.Seen.Count("", "Endpoints"))
			}
			if d := cmp.Diff(plan.GrantedCRDs(whole, nil), plan.GrantedCRDs(env.Objects, nil)); d != "" {
				t.Errorf("CRD grants (-whole objects +kept):\n%s", d)
			}

			// The checks that read the source alone, against every object held whole.
			all := newEnv(env.Source, env.Target, nil, served)
			for _, o := range servicesFirst(slimObjects(t), func(o *unstructured.Unstructured) schema.GroupKind { return o.GroupVersionKind().GroupKind() }) {
				all.Seen.observe(o, served, true)
				all.Objects = append(all.Objects, o)
				all.byGK[o.GroupVersionKind().GroupKind()] = append(all.byGK[o.GroupVersionKind().GroupKind()], o)
			}
			read := func(env *Env) map[string]any {
				out := map[string]any{}
				for _, c := range []Check{Owners{}, Exposure{}, PDB{}} {
					fs, err := c.Run(context.Background(), env)
					if err != nil {
						t.Fatal(err)
					}
					out[c.Name()] = fs
				}
				var helm []Usage
				for _, s := range helmSecrets(env) {
					us, err := HelmSecretUsages(s, nil)
					if err != nil {
						t.Fatal(err)
					}
					helm = append(helm, us...)
				}
				out["helm"] = helm
				return out
			}
			want, got := read(all), read(env)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("the checks read differently from the kept objects (-all whole +kept):\n%s", d)
			}
			// The evidence is there to compare: each kind of it was found.
			if len(usages) < 2 || len(refs) < 3 || len(want["helm"].([]Usage)) == 0 || len(want["owners"].([]Finding)) < 2 {
				t.Errorf("little evidence in the cases (%d usages, %d class references, %d from Helm, %d owners): the comparison shows little",
					len(usages), len(refs), len(want["helm"].([]Usage)), len(want["owners"].([]Finding)))
			}
			if len(plan.GrantedCRDs(whole, nil)) == 0 {
				t.Error("no CRD grant found in the cases: the comparison shows nothing")
			}

			// And what is kept is slim, and only of the kinds read one by one.
			byName := map[string]*unstructured.Unstructured{}
			for _, o := range env.Objects {
				byName[o.GetKind()+"/"+o.GetName()] = o
			}
			for _, name := range []string{"ConfigMap/settings", "ConfigMap/kube-root-ca.crt", "Secret/db", "Secret/default-token", "Endpoints/web"} {
				if byName[name] != nil {
					t.Errorf("%s was kept: no check reads its kind one by one", name)
				}
			}
			for _, name := range []string{"Deployment/web", "PersistentVolumeClaim/data", "Service/web", "Secret/sh.helm.release.v1.shop.v3"} {
				o := byName[name]
				if o == nil {
					t.Errorf("%s was not kept", name)
					continue
				}
				if o.GetManagedFields() != nil || o.GetAnnotations()[LastAppliedAnnotation] != "" || o.GetResourceVersion() != "" {
					t.Errorf("%s kept its managedFields, last-applied copy or resourceVersion", name)
				}
			}
			if _, found, _ := unstructured.NestedString(byName["Secret/sh.helm.release.v1.shop.v3"].Object, "data", "release"); !found {
				t.Error("a Helm release Secret lost its release: the apis check reads it")
			}
		})
	}
}

// TestChecksReadOnlyKeptKinds reads the package's source for every Env.Of
// a check makes: each kind it asks for must be one Env keeps (heldKinds),
// or the check would see none of its objects. Calls whose kind is a
// variable are listed with the kinds they ask for.
func TestChecksReadOnlyKeptKinds(t *testing.T) {
	variable := map[string][]schema.GroupKind{ // file → kinds of its Of calls with a variable kind
		"pdb.go":       {{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "StatefulSet"}},
		"webhooks.go":  {{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}, {Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}},
		"classes.go":   nil, // classGroups, all of which heldKinds holds
		"placement.go": nil, // templateKinds
	}
	for _, tk := range templateKinds {
		variable["placement.go"] = append(variable["placement.go"], schema.GroupKind{Group: tk.group, Kind: tk.kind})
	}
	for kind, group := range classGroups {
		variable["classes.go"] = append(variable["classes.go"], schema.GroupKind{Group: group, Kind: kind})
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Of" {
				return true
			}
			calls++
			lit := func(e ast.Expr) (string, bool) {
				b, ok := e.(*ast.BasicLit)
				if !ok || b.Kind != token.STRING {
					return "", false
				}
				v, err := strconv.Unquote(b.Value)
				return v, err == nil
			}
			group, gok := lit(call.Args[0])
			kind, kok := lit(call.Args[1])
			var kinds []schema.GroupKind
			switch {
			case gok && kok:
				kinds = []schema.GroupKind{{Group: group, Kind: kind}}
			default:
				var listed bool
				kinds, listed = variable[name]
				if !listed {
					t.Errorf("%s: Of with a variable kind: list the kinds it asks for in this test", fset.Position(call.Pos()))
				}
			}
			for _, gk := range kinds {
				if !heldKinds[gk] && gk != (schema.GroupKind{Kind: "Secret"}) {
					t.Errorf("%s: a check reads %s one by one, which Env does not keep: add it to heldKinds", fset.Position(call.Pos()), gk)
				}
			}
			return true
		})
	}
	if calls < 20 {
		t.Errorf("found %d calls of Of: the test no longer finds them", calls)
	}
}

// What a check keeps of each object of a large target list: its name,
// namespace and the fields asked for, as a copy of its own.
func TestTrimmedKeepsThePathsAsACopy(t *testing.T) {
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "web-1", "namespace": "shop", "labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"hostNetwork": false, "containers": []any{map[string]any{"name": "app"}}},
		"status":   map[string]any{"phase": "Running", "podIPs": []any{map[string]any{"ip": "10.0.0.7"}}}}}
	got := trimmed(pod, []string{"spec", "hostNetwork"}, []string{"status", "podIPs"}, []string{"spec", "nodeName"})
	want := map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "web-1", "namespace": "shop"},
		"spec":     map[string]any{"hostNetwork": false},
		"status":   map[string]any{"podIPs": []any{map[string]any{"ip": "10.0.0.7"}}}}
	if d := cmp.Diff(want, got.Object); d != "" {
		t.Errorf("trimmed (-want +got):\n%s", d)
	}
	got.Object["status"].(map[string]any)["podIPs"].([]any)[0].(map[string]any)["ip"] = "changed"
	if ip := pod.Object["status"].(map[string]any)["podIPs"].([]any)[0].(map[string]any)["ip"]; ip != "10.0.0.7" {
		t.Error("trimmed shares its fields with the object it was made from")
	}
}
