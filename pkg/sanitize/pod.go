package sanitize

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizePod prepares a standalone Pod (controller-owned ones are already
// skipped) to be scheduled and admitted anew in the target.
func sanitizePod(obj *unstructured.Unstructured, _ Context) Decision {
	if _, ok := obj.GetAnnotations()["kubernetes.io/config.mirror"]; ok {
		return skip("mirror pod: a kubelet creates it from a static manifest")
	}
	var d Decision
	spec := asMap(obj.Object["spec"])
	if spec == nil {
		return d
	}
	if node, _ := spec["nodeName"].(string); node != "" {
		delete(spec, "nodeName")
		d.Notes = append(d.Notes, fmt.Sprintf("nodeName %s dropped: scheduled anew in the target", node))
	}
	// The apiserver forbids ephemeral containers on create; they were added for
	// debugging the source pod anyway.
	if ecs, _ := spec["ephemeralContainers"].([]any); len(ecs) > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("%d ephemeral container(s) dropped: they cannot be set on create", len(ecs)))
	}
	delete(spec, "ephemeralContainers")

	// The ServiceAccount admission plugin injected the token volume with a random
	// suffix; the target injects its own, and a copied one would be a duplicate.
	injected := map[string]bool{}
	vols, _ := spec["volumes"].([]any)
	kept := vols[:0:0]
	for _, v := range vols {
		vm := asMap(v)
		name, _ := vm["name"].(string)
		if _, projected := vm["projected"]; projected && strings.HasPrefix(name, "kube-api-access-") {
			injected[name] = true
			continue
		}
		kept = append(kept, v)
	}
	if len(injected) == 0 {
		return d
	}
	setOrDelete(spec, "volumes", kept)
	for _, field := range []string{"initContainers", "containers"} {
		containers, _ := spec[field].([]any)
		for _, ctr := range containers {
			cm := asMap(ctr)
			mounts, _ := cm["volumeMounts"].([]any)
			keptMounts := mounts[:0:0]
			for _, m := range mounts {
				if name, _ := asMap(m)["name"].(string); !injected[name] {
					keptMounts = append(keptMounts, m)
				}
			}
			if cm != nil {
				setOrDelete(cm, "volumeMounts", keptMounts)
			}
		}
	}
	return d
}

// setOrDelete sets m[key] to list, or removes the key when list is empty.
func setOrDelete(m map[string]any, key string, list []any) {
	if len(list) == 0 {
		delete(m, key)
		return
	}
	m[key] = list
}
