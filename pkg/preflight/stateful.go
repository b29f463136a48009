package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Stateful lists what holds data: StatefulSets with volume claim templates,
// PVCs and PVs; flags PVs that would be deleted with their claim; checks
// the volumes against the target (CSI driver, provisioner, access modes,
// node affinity); says what becomes of the source's snapshots; and flags
// the backup schedules both clusters would run into one storage location.
type Stateful struct{}

// Name is the check's name.
func (Stateful) Name() string { return "stateful" }

// Scope says what was read.
func (Stateful) Scope(env *Env) string {
	return fmt.Sprintf("%d StatefulSets, %d PVCs, %d PVs against the target's CSI drivers, classes and nodes; %d Velero Schedules; custom resources a controller makes cloud resources of (Crossplane, ACK, Config Connector, Azure Service Operator)", len(env.Of("apps", "StatefulSet")), len(env.Of("", "PersistentVolumeClaim")), len(env.Of("", "PersistentVolume")), len(env.Of("velero.io", "Schedule")))
}

// Run reports the stateful inventory.
func (Stateful) Run(ctx context.Context, env *Env) ([]Finding, error) {
	out, err := volumeFindings(ctx, env)
	if err != nil {
		return out, err
	}
	for _, o := range env.Of("apps", "StatefulSet") {
		vcts, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
		if len(vcts) == 0 {
			continue
		}
		var names []string
		for _, v := range vcts {
			m, _ := v.(map[string]any)
			n, _, _ := unstructured.NestedString(m, "metadata", "name")
			sc, _, _ := unstructured.NestedString(m, "spec", "storageClassName")
			size, _, _ := unstructured.NestedString(m, "spec", "resources", "requests", "storage")
			names = append(names, fmt.Sprintf("%s (%s, class %s)", n, size, orDefault(sc)))
		}
		replicas, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
		if !found {
			replicas = 1
		}
		out = append(out, Finding{Severity: Info, Object: Ref(o),
			Message: fmt.Sprintf("%d replicas with volume claim templates %s", replicas, strings.Join(names, ", ")),
			Fix:     "its data moves with `tandem handoff`, not with sync"})
	}
	pvcs := env.Of("", "PersistentVolumeClaim")
	if len(pvcs) > 0 {
		total := resource.Quantity{}
		byClass := map[string]int{}
		for _, o := range pvcs {
			size, _, _ := unstructured.NestedString(o.Object, "spec", "resources", "requests", "storage")
			if q, err := resource.ParseQuantity(size); err == nil {
				total.Add(q)
			}
			sc, _, _ := unstructured.NestedString(o.Object, "spec", "storageClassName")
			byClass[orDefault(sc)]++
		}
		var classes []string
		for c, n := range byClass {
			classes = append(classes, fmt.Sprintf("%s: %d", c, n))
		}
		sort.Strings(classes)
		out = append(out, Finding{Severity: Info, Object: "PersistentVolumeClaims",
			Message: fmt.Sprintf("%d claims, %s requested (by class: %s)", len(pvcs), total.String(), strings.Join(classes, ", ")),
			Fix:     "plan the volume handoff: `tandem handoff` recreates claims in the target and rebinds or copies the data"})
	}
	for _, o := range env.Of("", "PersistentVolume") {
		policy, _, _ := unstructured.NestedString(o.Object, "spec", "persistentVolumeReclaimPolicy")
		if policy != "Delete" {
			continue
		}
		claim := ""
		if ns, _, _ := unstructured.NestedString(o.Object, "spec", "claimRef", "namespace"); ns != "" {
			name, _, _ := unstructured.NestedString(o.Object, "spec", "claimRef", "name")
			claim = " bound to " + ns + "/" + name
		}
		out = append(out, Finding{Severity: Warning, Object: Ref(o),
			Message: "reclaimPolicy Delete" + claim + ": deleting the claim in the source deletes the data",
			Fix:     "set Retain before handoff: kubectl patch pv " + o.GetName() + ` -p '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'`})
	}
	out = append(out, snapshots(env)...)
	out = append(out, cloudResources(env)...)
	return append(out, veleroSchedules(env)...), nil
}

func orDefault(class string) string {
	if class == "" {
		return "(default)"
	}
	return class
}
