package preflight

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
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

// TestSlimKeepsWhatTheChecksRead runs every check that reads the source's
// objects alone on the whole objects and on slim ones: the findings, and
// the evidence the target-reading checks start from, must be the same.
func TestSlimKeepsWhatTheChecksRead(t *testing.T) {
	whole := slimObjects(t)
	slimmed := slimObjects(t)
	shared := newSharer()
	for _, o := range slimmed {
		slim(o, shared)
	}
	envs := map[string]*Env{}
	for name, objs := range map[string][]*unstructured.Unstructured{"whole": whole, "slim": slimmed} {
		envs[name] = NewEnv(&cluster.Conn{Context: "src"}, &cluster.Conn{Context: "dst"}, nil, objs, NewServed())
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
		var usages []Usage
		var refs []ClassRef
		for _, o := range env.Objects {
			usages = append(usages, ManagedFieldsUsages(o)...)
			if u, ok := LastAppliedUsage(o); ok {
				usages = append(usages, u)
			}
			refs = append(refs, ClassRefs(o)...)
		}
		for _, s := range helmSecrets(env) {
			us, err := HelmSecretUsages(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			usages = append(usages, us...)
		}
		out["apis"], out["classes"] = usages, refs
		out["crds"] = plan.GrantedCRDs(env.Objects, nil)
		copies := map[string]int{}
		for _, o := range env.Objects {
			copies[o.GetKind()] = copied(env, o.GroupVersionKind().Group, o.GetKind())
		}
		out["deprecated"] = copies
		return out
	}
	want, got := read(envs["whole"]), read(envs["slim"])
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the checks read differently from slim objects (-whole +slim):\n%s", d)
	}
	// The evidence is there to compare: each kind of it was found.
	if n := len(want["apis"].([]Usage)); n < 6 {
		t.Errorf("only %d usages found in the cases: the comparison shows little", n)
	}
	if n := len(want["crds"].([]plan.Grant)); n == 0 {
		t.Error("no CRD grant found in the cases: the comparison shows nothing")
	}

	// And slim did drop what it is for.
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range slimmed {
		byName[o.GetKind()+"/"+o.GetName()] = o
	}
	for _, c := range []struct {
		obj  string
		path []string
	}{
		{"ConfigMap/settings", []string{"data"}},
		{"ConfigMap/settings", []string{"binaryData"}},
		{"Secret/db", []string{"data"}},
		{"Secret/db", []string{"stringData"}},
		{"Deployment/web", []string{"metadata", "managedFields"}},
	} {
		v, found, _ := unstructured.NestedFieldNoCopy(byName[c.obj].Object, c.path...)
		if c.path[0] == "metadata" {
			for _, e := range v.([]any) {
				if _, has := e.(map[string]any)["fieldsV1"]; has {
					t.Errorf("%s: a managedFields entry kept its field set", c.obj)
				}
			}
			continue
		}
		if found {
			t.Errorf("%s: %v kept", c.obj, c.path)
		}
	}
	if got := byName["ConfigMap/settings"].GetAnnotations()[LastAppliedAnnotation]; got != `{"apiVersion":"v1","kind":"ConfigMap"}` {
		t.Errorf("last-applied slimmed to %q, want its apiVersion and kind only", got)
	}
	if _, kept := byName["PersistentVolumeClaim/data"].GetAnnotations()[LastAppliedAnnotation]; kept {
		t.Error("a last-applied that is not JSON was kept")
	}
	if _, found, _ := unstructured.NestedString(byName["Secret/sh.helm.release.v1.shop.v3"].Object, "data", "release"); !found {
		t.Error("a Helm release Secret lost its release: the apis check reads it")
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
