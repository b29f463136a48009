package sanitize

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeWebhookConfiguration makes webhooks valid for admissionregistration/v1,
// which objects first created through v1beta1 may not be: v1 requires
// sideEffects None or NoneOnDryRun and an explicit admissionReviewVersions.
func sanitizeWebhookConfiguration(obj *unstructured.Unstructured, _ Context) Decision {
	var d Decision
	webhooks, _ := obj.Object["webhooks"].([]any)
	for _, w := range webhooks {
		wm := asMap(w)
		if wm == nil {
			continue
		}
		name, _ := wm["name"].(string)
		switch se, _ := wm["sideEffects"].(string); se {
		case "", "Unknown", "Some":
			if se == "" {
				se = "unset"
			}
			wm["sideEffects"] = "None"
			d.Notes = append(d.Notes, fmt.Sprintf("webhook %s: sideEffects %s changed to None: admissionregistration/v1 accepts only None or NoneOnDryRun", name, se))
		}
		if versions, _ := wm["admissionReviewVersions"].([]any); len(versions) == 0 {
			wm["admissionReviewVersions"] = []any{"v1", "v1beta1"}
			d.Notes = append(d.Notes, fmt.Sprintf("webhook %s: admissionReviewVersions unset, set to [v1 v1beta1]", name))
		}
	}
	return d
}
