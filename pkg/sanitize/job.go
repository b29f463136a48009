package sanitize

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// jobUIDLabels carry the source Job's UID; the target generates them from its own.
var jobUIDLabels = []string{"controller-uid", "batch.kubernetes.io/controller-uid"}

// sanitizeJob skips finished Jobs and drops the selector the source generated.
// It reads status, so it must run before the generic strip removes it.
func sanitizeJob(obj *unstructured.Unstructured, _ Context) Decision {
	if jobFinished(obj) {
		return skip("finished in the source; copying would run it again")
	}
	// With manualSelector the selector and its labels are the user's, and the
	// apiserver rejects such a Job without a selector; only a generated one goes.
	if manual, _, _ := unstructured.NestedBool(obj.Object, "spec", "manualSelector"); manual {
		return Decision{}
	}
	unstructured.RemoveNestedField(obj.Object, "spec", "selector")
	deleteKeys(obj.Object, []string{"metadata", "labels"}, jobUIDLabels...)
	deleteKeys(obj.Object, []string{"spec", "template", "metadata", "labels"}, jobUIDLabels...)
	return Decision{}
}

// jobFinished reports whether the Job's status says it completed or failed.
func jobFinished(obj *unstructured.Unstructured) bool {
	status := asMap(obj.Object["status"])
	if n, _ := int64Of(status["succeeded"]); n > 0 && status["completionTime"] != nil {
		return true
	}
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		cm := asMap(c)
		if t := cm["type"]; (t == "Complete" || t == "Failed") && cm["status"] == "True" {
			return true
		}
	}
	return false
}
