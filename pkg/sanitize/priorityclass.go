package sanitize

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizePriorityClass skips system-* PriorityClasses: every apiserver creates
// them and refuses changes to them.
func sanitizePriorityClass(obj *unstructured.Unstructured, _ Context) Decision {
	if strings.HasPrefix(obj.GetName(), "system-") {
		return skip("built into every cluster")
	}
	return Decision{}
}
