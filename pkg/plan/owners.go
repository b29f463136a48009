package plan

import (
	"cmp"
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

// ClusterManager says whether manager is one of the cluster's own
// components (the target's token controller filling a token Secret,
// defaults, status): a field it owns does not make an object someone
// else's.
func ClusterManager(manager string) bool { return clusterManagers[manager] }

// foreignManagers lists, sorted and once each, the managers of the main
// resource other than tandem and the cluster's own components that own
// some of its content (ManagedEntry.NoContent); with sub "scale", those
// that wrote it through the scale subresource (ScaledBy).
func foreignManagers(managers []ManagedEntry, sub ...string) []string {
	want := ""
	if len(sub) > 0 {
		want = sub[0]
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range managers {
		mgr := e.Manager
		if mgr == "" || Ours(mgr) || e.Subresource != want || e.NoContent || clusterManagers[mgr] ||
			strings.HasPrefix(mgr, "system:") || seen[mgr] {
			continue
		}
		seen[mgr] = true
		out = append(out, mgr)
	}
	sort.Strings(out)
	return out
}

// Ours reports whether a field manager is one of tandem's own.
func Ours(manager string) bool { return manager == FieldManager || manager == CreateManager }

// managedByTandem reports whether tandem's field managers own any field
// of the target's copy (ManagedByTandem, as a decision reads the copy).
func (t *Target) managedByTandem() bool {
	for _, e := range t.Managers {
		if Ours(e.Manager) {
			return true
		}
	}
	return false
}

// createdByTandem reports whether tandem's creates own fields of the main resource.
func createdByTandem(managers []ManagedEntry) bool {
	for _, e := range managers {
		if e.Manager == CreateManager && e.Subresource == "" {
			return true
		}
	}
	return false
}

// Manager is the deployment pipeline that manages an object: the tool and,
// where the object says so, which of its units (a Helm release, an Argo CD
// Application, a Flux Kustomization or HelmRelease).
type Manager struct {
	Tool      string `json:"tool"`           // "Flux", "Argo CD" or "Helm"
	Unit      string `json:"unit,omitempty"` // Kustomization, HelmRelease, Application, release, chart (rendered, no release)
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// String is the manager as reports name it, e.g. "Helm release shop/web".
func (m Manager) String() string {
	s := m.Tool
	if m.Unit != "" && m.Unit != m.Tool {
		s += " " + m.Unit
	}
	if m.Name == "" {
		return s
	}
	if m.Namespace != "" {
		return s + " " + m.Namespace + "/" + m.Name
	}
	return s + " " + m.Name
}

// ManagedBy names the pipeline that manages obj, from the labels and
// annotations each tool puts on what it deploys.
//
// Flux and Argo CD are checked before Helm: both deploy Helm charts, whose
// objects carry the Helm label too, and the pipeline is what the user must use.
func ManagedBy(obj *unstructured.Unstructured) (Manager, bool) {
	return managedBy(obj.GetLabels(), obj.GetAnnotations(), obj.GetNamespace())
}

// managedBy is ManagedBy of an object in namespace with labels l and annotations a.
func managedBy(l, a map[string]string, namespace string) (Manager, bool) {
	switch {
	case l["kustomize.toolkit.fluxcd.io/name"] != "":
		return Manager{Tool: "Flux", Unit: "Kustomization", Namespace: l["kustomize.toolkit.fluxcd.io/namespace"], Name: l["kustomize.toolkit.fluxcd.io/name"]}, true
	case l["helm.toolkit.fluxcd.io/name"] != "":
		return Manager{Tool: "Flux", Unit: "HelmRelease", Namespace: l["helm.toolkit.fluxcd.io/namespace"], Name: l["helm.toolkit.fluxcd.io/name"]}, true
	case a["argocd.argoproj.io/tracking-id"] != "":
		// Annotation tracking: "<app>:<group>/<kind>:<namespace>/<name>", the
		// app as "<namespace>_<name>" when Applications live in other namespaces.
		app, _, _ := strings.Cut(a["argocd.argoproj.io/tracking-id"], ":")
		ns, name, ok := strings.Cut(app, "_")
		if !ok {
			ns, name = "", app
		}
		return Manager{Tool: "Argo CD", Unit: "Application", Namespace: ns, Name: name}, true
	case l["argocd.argoproj.io/instance"] != "":
		return Manager{Tool: "Argo CD", Unit: "Application", Name: l["argocd.argoproj.io/instance"]}, true
	case l["app.kubernetes.io/managed-by"] == "Helm" || l["heritage"] == "Helm":
		if name := a["meta.helm.sh/release-name"]; name != "" {
			ns := a["meta.helm.sh/release-namespace"]
			if ns == "" {
				ns = namespace
			}
			return Manager{Tool: "Helm", Unit: "release", Namespace: ns, Name: name}, true
		}
		// Rendered from a chart with no release in the cluster (helm
		// template, or a pipeline that renders charts and applies what they
		// make): the chart's instance label names it.
		return Manager{Tool: "Helm", Unit: "chart", Name: cmp.Or(l["app.kubernetes.io/instance"], l["release"], l["helm.sh/chart"], l["chart"])}, true
	}
	return Manager{}, false
}

// gitOps names the pipeline that manages obj in the target, or "".
func gitOps(t *Target) string {
	m, ok := managedBy(t.Labels, t.Annotations, t.Namespace)
	switch {
	case !ok:
		return ""
	case m.Tool == "Helm" && m.Name != "":
		return "Helm " + m.Unit + " " + m.Name
	}
	return m.Tool
}
