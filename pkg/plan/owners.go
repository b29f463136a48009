package plan

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// clusterManagers are the field managers of the cluster's own components: they
// own status and defaults on every object, and are never a conflict.
var clusterManagers = map[string]bool{
	"kube-controller-manager": true,
	"kube-scheduler":          true,
	"kube-apiserver":          true,
	"kubelet":                 true,
	"before-first-apply":      true, // left by the apiserver when an object first moves to server-side apply
}

// managedFields returns the (manager, subresource) of every managedFields entry.
func managedFields(obj *unstructured.Unstructured) [][2]string {
	entries, _, _ := unstructured.NestedSlice(obj.Object, "metadata", "managedFields")
	out := make([][2]string, 0, len(entries))
	for _, e := range entries {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		mgr, _ := m["manager"].(string)
		sub, _ := m["subresource"].(string)
		out = append(out, [2]string{mgr, sub})
	}
	return out
}

// foreignManagers lists, sorted and once each, the managers of obj's main
// resource other than tandem and the cluster's own components.
func foreignManagers(obj *unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range managedFields(obj) {
		mgr, sub := e[0], e[1]
		if mgr == "" || mgr == FieldManager || sub != "" || clusterManagers[mgr] ||
			strings.HasPrefix(mgr, "system:") || seen[mgr] {
			continue
		}
		seen[mgr] = true
		out = append(out, mgr)
	}
	sort.Strings(out)
	return out
}

// writtenByTandem reports whether tandem's field manager owns any field of obj.
func writtenByTandem(obj *unstructured.Unstructured) bool {
	for _, e := range managedFields(obj) {
		if e[0] == FieldManager {
			return true
		}
	}
	return false
}

// gitOps names the pipeline that manages obj in the target, or "".
//
// Flux and Argo CD are checked before Helm: both deploy Helm charts, whose
// objects carry the Helm label too, and the pipeline is what the user must use.
func gitOps(obj *unstructured.Unstructured) string {
	l, a := obj.GetLabels(), obj.GetAnnotations()
	switch {
	case l["kustomize.toolkit.fluxcd.io/name"] != "" || l["helm.toolkit.fluxcd.io/name"] != "":
		return "Flux"
	case a["argocd.argoproj.io/tracking-id"] != "" || l["argocd.argoproj.io/instance"] != "":
		return "Argo CD"
	case l["app.kubernetes.io/managed-by"] == "Helm":
		if r := a["meta.helm.sh/release-name"]; r != "" {
			return "Helm release " + r
		}
		return "Helm"
	}
	return ""
}
