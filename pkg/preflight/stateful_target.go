package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tandem-io/tandem/pkg/volume"
)

// storageTarget is what the target offers volumes: its classes' provisioners,
// its CSI drivers and its nodes.
type storageTarget struct {
	provisioners map[string]string // StorageClass → provisioner
	drivers      map[string]bool   // CSIDriver names
	nodes        []corev1.Node
}

func readStorageTarget(ctx context.Context, env *Env) (*storageTarget, error) {
	cs := env.Target.Typed
	t := &storageTarget{provisioners: map[string]string{}, drivers: map[string]bool{}}
	scs, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list StorageClasses in the target: %w", err)
	}
	for _, sc := range scs.Items {
		t.provisioners[sc.Name] = sc.Provisioner
	}
	drivers, err := cs.StorageV1().CSIDrivers().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list CSIDrivers in the target: %w", err)
	}
	for _, d := range drivers.Items {
		t.drivers[d.Name] = true
	}
	if t.nodes, err = env.TargetNodes(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// volumeFindings checks the source's volumes against the target: a CSI
// driver it lacks, a class provisioned by something else there, shared
// access modes, node affinity no target node satisfies, and a hostPath
// volume whose data nothing ties to a node (volume.NodeLocal).
func volumeFindings(ctx context.Context, env *Env) ([]Finding, error) {
	t, err := readStorageTarget(ctx, env)
	if err != nil {
		return nil, err
	}
	sourceProvisioners := map[string]string{}
	for _, sc := range env.Of("storage.k8s.io", "StorageClass") {
		p, _, _ := unstructured.NestedString(sc.Object, "provisioner")
		sourceProvisioners[sc.GetName()] = p
	}
	var out []Finding
	for _, o := range env.Of("", "PersistentVolume") {
		var pv corev1.PersistentVolume
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &pv); err != nil {
			return out, fmt.Errorf("%s: %w", Ref(o), err)
		}
		if csi := pv.Spec.CSI; csi != nil && !t.drivers[csi.Driver] {
			out = append(out, Finding{Severity: Error, Object: Ref(o),
				Message: fmt.Sprintf("a volume of CSI driver %s, which the target does not have (no CSIDriver %s): handed over, no pod could mount it", csi.Driver, csi.Driver),
				Fix:     "install the " + csi.Driver + " driver in the target before `tandem handoff`"})
		}
		if path, ok := volume.NodeLocal(&pv); ok && pv.Spec.ClaimRef != nil {
			out = append(out, Finding{Severity: Warning, Object: Ref(o),
				Message: fmt.Sprintf("a hostPath volume (%s) without node affinity: its data is on the source node that wrote it; handed over, a pod in the target mounts that path on its own node", path),
				Fix:     "hand it over only where both clusters' nodes share the path (one machine, a shared mount); else copy the data (a file-level backup such as Velero's) instead of `tandem handoff`"})
		}
		if na := pv.Spec.NodeAffinity; na != nil && na.Required != nil && !volume.AnyNodeMatches(na.Required, t.nodes) {
			out = append(out, Finding{Severity: Error, Object: Ref(o),
				Message: fmt.Sprintf("node affinity %s matches no node of the target: handed over, no pod could mount it", describeSelector(na.Required)),
				Fix:     "add target nodes in the volume's zone (or with the labels it needs), or copy the data instead of handing the volume over"})
		}
	}
	for _, o := range env.Of("", "PersistentVolumeClaim") {
		class, _, _ := unstructured.NestedString(o.Object, "spec", "storageClassName")
		modes, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "accessModes")
		src, dst := sourceProvisioners[class], t.provisioners[class]
		if class == "" || dst == "" {
			continue // no class, or missing in the target: the classes check says so
		}
		if src != "" && src != dst {
			out = append(out, Finding{Severity: Warning, Object: Ref(o),
				Message: fmt.Sprintf("StorageClass %s is provisioned by %s in the source and by %s in the target: new claims get another kind of disk", class, src, dst),
				Fix:     "use the same provisioner in both, or check that the workload works on " + dst})
		}
		shared := slices.DeleteFunc(slices.Clone(modes), func(m string) bool { return m == string(corev1.ReadWriteOnce) || m == string(corev1.ReadWriteOncePod) })
		if len(shared) > 0 && src != dst {
			out = append(out, Finding{Severity: Warning, Object: Ref(o),
				Message: fmt.Sprintf("access modes %s, and the target's class %s is provisioned by %s: not every provisioner offers them", strings.Join(shared, ","), class, dst),
				Fix:     "check that " + dst + " supports " + strings.Join(shared, ",") + " before the move"})
		}
	}
	return out, nil
}

// describeSelector writes the terms as "key in (a,b)" ORed.
func describeSelector(sel *corev1.NodeSelector) string {
	var terms []string
	for _, term := range sel.NodeSelectorTerms {
		var exprs []string
		for _, e := range term.MatchExpressions {
			exprs = append(exprs, fmt.Sprintf("%s %s (%s)", e.Key, strings.ToLower(string(e.Operator)), strings.Join(e.Values, ",")))
		}
		for _, e := range term.MatchFields {
			exprs = append(exprs, fmt.Sprintf("field %s %s (%s)", e.Key, strings.ToLower(string(e.Operator)), strings.Join(e.Values, ",")))
		}
		terms = append(terms, strings.Join(exprs, " and "))
	}
	return strings.Join(terms, " or ")
}
