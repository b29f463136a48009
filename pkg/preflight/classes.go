package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Classes finds StorageClasses, IngressClasses, PriorityClasses,
// RuntimeClasses and GatewayClasses that source objects reference and the
// target lacks.
type Classes struct{}

// Name is the check's name.
func (Classes) Name() string { return "classes" }

// Scope says what was read.
func (Classes) Scope(env *Env) string {
	return "class references of PVCs, StatefulSets, Ingresses, Gateways and pod templates"
}

// ClassRef is one reference from an object to a cluster class.
type ClassRef struct {
	Kind   string // StorageClass, IngressClass, PriorityClass, RuntimeClass
	Name   string
	Object string
}

// builtinPriorityClasses exist in every cluster.
var builtinPriorityClasses = map[string]bool{"system-cluster-critical": true, "system-node-critical": true}

// podTemplatePaths are where pod specs sit in workload kinds.
var podTemplatePaths = map[string][]string{
	"Deployment":  {"spec", "template", "spec"},
	"StatefulSet": {"spec", "template", "spec"},
	"DaemonSet":   {"spec", "template", "spec"},
	"ReplicaSet":  {"spec", "template", "spec"},
	"Job":         {"spec", "template", "spec"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template", "spec"},
	"Pod":         {"spec"},
}

// ClassRefs returns the class references of one object.
func ClassRefs(o *unstructured.Unstructured) []ClassRef {
	var out []ClassRef
	add := func(kind, name string) {
		if name != "" {
			out = append(out, ClassRef{Kind: kind, Name: name, Object: Ref(o)})
		}
	}
	gk := o.GroupVersionKind().GroupKind()
	switch {
	case gk.Group == "" && gk.Kind == "PersistentVolumeClaim":
		sc, _, _ := unstructured.NestedString(o.Object, "spec", "storageClassName")
		if sc == "" {
			sc = o.GetAnnotations()["volume.beta.kubernetes.io/storage-class"]
		}
		add("StorageClass", sc)
	case gk.Group == "networking.k8s.io" && gk.Kind == "Ingress":
		// The older kubernetes.io/ingress.class annotation names a controller, not an object.
		ic, _, _ := unstructured.NestedString(o.Object, "spec", "ingressClassName")
		add("IngressClass", ic)
	case gk.Group == "gateway.networking.k8s.io" && gk.Kind == "Gateway":
		gc, _, _ := unstructured.NestedString(o.Object, "spec", "gatewayClassName")
		add("GatewayClass", gc)
	}
	if gk.Group == "apps" && gk.Kind == "StatefulSet" {
		vcts, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
		for _, v := range vcts {
			m, _ := v.(map[string]any)
			sc, _, _ := unstructured.NestedString(m, "spec", "storageClassName")
			add("StorageClass", sc)
		}
	}
	if path, ok := podTemplatePaths[gk.Kind]; ok && (gk.Group == "apps" || gk.Group == "batch" || gk.Group == "") {
		// Controller-owned pods and ReplicaSets repeat their owner's template.
		if (gk.Kind == "Pod" || gk.Kind == "ReplicaSet" || gk.Kind == "Job") && len(o.GetOwnerReferences()) > 0 {
			return out
		}
		spec, _, _ := unstructured.NestedMap(o.Object, path...)
		pc, _ := spec["priorityClassName"].(string)
		if !builtinPriorityClasses[pc] {
			add("PriorityClass", pc)
		}
		rc, _ := spec["runtimeClassName"].(string)
		add("RuntimeClass", rc)
	}
	return out
}

// classGroups are the API groups of the class kinds.
var classGroups = map[string]string{
	"StorageClass": "storage.k8s.io", "IngressClass": "networking.k8s.io",
	"PriorityClass": "scheduling.k8s.io", "RuntimeClass": "node.k8s.io",
	"GatewayClass": "gateway.networking.k8s.io",
}

// MissingClasses decides, for each class referenced, whether the target
// lacks it: a warning when the source has it (sync copies it), an error when
// neither cluster has it.
func MissingClasses(refs []ClassRef, source, target map[string]map[string]bool) []Finding {
	type key struct{ kind, name string }
	users := map[key][]string{}
	var order []key
	for _, r := range refs {
		k := key{r.Kind, r.Name}
		if target[r.Kind][r.Name] {
			continue
		}
		if _, seen := users[k]; !seen {
			order = append(order, k)
		}
		users[k] = append(users[k], r.Object)
	}
	var out []Finding
	for _, k := range order {
		us := users[k]
		sort.Strings(us)
		who := strings.Join(us, ", ")
		if len(us) > 3 {
			who = fmt.Sprintf("%s and %d more", strings.Join(us[:3], ", "), len(us)-3)
		}
		obj := k.kind + "." + classGroups[k.kind] + " " + k.name
		if source[k.kind][k.name] {
			out = append(out, Finding{Severity: Warning, Object: obj,
				Message: fmt.Sprintf("missing in the target, referenced by %s; the sync copies it from the source", who),
				Fix:     "check that the copied class works in the target (provisioner, controller, handler), or create a suitable one there first"})
			continue
		}
		out = append(out, Finding{Severity: Error, Object: obj,
			Message: fmt.Sprintf("referenced by %s but exists in neither cluster", who),
			Fix:     fmt.Sprintf("create %s %s in the target, or change the objects to a class the target has", k.kind, k.name)})
	}
	return out
}

// Run collects references and compares them with both clusters' classes.
func (Classes) Run(ctx context.Context, env *Env) ([]Finding, error) {
	refs := env.Seen.classRefs
	source := map[string]map[string]bool{}
	for kind, group := range classGroups {
		source[kind] = map[string]bool{}
		for _, c := range env.Of(group, kind) {
			source[kind][c.GetName()] = true
		}
	}
	target, provisioners, hasDefault, err := targetClasses(ctx, env)
	if err != nil {
		return nil, err
	}
	out := MissingClasses(refs, source, target)
	if f, ok := defaultClass(env, target, hasDefault); ok {
		out = append(out, f)
	}

	// A StorageClass the target will have must have a provisioner there.
	drivers, err := env.Target.Typed.StorageV1().CSIDrivers().List(ctx, metav1.ListOptions{})
	if err != nil {
		return out, fmt.Errorf("list CSIDrivers in the target: %w", err)
	}
	hasDriver := map[string]bool{}
	for _, d := range drivers.Items {
		hasDriver[d.Name] = true
	}
	for _, sc := range env.Of("storage.k8s.io", "StorageClass") {
		p, _, _ := unstructured.NestedString(sc.Object, "provisioner")
		if tp, ok := provisioners[sc.GetName()]; ok {
			p = tp // the target's own class of that name wins
		}
		if p == "" || strings.HasPrefix(p, "kubernetes.io/") || hasDriver[p] {
			continue // in-tree provisioners have no CSIDriver object
		}
		out = append(out, Finding{Severity: Warning, Object: "StorageClass.storage.k8s.io " + sc.GetName(),
			Message: fmt.Sprintf("provisioner %s has no CSIDriver in the target: new volumes of this class would stay Pending", p),
			Fix:     fmt.Sprintf("install the CSI driver %s in the target", p)})
	}
	return out, nil
}

// defaultAnnotation marks a cluster's default StorageClass.
const defaultAnnotation = "storageclass.kubernetes.io/is-default-class"

// defaultClass checks that claims without a class (they get the cluster's
// default) will find a default StorageClass in the target.
func defaultClass(env *Env, target map[string]map[string]bool, hasDefault bool) (Finding, bool) {
	var users []string
	for _, o := range env.Of("", "PersistentVolumeClaim") {
		if _, set, _ := unstructured.NestedString(o.Object, "spec", "storageClassName"); !set {
			users = append(users, Ref(o))
		}
	}
	for _, o := range env.Of("apps", "StatefulSet") {
		vcts, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
		for _, v := range vcts {
			m, _ := v.(map[string]any)
			if _, set, _ := unstructured.NestedString(m, "spec", "storageClassName"); !set {
				users = append(users, Ref(o))
			}
		}
	}
	if len(users) == 0 || hasDefault {
		return Finding{}, false
	}
	who := fmt.Sprintf("%d claims or claim templates without a class (e.g. %s)", len(users), users[0])
	for _, sc := range env.Of("storage.k8s.io", "StorageClass") {
		if sc.GetAnnotations()[defaultAnnotation] == "true" && !target["StorageClass"][sc.GetName()] {
			return Finding{Severity: Warning, Object: "StorageClass.storage.k8s.io " + sc.GetName(),
				Message: "the target has no default StorageClass; " + who + " rely on it; the sync copies the source's default " + sc.GetName(),
				Fix:     "check that the copied default class works in the target, or mark one of the target's classes default"}, true
		}
	}
	return Finding{Severity: Error, Object: "default StorageClass",
		Message: "the target has no default StorageClass; " + who + " rely on it",
		Fix:     "mark a StorageClass of the target default: kubectl annotate storageclass NAME " + defaultAnnotation + "=true"}, true
}

// targetClasses lists the target's classes by kind, its StorageClasses'
// provisioners, and whether one StorageClass is the default.
func targetClasses(ctx context.Context, env *Env) (map[string]map[string]bool, map[string]string, bool, error) {
	t := env.Target.Typed
	out := map[string]map[string]bool{"StorageClass": {}, "IngressClass": {}, "PriorityClass": {}, "RuntimeClass": {}, "GatewayClass": {}}
	provisioners := map[string]string{}
	scs, err := t.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, false, fmt.Errorf("list StorageClasses in the target: %w", err)
	}
	hasDefault := false
	for _, c := range scs.Items {
		out["StorageClass"][c.Name] = true
		provisioners[c.Name] = c.Provisioner
		hasDefault = hasDefault || c.Annotations[defaultAnnotation] == "true"
	}
	ics, err := t.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, false, fmt.Errorf("list IngressClasses in the target: %w", err)
	}
	for _, c := range ics.Items {
		out["IngressClass"][c.Name] = true
	}
	pcs, err := t.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, false, fmt.Errorf("list PriorityClasses in the target: %w", err)
	}
	for _, c := range pcs.Items {
		out["PriorityClass"][c.Name] = true
	}
	rcs, err := t.NodeV1().RuntimeClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, false, fmt.Errorf("list RuntimeClasses in the target: %w", err)
	}
	for _, c := range rcs.Items {
		out["RuntimeClass"][c.Name] = true
	}
	// GatewayClasses only where the Gateway API is installed (a CRD): none otherwise.
	for _, gv := range env.TargetServed.Kinds["GatewayClass"] {
		if gv.Group != "gateway.networking.k8s.io" {
			continue
		}
		gcs, err := env.Target.Dynamic.Resource(gv.WithResource("gatewayclasses")).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, nil, false, fmt.Errorf("list GatewayClasses in the target: %w", err)
		}
		for _, c := range gcs.Items {
			out["GatewayClass"][c.GetName()] = true
		}
		break
	}
	return out, provisioners, hasDefault, nil
}
