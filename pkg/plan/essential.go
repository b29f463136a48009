package plan

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Essential is what the selection reads of obj's content (deps.go,
// grants.go: the references of a pod spec, a claim's or a claim
// template's class, an Ingress's class, backends and TLS Secrets, a role's
// rules, a binding's role and subjects, a CRD's group and names) and the
// fields at the paths keep, as a new object that shares those values with
// obj and nothing else. A sync that holds the content of every workload,
// Service and RBAC object of a large cluster while it selects holds this
// instead: a Deployment's image, ports, probes, resources and plain env
// values are never read. Kinds the selection reads nothing of keep their
// name and the keep paths alone.
func Essential(obj *unstructured.Unstructured, keep ...[]string) *unstructured.Unstructured {
	o := obj.Object
	out := map[string]any{"apiVersion": o["apiVersion"], "kind": o["kind"]}
	copyAt(out, o, "metadata", "name")
	copyAt(out, o, "metadata", "namespace")
	k := KeyOf(obj)
	if path := podSpecPath(k); path != nil {
		if v, _, _ := unstructured.NestedFieldNoCopy(o, path...); v != nil {
			if spec, ok := v.(map[string]any); ok {
				setAt(out, essentialPodSpec(spec), path...)
			}
		}
	}
	gk := schema.GroupKind{Group: k.Group, Kind: k.Kind}
	if gk == (schema.GroupKind{Group: "apps", Kind: "StatefulSet"}) {
		var templates []any
		for _, t := range list(o, "spec", "volumeClaimTemplates") {
			c := map[string]any{}
			copyAt(c, t, "spec", "storageClassName")
			templates = append(templates, c)
		}
		if templates != nil {
			setAt(out, templates, "spec", "volumeClaimTemplates")
		}
	}
	for _, p := range readPaths[gk] {
		copyAt(out, o, p...)
	}
	if readsRefs(gk) {
		essentialRefs(out, o, gk.Group == gatewayGroup)
	}
	for _, p := range keep {
		copyAt(out, o, p...)
	}
	return &unstructured.Unstructured{Object: out}
}

// readPaths are the fields the selection reads of the kinds whose content
// it reads at plain paths (beside pod specs and a StatefulSet's claim
// templates): deps.go's and grants.go's rules.
var readPaths = map[schema.GroupKind][][]string{
	{Kind: "PersistentVolumeClaim"}: {{"spec", "storageClassName"}},
	{Group: "networking.k8s.io", Kind: "Ingress"}: {{"spec", "ingressClassName"}, {"spec", "defaultBackend"}, {"spec", "rules"}, {"spec", "tls"},
		{"metadata", "annotations", "kubernetes.io/ingress.class"}},
	{Group: rbacGroup, Kind: "Role"}:                    {{"rules"}},
	{Group: rbacGroup, Kind: "ClusterRole"}:             {{"rules"}, {"aggregationRule"}}, // cluster-scoped: kept whole today; listed for when they are not
	{Group: rbacGroup, Kind: "RoleBinding"}:             {{"roleRef"}, {"subjects"}},
	{Group: rbacGroup, Kind: "ClusterRoleBinding"}:      {{"roleRef"}, {"subjects"}},
	{Group: crdGroup, Kind: "CustomResourceDefinition"}: {{"spec", "group"}, {"spec", "names"}},
	validatingWebhooks:                                  {{"webhooks"}},
	mutatingWebhooks:                                    {{"webhooks"}},
	apiServices:                                         {{"spec", "service"}},
	// A token Secret names its ServiceAccount; only such Secrets carry it.
	{Kind: "Secret"}: {{"metadata", "annotations", corev1.ServiceAccountNameKey}},
}

// ReadsContent says whether the selection reads anything of gk's objects
// beyond their names, labels and owners: whether Essential keeps more than
// those of them. A sync holds the content of these kinds' objects only.
func ReadsContent(gk schema.GroupKind) bool {
	return podSpecPath(ObjectKey{Group: gk.Group, Kind: gk.Kind}) != nil || readPaths[gk] != nil || readsRefs(gk)
}

// essentialPodSpec is what podDeps reads of a pod spec.
func essentialPodSpec(spec map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range []string{"imagePullSecrets", "serviceAccountName", "serviceAccount", "priorityClassName", "runtimeClassName"} {
		if v, ok := spec[f]; ok {
			out[f] = v
		}
	}
	var volumes []any
	for _, v := range list(spec, "volumes") {
		c := map[string]any{}
		for _, f := range []string{"configMap", "secret", "persistentVolumeClaim", "projected"} {
			if s, ok := v[f]; ok {
				c[f] = s
			}
		}
		volumes = append(volumes, c)
	}
	if volumes != nil {
		out["volumes"] = volumes
	}
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		var containers []any
		for _, c := range list(spec, field) {
			slim := map[string]any{}
			var env []any
			for _, e := range list(c, "env") {
				if from, ok := e["valueFrom"]; ok {
					env = append(env, map[string]any{"valueFrom": from})
				}
			}
			if env != nil {
				slim["env"] = env
			}
			if from, ok := c["envFrom"]; ok {
				slim["envFrom"] = from
			}
			containers = append(containers, slim)
		}
		if containers != nil {
			out[field] = containers
		}
	}
	return out
}

// copyAt sets the value at path in from, if any, at the same path in to.
func copyAt(to, from map[string]any, path ...string) {
	if v, ok, _ := unstructured.NestedFieldNoCopy(from, path...); ok {
		setAt(to, v, path...)
	}
}

// setAt sets v at path in m, making the maps on the way.
func setAt(m map[string]any, v any, path ...string) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
