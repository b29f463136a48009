package plan

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	rbacGroup = "rbac.authorization.k8s.io"
	crdGroup  = "apiextensions.k8s.io"
)

// The kinds that call a Service: admission webhooks and aggregated APIs.
var (
	validatingWebhooks = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}
	mutatingWebhooks   = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}
	apiServices        = schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}
)

// dep is one object another object needs in the target, and why.
type dep struct {
	key ObjectKey
	why string
	via *ObjectKey // when set, needed only if this object is selected (a filter may reject it)
}

// index is what dependency lookups need from the source objects.
type index struct {
	byKey        map[ObjectKey]Object
	crds         map[schema.GroupKind]ObjectKey     // served kind → its CRD
	crdResources map[schema.GroupResource]ObjectKey // served group/plural → its CRD (what RBAC rules name)
	crdsOfGroup  map[string][]ObjectKey             // group → the CRDs serving it (what a rule on every resource of it names)
	bindings     map[[2]string][]Object             // ServiceAccount namespace/name → bindings naming it
	callers      map[[2]string][]ObjectKey          // Service namespace/name → webhook configurations and APIServices calling it
	kindGroups   map[string][]string                // kind → the groups whose CRDs serve it
	released     map[string][]dep                   // namespace → the cluster-scoped objects of the Helm releases in it
	appWideIn    map[string][]dep                   // namespace → the app-wide objects of the app instances whose workloads run in it
	clusterRoles []Object                           // what an aggregated ClusterRole's selectors are matched against
}

// The annotations Helm sets on every object of a release (helm.sh/docs,
// "Helm ownership"): which release, in which namespace.
const (
	helmReleaseName      = "meta.helm.sh/release-name"
	helmReleaseNamespace = "meta.helm.sh/release-namespace"
)

// releaseOf is the Helm release (namespace, name) a cluster-scoped object
// belongs to, when it belongs to one. A Namespace is never a release's
// part here: a namespace is what a user names to select, and a chart's
// namespace holds what the release did not put there.
func releaseOf(obj Object, f map[string]any) (string, string, bool) {
	if obj.GetNamespace() != "" || isNamespace(obj.GroupVersionKind().GroupKind()) {
		return "", "", false
	}
	ns, name := str(f, "metadata", "annotations", helmReleaseNamespace), str(f, "metadata", "annotations", helmReleaseName)
	return ns, name, ns != "" && name != ""
}

// newIndex indexes objs; skip (nil: none) says which objects need not be
// found by key (byKey): those a selection knows by their keys already.
func newIndex(objs []Object, skip func(ObjectKey) bool) index {
	idx := index{
		byKey:        map[ObjectKey]Object{},
		crds:         map[schema.GroupKind]ObjectKey{},
		crdResources: map[schema.GroupResource]ObjectKey{},
		crdsOfGroup:  map[string][]ObjectKey{},
		bindings:     map[[2]string][]Object{},
		callers:      map[[2]string][]ObjectKey{},
		kindGroups:   map[string][]string{},
		released:     map[string][]dep{},
		appWideIn:    map[string][]dep{},
	}
	appWides := map[string][]appWide{} // app instance → the app-wide objects labelled as its
	for _, obj := range objs {
		if wide, partOf := isAppWide(obj); wide {
			if a := appOf(obj); a.labelled(partOf) {
				releaseNS, _, _ := releaseOf(obj, fields(obj))
				appWides[a.instance] = append(appWides[a.instance], appWide{KeyOf(obj), a, partOf, releaseNS})
			}
		}
	}
	inNamespace := map[string]map[ObjectKey]bool{} // the app-wide objects already in appWideIn
	for _, obj := range objs {
		k := KeyOf(obj)
		if skip != nil && skip(k) {
			// Not found by key, so not told apart from a duplicate:
			// only RBAC objects are indexed beyond byKey, and they are
			// never skipped.
		} else if _, dup := idx.byKey[k]; dup {
			continue
		} else {
			idx.byKey[k] = obj
		}
		if ns, release, ok := releaseOf(obj, fields(obj)); ok {
			idx.released[ns] = append(idx.released[ns], dep{key: k, why: Describe(k) + " of Helm release " + ns + "/" + release})
		}
		if a := appOf(obj); len(appWides[a.instance]) > 0 && k.Namespace != "" && isWorkload(schema.GroupKind{Group: k.Group, Kind: k.Kind}) {
			for _, c := range appWides[a.instance] {
				on, same := c.app.matches(a, c.partOf)
				if !same || inNamespace[k.Namespace][c.key] || (c.releaseNS != "" && c.releaseNS != k.Namespace) {
					continue // another app, found already, or a Helm release's of another namespace (an instance is named per namespace)
				}
				if inNamespace[k.Namespace] == nil {
					inNamespace[k.Namespace] = map[ObjectKey]bool{}
				}
				inNamespace[k.Namespace][c.key] = true
				w := k // it comes only if this workload is picked (a kind filter may leave it)
				idx.appWideIn[k.Namespace] = append(idx.appWideIn[k.Namespace], dep{key: c.key, why: appWideWhy(c.key, a.instance, on, k), via: &w})
			}
		}
		switch {
		case k.Group == crdGroup && k.Kind == "CustomResourceDefinition":
			gk := schema.GroupKind{Group: str(fields(obj), "spec", "group"), Kind: str(fields(obj), "spec", "names", "kind")}
			idx.crds[gk] = k
			idx.crdResources[crdResource(obj)] = k
			idx.crdsOfGroup[gk.Group] = append(idx.crdsOfGroup[gk.Group], k)
			idx.kindGroups[gk.Kind] = append(idx.kindGroups[gk.Kind], gk.Group)
		case k.Group == "admissionregistration.k8s.io" || k.Group == "apiregistration.k8s.io":
			for _, svc := range servicesCalled(schema.GroupKind{Group: k.Group, Kind: k.Kind}, fields(obj)) {
				if !slices.Contains(idx.callers[svc], k) {
					idx.callers[svc] = append(idx.callers[svc], k)
				}
			}
		case k.Group == rbacGroup && k.Kind == "ClusterRole":
			idx.clusterRoles = append(idx.clusterRoles, obj)
		case k.Group == rbacGroup && (k.Kind == "RoleBinding" || k.Kind == "ClusterRoleBinding"):
			for _, sub := range list(fields(obj), "subjects") {
				if str(sub, "kind") != "ServiceAccount" {
					continue
				}
				// A RoleBinding's subject without a namespace is in the binding's.
				ns := str(sub, "namespace")
				if ns == "" {
					ns = k.Namespace
				}
				sa := [2]string{ns, str(sub, "name")}
				idx.bindings[sa] = append(idx.bindings[sa], obj)
			}
		}
	}
	return idx
}

// servicesCalled are the Services (namespace, name) an object of kind gk
// with fields f calls: a webhook configuration's webhooks'
// clientConfig.service, an APIService's spec.service; none for other kinds.
func servicesCalled(gk schema.GroupKind, f map[string]any) [][2]string {
	var at []map[string]any // the maps that hold a service reference
	switch gk {
	case validatingWebhooks, mutatingWebhooks:
		for _, w := range list(f, "webhooks") {
			if c, ok := w["clientConfig"].(map[string]any); ok {
				at = append(at, c)
			}
		}
	case apiServices:
		if spec, ok := f["spec"].(map[string]any); ok {
			at = append(at, spec)
		}
	}
	var out [][2]string
	for _, m := range at {
		if name := str(m, "service", "name"); name != "" {
			out = append(out, [2]string{str(m, "service", "namespace"), name})
		}
	}
	return out
}

// CallsUncopied names the first Service ("namespace/name") obj calls — a
// webhook configuration's or an APIService's backend — in a namespace s
// never copies (a system namespace, unless IncludeSystem); "" when none.
// Such an object is not copied: its backend is an add-on of the source
// (metrics-server, a cloud's load balancer controller), which brings its
// own configuration with it when it is installed in the target, and a copy
// calling a backend that is not there breaks the target (every write its
// webhook matches refused; the group of its APIService unavailable, which
// keeps namespaces from being deleted).
func (s Selector) CallsUncopied(obj Object) string {
	if s.IncludeSystem {
		return ""
	}
	for _, svc := range servicesCalled(obj.GroupVersionKind().GroupKind(), fields(obj)) {
		if SystemNamespace(svc[0]) {
			return svc[0] + "/" + svc[1]
		}
	}
	return ""
}

// Link is an object whose selection brings another along, and why.
type Link struct {
	By  ObjectKey
	Why string
}

// BroughtBy lists the objects whose selection brings obj along through an
// index of the source, with the reason Select gives: the ServiceAccounts a
// RoleBinding or ClusterRoleBinding binds, the Services a webhook
// configuration or an APIService calls; under a selection by namespaces
// (s), the Namespace whose Helm release a cluster-scoped object belongs
// to. A mirror asks it of an object that changed and that nothing
// selected named before: it follows the object when one of those is
// selected.
func BroughtBy(obj Object, s Selector) []Link {
	k := KeyOf(obj)
	gk := schema.GroupKind{Group: k.Group, Kind: k.Kind}
	f := fields(obj)
	var out []Link
	if ns, release, ok := releaseOf(obj, f); ok && s.ByNamespaceOnly() {
		out = append(out, Link{By: ObjectKey{Kind: "Namespace", Name: ns}, Why: Describe(k) + " of Helm release " + ns + "/" + release})
	}
	switch gk {
	case schema.GroupKind{Group: rbacGroup, Kind: "RoleBinding"}, schema.GroupKind{Group: rbacGroup, Kind: "ClusterRoleBinding"}:
		for _, sub := range list(f, "subjects") {
			ns := str(sub, "namespace")
			if ns == "" {
				ns = k.Namespace // a RoleBinding's subject is in its namespace
			}
			if str(sub, "kind") == "ServiceAccount" && ns != "" && str(sub, "name") != "" {
				sa := ObjectKey{Kind: "ServiceAccount", Namespace: ns, Name: str(sub, "name")}
				out = append(out, Link{By: sa, Why: k.Kind + " of " + Describe(sa)})
			}
		}
	case validatingWebhooks, mutatingWebhooks, apiServices:
		for _, svc := range servicesCalled(gk, f) {
			s := ObjectKey{Kind: "Service", Namespace: svc[0], Name: svc[1]}
			out = append(out, Link{By: s, Why: Describe(k) + ", which calls " + Describe(s)})
		}
	}
	return out
}

// LinkedFrom are the kinds whose objects BroughtBy may link to an object
// of kind gk (beside a Helm release's, linked to its namespace): a
// caller that sees such an object appear asks those kinds which of theirs
// point at it.
func LinkedFrom(gk schema.GroupKind) []schema.GroupKind {
	switch gk {
	case schema.GroupKind{Kind: "ServiceAccount"}:
		return []schema.GroupKind{{Group: rbacGroup, Kind: "ClusterRoleBinding"}, {Group: rbacGroup, Kind: "RoleBinding"}}
	case schema.GroupKind{Kind: "Service"}:
		return []schema.GroupKind{validatingWebhooks, mutatingWebhooks, apiServices}
	}
	return nil
}

// deps lists what obj needs in the target. A Service's selector is not
// followed: the Pods it selects are not dependencies but dependents.
func (idx index) deps(obj Object) []dep {
	k := KeyOf(obj)
	self := Describe(k)
	f := fields(obj) // once: a sketch's content is decoded at each ask
	var out []dep
	need := func(group, kind, ns, name, why string) {
		if name != "" {
			out = append(out, dep{key: ObjectKey{group, kind, ns, name}, why: why})
		}
	}
	if k.Namespace != "" {
		need("", "Namespace", "", k.Namespace, "namespace of "+k.Namespace+"/"+k.Kind+" "+k.Name)
	}
	if crd, ok := idx.crds[schema.GroupKind{Group: k.Group, Kind: k.Kind}]; ok {
		out = append(out, dep{key: crd, why: "CRD of " + self})
	}
	if spec := podSpec(k, f); spec != nil {
		out = append(out, podDeps(spec, k.Namespace, self)...)
	}
	gk := schema.GroupKind{Group: k.Group, Kind: k.Kind}
	if readsRefs(gk) {
		out = append(out, idx.refDeps(k, f, self)...)
	}
	switch gk {
	case schema.GroupKind{Kind: "Service"}:
		// What calls it comes with it: a namespace's admission webhooks
		// and aggregated APIs are its app's, though cluster-scoped.
		for _, c := range idx.callers[[2]string{k.Namespace, k.Name}] {
			out = append(out, dep{key: c, why: Describe(c) + ", which calls " + self})
		}
	case validatingWebhooks, mutatingWebhooks, apiServices:
		why := "Service called by " + self
		if gk == apiServices {
			why = "Service behind " + self
		}
		for _, svc := range servicesCalled(gk, f) {
			need("", "Service", svc[0], svc[1], why)
		}
	case schema.GroupKind{Kind: "Secret"}:
		// A token Secret's ServiceAccount: without it the target's token
		// controller deletes the copy instead of filling it in.
		need("", "ServiceAccount", k.Namespace, str(f, "metadata", "annotations", corev1.ServiceAccountNameKey), "ServiceAccount of token "+self)
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		for _, t := range list(f, "spec", "volumeClaimTemplates") {
			need("storage.k8s.io", "StorageClass", "", str(t, "spec", "storageClassName"), "StorageClass of "+self)
		}
	case schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		need("storage.k8s.io", "StorageClass", "", str(f, "spec", "storageClassName"),
			"StorageClass of PVC "+k.Namespace+"/"+k.Name)
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}:
		class := str(f, "spec", "ingressClassName")
		if class == "" {
			class = str(f, "metadata", "annotations", "kubernetes.io/ingress.class")
		}
		need("networking.k8s.io", "IngressClass", "", class, "IngressClass of "+self)
		need("", "Service", k.Namespace, str(f, "spec", "defaultBackend", "service", "name"), "Service behind "+self)
		for _, r := range list(f, "spec", "rules") {
			for _, p := range list(r, "http", "paths") {
				need("", "Service", k.Namespace, str(p, "backend", "service", "name"), "Service behind "+self)
			}
		}
		for _, t := range list(f, "spec", "tls") {
			need("", "Secret", k.Namespace, str(t, "secretName"), "TLS Secret of "+self)
		}
	case schema.GroupKind{Kind: "ServiceAccount"}:
		for _, b := range idx.bindings[[2]string{k.Namespace, k.Name}] {
			bk := KeyOf(b)
			out = append(out, dep{key: bk, why: bk.Kind + " of " + self})
			if rk, ok := roleRef(b); ok {
				out = append(out, dep{key: rk, why: rk.Kind + " bound to " + self + " by " + Describe(bk), via: &bk})
			}
		}
		// The CRDs its roles grant on (grants.go): an operator crash-loops
		// without the kinds it serves, even before any custom resource exists.
		// Like the role, only through a binding that is itself copied.
		for _, g := range idx.grants(k) {
			out = append(out, dep{key: g.CRD, why: g.Why(), via: &g.Binding})
		}
	case schema.GroupKind{Group: rbacGroup, Kind: "RoleBinding"}, schema.GroupKind{Group: rbacGroup, Kind: "ClusterRoleBinding"}:
		if rk, ok := roleRef(obj); ok {
			out = append(out, dep{key: rk, why: rk.Kind + " referenced by " + self})
		}
	case schema.GroupKind{Group: rbacGroup, Kind: "ClusterRole"}:
		out = append(out, idx.aggregated(obj)...)
	}
	return out
}

// podSpec returns the pod spec of a Pod or of a workload's pod template, or nil.
func podSpec(k ObjectKey, obj map[string]any) map[string]any {
	path := podSpecPath(k)
	if path == nil {
		return nil
	}
	m, _, _ := unstructured.NestedMap(obj, path...)
	return m
}

// podSpecPath is where an object of k's kind has its pod spec, nil for a
// kind that has none.
func podSpecPath(k ObjectKey) []string {
	switch (schema.GroupKind{Group: k.Group, Kind: k.Kind}) {
	case schema.GroupKind{Kind: "Pod"}:
		return []string{"spec"}
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "StatefulSet"},
		schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"},
		schema.GroupKind{Group: "batch", Kind: "Job"}, schema.GroupKind{Kind: "ReplicationController"}:
		return []string{"spec", "template", "spec"}
	case schema.GroupKind{Group: "batch", Kind: "CronJob"}:
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}
	}
	return nil
}

// podDeps lists what a pod spec in namespace ns refers to; self describes its owner.
func podDeps(spec map[string]any, ns, self string) []dep {
	var out []dep
	need := func(group, kind, name, why string) {
		if name != "" {
			out = append(out, dep{key: ObjectKey{group, kind, ns, name}, why: why})
		}
	}
	cm := func(name string) { need("", "ConfigMap", name, "ConfigMap referenced by "+self) }
	secret := func(name string) { need("", "Secret", name, "Secret referenced by "+self) }

	for _, v := range list(spec, "volumes") {
		cm(str(v, "configMap", "name"))
		secret(str(v, "secret", "secretName"))
		need("", "PersistentVolumeClaim", str(v, "persistentVolumeClaim", "claimName"), "PVC mounted by "+self)
		for _, src := range list(v, "projected", "sources") {
			cm(str(src, "configMap", "name"))
			secret(str(src, "secret", "name"))
		}
	}
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, c := range list(spec, field) {
			for _, e := range list(c, "env") {
				cm(str(e, "valueFrom", "configMapKeyRef", "name"))
				secret(str(e, "valueFrom", "secretKeyRef", "name"))
			}
			for _, e := range list(c, "envFrom") {
				cm(str(e, "configMapRef", "name"))
				secret(str(e, "secretRef", "name"))
			}
		}
	}
	for _, s := range list(spec, "imagePullSecrets") {
		secret(str(s, "name"))
	}
	need("", "ServiceAccount", PodServiceAccount(spec), "ServiceAccount of "+self)
	if pc := str(spec, "priorityClassName"); pc != "" {
		out = append(out, dep{key: ObjectKey{"scheduling.k8s.io", "PriorityClass", "", pc}, why: "PriorityClass of " + self})
	}
	if rc := str(spec, "runtimeClassName"); rc != "" {
		out = append(out, dep{key: ObjectKey{"node.k8s.io", "RuntimeClass", "", rc}, why: "RuntimeClass of " + self})
	}
	return out
}

// roleRef returns the key of the Role or ClusterRole a binding refers to.
func roleRef(binding Object) (ObjectKey, bool) {
	f := fields(binding)
	name := str(f, "roleRef", "name")
	switch str(f, "roleRef", "kind") {
	case "Role":
		return ObjectKey{rbacGroup, "Role", binding.GetNamespace(), name}, name != ""
	case "ClusterRole":
		return ObjectKey{rbacGroup, "ClusterRole", "", name}, name != ""
	}
	return ObjectKey{}, false
}

// Describe names an object for a user: "Deployment shop/web", "ClusterRole view".
func Describe(k ObjectKey) string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// str reads a string field, "" when absent or not a string.
// PodServiceAccount is the ServiceAccount the pods of a pod spec run as:
// serviceAccountName, else its deprecated alias serviceAccount (still
// honoured by the apiserver), else "default".
func PodServiceAccount(spec map[string]any) string {
	if sa := str(spec, "serviceAccountName"); sa != "" {
		return sa
	}
	if sa := str(spec, "serviceAccount"); sa != "" {
		return sa
	}
	return "default"
}

func str(m map[string]any, fields ...string) string {
	s, _, _ := unstructured.NestedString(m, fields...)
	return s
}

// list reads a list of objects, skipping entries that are not objects.
func list(m map[string]any, fields ...string) []map[string]any {
	v, _, _ := unstructured.NestedFieldNoCopy(m, fields...)
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if im, ok := it.(map[string]any); ok {
			out = append(out, im)
		}
	}
	return out
}
