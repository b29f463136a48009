package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// sanitizeFlowControl skips the built-in FlowSchemas and PriorityLevelConfigurations:
// the target's apiserver keeps its own defaults up to date for its version.
func sanitizeFlowControl(obj *unstructured.Unstructured, _ Context) Decision {
	if obj.GetAnnotations()["apf.kubernetes.io/autoupdate-spec"] == "true" {
		return skip("built-in default maintained by the target's apiserver")
	}
	return Decision{}
}
