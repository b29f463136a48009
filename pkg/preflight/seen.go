package preflight

// What plan reads of every source object, whatever its kind, gathered as
// the object is listed. Most of a large cluster's objects are of kinds no
// check reads one by one — ConfigMaps, Secrets, Endpoints, ReplicaSets,
// custom resources — yet four checks read something of every object: apis
// (the versions its managedFields and kubectl's last-applied copy were
// written at), owners (the pipeline that manages it), classes (the classes
// it names) and deprecated and crds (how many objects of each kind, and
// how many a sync would write). Seen keeps that much of each object as it
// goes by; the object itself stays in Env.Objects only when its kind is
// one a check reads one by one (heldKinds). A plan's memory then grows
// with the objects of those kinds, not with the cluster.

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// heldKinds are the kinds the checks read one by one (Env.Of): their
// objects are kept, slim, for the whole plan. Of Secrets only Helm
// releases are kept (holds).
var heldKinds = map[schema.GroupKind]bool{}

func init() {
	for _, gk := range []schema.GroupKind{
		{Kind: "Namespace"}, {Kind: "Node"}, {Kind: "Pod"}, {Kind: "Service"}, {Kind: "ServiceAccount"},
		{Kind: "PersistentVolume"}, {Kind: "PersistentVolumeClaim"},
		{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "DaemonSet"}, {Group: "apps", Kind: "StatefulSet"},
		{Group: "batch", Kind: "CronJob"},
		{Group: "policy", Kind: "PodDisruptionBudget"},
		{Group: "networking.k8s.io", Kind: "Ingress"}, {Group: "networking.k8s.io", Kind: "ServiceCIDR"},
		{Group: "gateway.networking.k8s.io", Kind: "Gateway"}, {Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"},
		{Group: "rbac.authorization.k8s.io", Kind: "Role"}, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
		{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"},
		{Group: "apiregistration.k8s.io", Kind: "APIService"},
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"},
		{Group: "argoproj.io", Kind: "Application"},
		{Group: "elbv2.k8s.aws", Kind: "TargetGroupBinding"},
		{Group: "velero.io", Kind: "Schedule"},
	} {
		heldKinds[gk] = true
	}
	for kind, group := range classGroups {
		heldKinds[schema.GroupKind{Group: group, Kind: kind}] = true
	}
}

// holds reports whether plan keeps o for the checks that read it one by one.
func holds(o *unstructured.Unstructured) bool {
	gk := o.GroupVersionKind().GroupKind()
	if gk == (schema.GroupKind{Kind: "Secret"}) {
		t, _ := o.Object["type"].(string)
		return t == HelmReleaseType
	}
	return heldKinds[gk]
}

// Seen is what the checks read of every source object (see above).
type Seen struct {
	// Objects is how many source objects were listed.
	Objects int
	count   map[schema.GroupKind]int
	copied  map[schema.GroupKind]int
	// usages is the apis check's evidence from managedFields and
	// last-applied: only of versions the target does not serve (what the
	// check reports; the rest would be one Usage per object).
	usages []Usage
	// classRefs are the classes objects name (the classes check).
	classRefs []ClassRef
	// units are the pipeline units that manage objects (the owners check).
	units map[string]*managed
	// instances are the objects no pipeline names by its own labels or
	// annotations, by their app.kubernetes.io/instance label: Argo CD
	// before 3.0 tracks what it deploys by that label alone, and the owners
	// check gives them to an Application of that name.
	instances map[string]*managed
	// argoTracking is each Argo CD's application.resourceTrackingMethod
	// (argocd-cm's), by the namespace it runs in: "" when unset.
	argoTracking map[string]string
	// selector: the Services (namespace/name) that have a selector, whose
	// Endpoints the cluster makes itself; Services are listed first.
	selector map[string]bool
	sanitize sanitize.Context
}

func newSeen() *Seen {
	s := &Seen{count: map[schema.GroupKind]int{}, copied: map[schema.GroupKind]int{}, units: map[string]*managed{}, instances: map[string]*managed{}, argoTracking: map[string]string{}, selector: map[string]bool{}}
	s.sanitize.ServiceHasSelector = func(ns, name string) bool { return s.selector[ns+"/"+name] }
	return s
}

// Count is how many objects of a kind the source has.
func (s *Seen) Count(group, kind string) int {
	return s.count[schema.GroupKind{Group: group, Kind: kind}]
}

// Copied is how many objects of a kind a sync would write: those
// pkg/sanitize does not skip as the cluster's own (Endpoints of a Service
// with a selector, service-account tokens…).
func (s *Seen) Copied(group, kind string) int {
	return s.copied[schema.GroupKind{Group: group, Kind: kind}]
}

// observe reads o, whole as listed, for every check. When keep is false
// nothing else will read o, and it is sanitized in place.
func (s *Seen) observe(o *unstructured.Unstructured, served *Served, keep bool) {
	gk := o.GroupVersionKind().GroupKind()
	s.Objects++
	s.count[gk]++
	// apis
	unserved := func(u Usage) bool { return u.GroupVersion.Version != "" && !served.Serves(u.GroupVersion, u.Kind) }
	for _, u := range ManagedFieldsUsages(o) {
		if unserved(u) && !ControlPlaneManager(u.Detail) {
			s.usages = append(s.usages, u)
		}
	}
	if u, ok := LastAppliedUsage(o); ok && unserved(u) {
		s.usages = append(s.usages, u)
	}
	// classes
	s.classRefs = append(s.classRefs, ClassRefs(o)...)
	// deprecated, crds
	if gk == (schema.GroupKind{Kind: "Service"}) {
		if sel, _, _ := unstructured.NestedMap(o.Object, "spec", "selector"); len(sel) > 0 {
			s.selector[o.GetNamespace()+"/"+o.GetName()] = true
		}
	}
	if gk == (schema.GroupKind{Kind: "ConfigMap"}) && o.GetName() == "argocd-cm" {
		s.argoTracking[o.GetNamespace()], _, _ = unstructured.NestedString(o.Object, "data", "application.resourceTrackingMethod")
	}
	var skipped bool
	if keep {
		skipped = sanitize.Skipped(o, s.sanitize) // decided without changing o
	} else {
		skipped = sanitize.Object(o, s.sanitize).Skip // nothing reads o after this
	}
	if skipped {
		// The cluster's own (an Endpoints repeats its Service's labels, a
		// Helm chart's among them): no pipeline deploys it.
		return
	}
	s.copied[gk]++
	// owners (sanitizing leaves the pipelines' labels and annotations: users own them)
	s.observeOwner(o)
}
