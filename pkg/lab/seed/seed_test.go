package seed

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// clusterScoped lists the cluster-scoped kinds the manifests may use.
var clusterScoped = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"IngressClass": true, "PriorityClass": true, "StorageClass": true,
	"FlowSchema": true, "PriorityLevelConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
}

func mustObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Objects()
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	if len(objs) < 40 {
		t.Fatalf("Objects: %d objects, want a whole platform", len(objs))
	}
	return objs
}

func TestEveryDocumentIsAnObject(t *testing.T) {
	docs, err := documents()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if d.obj.GetAPIVersion() == "" || d.obj.GetKind() == "" || d.obj.GetName() == "" {
			t.Errorf("manifests/%s #%d: apiVersion %q kind %q name %q", d.file, d.index, d.obj.GetAPIVersion(), d.obj.GetKind(), d.obj.GetName())
		}
	}
	for file := range optionalFiles {
		if _, err := manifests.ReadFile("manifests/" + file); err != nil {
			t.Errorf("optional file %s: %v", file, err)
		}
	}
}

func TestNamespacesAreSeeded(t *testing.T) {
	objs := mustObjects(t)
	seeded := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			seeded[o.GetName()] = true
		}
	}
	if len(seeded) < 3 {
		t.Fatalf("%d namespaces seeded, want 3 or more", len(seeded))
	}
	for _, o := range objs {
		ns := o.GetNamespace()
		switch {
		case clusterScoped[o.GetKind()] && ns != "":
			t.Errorf("%s: cluster-scoped kind with a namespace", describe(o))
		case !clusterScoped[o.GetKind()] && !seeded[ns]:
			t.Errorf("%s: namespace %q is not created by the manifests", describe(o), ns)
		}
	}
}

func TestStackLabels(t *testing.T) {
	objs := mustObjects(t)
	stackOf := map[string]string{"shop": "shop", "shop-data": "shop", "payments": "payments"}
	spans := map[string]map[string]bool{}
	for _, o := range objs {
		ns := o.GetNamespace()
		if o.GetKind() == "Namespace" {
			ns = o.GetName()
		}
		want, ok := stackOf[ns]
		if !ok {
			continue
		}
		got := o.GetLabels()["app.kubernetes.io/part-of"]
		if got != want {
			t.Errorf("%s: app.kubernetes.io/part-of=%q, want %q", describe(o), got, want)
		}
		if spans[got] == nil {
			spans[got] = map[string]bool{}
		}
		spans[got][ns] = true
		if tmpl, found, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels"); found {
			if tmpl["app.kubernetes.io/part-of"] != want || tmpl["app.kubernetes.io/name"] == "" {
				t.Errorf("%s: pod template labels %v lack app.kubernetes.io/name or part-of=%s", describe(o), tmpl, want)
			}
		}
	}
	if !spans["shop"]["shop"] || !spans["shop"]["shop-data"] {
		t.Errorf("stack shop spans %v, want shop and shop-data", spans["shop"])
	}
	if !spans["payments"]["payments"] {
		t.Errorf("stack payments missing")
	}
}

func TestIngressController(t *testing.T) {
	objs := mustObjects(t)
	controller := find(objs, "Deployment", "ingress-nginx", "ingress-nginx-controller")
	if controller == nil {
		t.Fatal("no Deployment ingress-nginx/ingress-nginx-controller")
	}
	want := map[string]string{
		"app.kubernetes.io/name":      "ingress-nginx",
		"app.kubernetes.io/instance":  "ingress-nginx",
		"app.kubernetes.io/component": "controller",
	}
	tmpl, _, _ := unstructured.NestedStringMap(controller.Object, "spec", "template", "metadata", "labels")
	for k, v := range want {
		if controller.GetLabels()[k] != v || tmpl[k] != v {
			t.Errorf("controller label %s: Deployment %q, pods %q, want %q", k, controller.GetLabels()[k], tmpl[k], v)
		}
	}
	class := find(objs, "IngressClass", "", "nginx")
	if class == nil {
		t.Fatal("no IngressClass nginx")
	}
	if c, _, _ := unstructured.NestedString(class.Object, "spec", "controller"); c != "k8s.io/ingress-nginx" {
		t.Errorf("IngressClass nginx controller %q", c)
	}
	if class.GetAnnotations()["ingressclass.kubernetes.io/is-default-class"] != "true" {
		t.Errorf("IngressClass nginx is not the default class")
	}
}

// TestStrictFields decodes every object of a built-in kind into its Go type

// and refuses unknown fields, so a typo fails here and not in the lab.

// TestReferences checks what the apiserver would not: selectors that select,

// and routes, bindings and pods that name objects which exist.

// TestCustomResources checks the Backups against their CRD's v1 schema:

// required fields present, no field the schema does not know.

// podRefs lists the ServiceAccount, ConfigMaps and Secrets a pod template

// names, as {kind, name}.

func TestReadinessChecks(t *testing.T) {
	var got []string
	for _, r := range readinessChecks(mustObjects(t)) {
		got = append(got, r.what)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{
		"Deployment ingress-nginx/ingress-nginx-controller", "Deployment shop/web", "Deployment payments/payments-api",
		"StatefulSet shop-data/db", "PersistentVolumeClaim shop-data/data-db-0", "PersistentVolumeClaim shop-data/data-db-2",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("WaitReady does not wait for %s; it waits for:\n%s", want, joined)
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, ns, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	return nil
}
