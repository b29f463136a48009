package seed

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

func TestStrictFields(t *testing.T) {
	for _, o := range mustObjects(t) {
		typed, err := scheme.Scheme.New(o.GroupVersionKind())
		if runtime.IsNotRegisteredError(err) {
			continue // CRDs and CRs
		}
		if err != nil {
			t.Fatalf("%s: %v", describe(o), err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, typed, true); err != nil {
			t.Errorf("%s (%s): %v", describe(o), o.GetAPIVersion(), err)
		}
	}
}

func TestReferences(t *testing.T) {
	objs := mustObjects(t)
	templates := map[string][]labels.Set{} // namespace → pod template labels
	for _, o := range objs {
		tmpl, found, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
		if !found {
			continue
		}
		templates[o.GetNamespace()] = append(templates[o.GetNamespace()], tmpl)
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
		if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(tmpl)) {
			t.Errorf("%s: selector %v does not match its template %v", describe(o), sel, tmpl)
		}
		if o.GetKind() == "Deployment" && o.GetLabels()["tandem.io/forbidden"] != "" {
			t.Errorf("%s carries tandem.io/forbidden, which the seeded admission policy denies", describe(o))
		}
	}
	selects := func(ns string, sel map[string]string) bool {
		for _, tmpl := range templates[ns] {
			if labels.SelectorFromSet(sel).Matches(tmpl) {
				return true
			}
		}
		return false
	}
	for _, o := range objs {
		ns := o.GetNamespace()
		switch o.GetKind() {
		case "Service":
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
			if !selects(ns, sel) {
				t.Errorf("%s: selector %v selects no seeded pods", describe(o), sel)
			}
		case "PodDisruptionBudget":
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
			if !selects(ns, sel) {
				t.Errorf("%s: selector %v selects no seeded pods", describe(o), sel)
			}
		case "Ingress":
			rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
			for _, r := range rules {
				paths, _, _ := unstructured.NestedSlice(r.(map[string]interface{}), "http", "paths")
				for _, p := range paths {
					svc, _, _ := unstructured.NestedString(p.(map[string]interface{}), "backend", "service", "name")
					if find(objs, "Service", ns, svc) == nil {
						t.Errorf("%s: backend Service %q is not seeded", describe(o), svc)
					}
				}
			}
		case "HorizontalPodAutoscaler":
			name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
			target := find(objs, "Deployment", ns, name)
			if target == nil {
				t.Fatalf("%s: target Deployment %q is not seeded", describe(o), name)
			}
			lo, _, _ := unstructured.NestedInt64(o.Object, "spec", "minReplicas")
			if specReplicas(target) < lo {
				t.Errorf("%s: minReplicas %d above the Deployment's %d replicas", describe(o), lo, specReplicas(target))
			}
		}
		for _, ref := range podRefs(o) {
			if find(objs, ref[0], ns, ref[1]) == nil {
				t.Errorf("%s: pods use %s %q, which is not seeded", describe(o), ref[0], ref[1])
			}
		}
	}
}

func TestCustomResources(t *testing.T) {
	objs := mustObjects(t)
	crd := find(objs, "CustomResourceDefinition", "", "backups.platform.example.com")
	if crd == nil {
		t.Fatal("no CRD backups.platform.example.com")
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var stored, served int
	var schema map[string]interface{}
	for _, v := range versions {
		vm := v.(map[string]interface{})
		if vm["served"] == true {
			served++
		}
		if vm["storage"] == true {
			stored++
			schema, _, _ = unstructured.NestedMap(vm, "schema", "openAPIV3Schema", "properties", "spec")
		}
	}
	if served < 2 || stored != 1 || schema == nil {
		t.Fatalf("CRD serves %d versions and stores %d, want 2 served and 1 stored with a schema", served, stored)
	}
	namespaces := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "Backup" {
			continue
		}
		namespaces[o.GetNamespace()] = true
		spec, _, _ := unstructured.NestedMap(o.Object, "spec")
		props, _, _ := unstructured.NestedMap(schema, "properties")
		for k := range spec {
			if _, ok := props[k]; !ok {
				t.Errorf("%s: spec.%s is not in the CRD schema", describe(o), k)
			}
		}
		required, _, _ := unstructured.NestedStringSlice(schema, "required")
		for _, k := range required {
			if _, ok := spec[k]; !ok {
				t.Errorf("%s: required spec.%s missing", describe(o), k)
			}
		}
	}
	if len(namespaces) < 2 {
		t.Errorf("Backups in %d namespaces, want 2 or more", len(namespaces))
	}
}

func podRefs(o *unstructured.Unstructured) [][2]string {
	spec, found, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
	if !found {
		spec, found, _ = unstructured.NestedMap(o.Object, "spec", "jobTemplate", "spec", "template", "spec")
	}
	if !found {
		return nil
	}
	var refs [][2]string
	if sa, ok := spec["serviceAccountName"].(string); ok {
		refs = append(refs, [2]string{"ServiceAccount", sa})
	}
	containers, _, _ := unstructured.NestedSlice(spec, "containers")
	for _, c := range containers {
		cm := c.(map[string]interface{})
		envFrom, _, _ := unstructured.NestedSlice(cm, "envFrom")
		for _, e := range envFrom {
			if n, ok, _ := unstructured.NestedString(e.(map[string]interface{}), "configMapRef", "name"); ok {
				refs = append(refs, [2]string{"ConfigMap", n})
			}
			if n, ok, _ := unstructured.NestedString(e.(map[string]interface{}), "secretRef", "name"); ok {
				refs = append(refs, [2]string{"Secret", n})
			}
		}
		env, _, _ := unstructured.NestedSlice(cm, "env")
		for _, e := range env {
			if n, ok, _ := unstructured.NestedString(e.(map[string]interface{}), "valueFrom", "secretKeyRef", "name"); ok {
				refs = append(refs, [2]string{"Secret", n})
			}
			if n, ok, _ := unstructured.NestedString(e.(map[string]interface{}), "valueFrom", "configMapKeyRef", "name"); ok {
				refs = append(refs, [2]string{"ConfigMap", n})
			}
		}
	}
	volumes, _, _ := unstructured.NestedSlice(spec, "volumes")
	for _, v := range volumes {
		if n, ok, _ := unstructured.NestedString(v.(map[string]interface{}), "configMap", "name"); ok {
			refs = append(refs, [2]string{"ConfigMap", n})
		}
		if n, ok, _ := unstructured.NestedString(v.(map[string]interface{}), "secret", "secretName"); ok {
			refs = append(refs, [2]string{"Secret", n})
		}
	}
	return refs
}
