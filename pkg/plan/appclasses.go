package plan

// A namespace named by itself brings the classes of its apps: an ingress
// controller installed from a static manifest (ingress-nginx's
// deploy/static, rendered from its chart without Helm's annotations) has an
// IngressClass that nothing in its namespace names, labelled as the same
// app instance as its controller's Deployment. Select finds them through
// its index (classesIn); a mirror asks AppClass of a class that changed.

import (
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The recommended labels of an app's instance (kubernetes.io/docs/concepts/
// overview/working-with-objects/common-labels): which application, which
// installation of it. Manifests rendered from a chart (ingress-nginx's
// deploy/static) keep them without Helm's release annotations.
const (
	labelAppName     = "app.kubernetes.io/name"
	labelAppInstance = "app.kubernetes.io/instance"
)

// instanceOf is the app instance (name, instance) obj's recommended labels
// name; ok is false unless both are set.
func instanceOf(obj Object) (inst [2]string, ok bool) {
	l := obj.GetLabels()
	inst = [2]string{l[labelAppName], l[labelAppInstance]}
	return inst, inst[0] != "" && inst[1] != ""
}

// isServedClass says whether gk is a class its controller serves and that
// nothing names but the objects using it: an IngressClass, a GatewayClass.
// A namespace named by itself brings the classes labelled as the same app
// instance as a workload in it: the ingress controller's IngressClass of
// a static manifest, which no Ingress in that namespace may use.
func isServedClass(gk schema.GroupKind) bool { return slices.Contains(ServedClassKinds, gk) }

// ServedClassKinds are the kinds isServedClass names.
var ServedClassKinds = []schema.GroupKind{
	{Group: "networking.k8s.io", Kind: "IngressClass"},
	{Group: "gateway.networking.k8s.io", Kind: "GatewayClass"},
}

// appClass is a class labelled as an app instance's, and the namespace of
// the Helm release it belongs to ("" when none).
type appClass struct {
	key       ObjectKey
	releaseNS string
}

// classWhy is why the class c comes with the workload w of app instance inst.
func classWhy(c ObjectKey, inst [2]string, w ObjectKey) string {
	return Describe(c) + " of app " + inst[0] + " instance " + inst[1] + ", as " + Describe(w) + " (labels " + labelAppName + ", " + labelAppInstance + ")"
}

// AppClass says, of a class (an IngressClass, a GatewayClass), the labels
// of the app instance it belongs to (app.kubernetes.io/name and instance),
// and of a workload labelled so in namespace ns, why it comes along when
// ns is named by itself; ok is false when the class has no such labels or
// belongs to a Helm release of another namespace. A mirror asks it of a
// class that changed; Select finds the same through its index.
func AppClass(class Object, ns string) (selector map[string]string, why func(workload ObjectKey) string, ok bool) {
	k := KeyOf(class)
	inst, labelled := instanceOf(class)
	if k.Namespace != "" || !labelled || !isServedClass(schema.GroupKind{Group: k.Group, Kind: k.Kind}) {
		return nil, nil, false
	}
	if releaseNS, _, _ := releaseOf(class, fields(class)); releaseNS != "" && releaseNS != ns {
		return nil, nil, false
	}
	return map[string]string{labelAppName: inst[0], labelAppInstance: inst[1]},
		func(w ObjectKey) string { return classWhy(k, inst, w) }, true
}

// WorkloadKinds are the kinds whose objects run an app's pods, in group apps.
var WorkloadKinds = []string{"Deployment", "DaemonSet", "StatefulSet"}

// isWorkload says whether gk runs an app's pods.
func isWorkload(gk schema.GroupKind) bool {
	return gk.Group == "apps" && slices.Contains(WorkloadKinds, gk.Kind)
}
