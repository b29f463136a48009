package plan

// A namespace named by itself brings its apps' app-wide objects: the
// cluster-scoped objects of an app that nothing in its namespace names.
// An ingress controller installed from a static manifest (ingress-nginx's
// deploy/static, rendered from its chart without Helm's annotations) has an
// IngressClass that no Ingress in its namespace may use; an operator's
// chart adds its kinds to the cluster's view, edit and admin roles through
// ClusterRoles labelled to be gathered into them (cert-manager's
// cert-manager-view, kyverno's kyverno:rbac:admin:policies), which nothing
// binds. Each is labelled as the same app instance as a workload in the
// namespace. Select finds them through its index (appWideIn); a mirror asks
// AppWide of such an object that changed.

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// The recommended labels of an app's instance (kubernetes.io/docs/concepts/
// overview/working-with-objects/common-labels): which application, which
// installation of it, and the larger application it is part of. Manifests
// rendered from a chart (ingress-nginx's deploy/static, kyverno's install
// manifest) keep them without Helm's release annotations.
const (
	labelAppName     = "app.kubernetes.io/name"
	labelAppInstance = "app.kubernetes.io/instance"
	labelAppPartOf   = "app.kubernetes.io/part-of"
)

// app is what an object's recommended labels say of the app it belongs to.
type app struct{ name, instance, partOf string }

func appOf(obj Object) app {
	l := obj.GetLabels()
	return app{l[labelAppName], l[labelAppInstance], l[labelAppPartOf]}
}

// labelled says whether a names an instance and something to tell the app
// by: its name or (partOf) what it is part of.
func (a app) labelled(partOf bool) bool {
	return a.instance != "" && (a.name != "" || (partOf && a.partOf != ""))
}

// matches says whether a and b are one app instance: the same instance,
// and the same name or, with partOf (the ClusterRoles of an app whose
// components have names of their own: kyverno-admission-controller,
// kyverno-background-controller), the same larger app they are part of.
// The label it matched on.
func (a app) matches(b app, partOf bool) ([2]string, bool) {
	switch {
	case a.instance == "" || a.instance != b.instance:
		return [2]string{}, false
	case a.name != "" && a.name == b.name:
		return [2]string{labelAppName, a.name}, true
	case partOf && a.partOf != "" && a.partOf == b.partOf:
		return [2]string{labelAppPartOf, a.partOf}, true
	}
	return [2]string{}, false
}

// selectors are the label sets a workload of a's instance carries, one per
// way matches can match.
func (a app) selectors(partOf bool) []map[string]string {
	var out []map[string]string
	if a.name != "" {
		out = append(out, map[string]string{labelAppInstance: a.instance, labelAppName: a.name})
	}
	if partOf && a.partOf != "" {
		out = append(out, map[string]string{labelAppInstance: a.instance, labelAppPartOf: a.partOf})
	}
	return out
}

// servedClassKinds are the classes a controller serves and that nothing
// names but the objects using them: an IngressClass, a GatewayClass.
var servedClassKinds = []schema.GroupKind{
	{Group: "networking.k8s.io", Kind: "IngressClass"},
	{Group: "gateway.networking.k8s.io", Kind: "GatewayClass"},
}

// AppWideKinds are the kinds whose objects may be app-wide (isAppWide).
var AppWideKinds = append(slices.Clone(servedClassKinds), schema.GroupKind{Group: rbacGroup, Kind: "ClusterRole"})

// aggregateLabel prefixes the labels the cluster's own aggregated roles
// (view, edit, admin; OpenShift's cluster-reader) gather ClusterRoles by.
const aggregateLabel = "rbac.authorization.k8s.io/aggregate-to-"

// isAppWide says whether obj is an object a namespace's app may own
// without anything in the namespace naming it: a served class, or a
// ClusterRole labelled to be gathered into the cluster's own roles; and
// whether it is told its app by part-of too (a ClusterRole: labelled as
// the app, not as one of its components).
func isAppWide(obj Object) (appWide, partOf bool) {
	k := KeyOf(obj)
	gk := schema.GroupKind{Group: k.Group, Kind: k.Kind}
	switch {
	case k.Namespace != "":
		return false, false
	case slices.Contains(servedClassKinds, gk):
		return true, false
	case gk == schema.GroupKind{Group: rbacGroup, Kind: "ClusterRole"} && !sanitize.BootstrapRBAC(obj.GetLabels()):
		for l, v := range obj.GetLabels() {
			if strings.HasPrefix(l, aggregateLabel) && v == "true" {
				return true, true
			}
		}
	}
	return false, false
}

// appWide is an app-wide object, its app, and the namespace of the Helm
// release it belongs to ("" when none).
type appWide struct {
	key       ObjectKey
	app       app
	partOf    bool // told its app by part-of too
	releaseNS string
}

// appWideWhy is why the app-wide object c comes with the workload w, both
// of app instance inst, told one app by the label on (name or part-of).
func appWideWhy(c ObjectKey, inst string, on [2]string, w ObjectKey) string {
	if on[0] == labelAppName {
		return Describe(c) + " of app " + on[1] + " instance " + inst + ", as " + Describe(w) + " (labels " + labelAppName + ", " + labelAppInstance + ")"
	}
	return Describe(c) + " of app instance " + inst + ", part of " + on[1] + ", as " + Describe(w) + " (labels " + labelAppInstance + ", " + labelAppPartOf + ")"
}

// AppMatch is one way an app-wide object comes with a namespace: a
// workload there carrying Selector, and why it comes with that workload.
type AppMatch struct {
	Selector map[string]string
	Why      func(workload ObjectKey) string
}

// AppWide says, of an app-wide object (isAppWide), how it comes along when
// namespace ns is named by itself: a workload there labelled as the same
// app instance (one AppMatch per set of labels that would tell it); none
// when obj is not app-wide, has no such labels, or belongs to a Helm
// release of another namespace. A mirror asks it of such an object that
// changed; Select finds the same through its index.
func AppWide(obj Object, ns string) []AppMatch {
	k := KeyOf(obj)
	a := appOf(obj)
	wide, partOf := isAppWide(obj)
	if !wide || !a.labelled(partOf) {
		return nil
	}
	if releaseNS, _, _ := releaseOf(obj, fields(obj)); releaseNS != "" && releaseNS != ns {
		return nil
	}
	var out []AppMatch
	for _, sel := range a.selectors(partOf) {
		on := [2]string{labelAppName, sel[labelAppName]}
		if sel[labelAppName] == "" {
			on = [2]string{labelAppPartOf, sel[labelAppPartOf]}
		}
		out = append(out, AppMatch{Selector: sel, Why: func(w ObjectKey) string { return appWideWhy(k, a.instance, on, w) }})
	}
	return out
}

// WorkloadKinds are the kinds whose objects run an app's pods, in group apps.
var WorkloadKinds = []string{"Deployment", "DaemonSet", "StatefulSet"}

// isWorkload says whether gk runs an app's pods.
func isWorkload(gk schema.GroupKind) bool {
	return gk.Group == "apps" && slices.Contains(WorkloadKinds, gk.Kind)
}
