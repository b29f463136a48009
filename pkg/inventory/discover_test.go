package inventory

import "testing"

// A kind whose CRD converts through a webhook is exchanged at the version
// that CRD stores, where both clusters serve it; any other keeps the
// version Discover picked.
func TestStoredVersionOfAWebhookConvertedKind(t *testing.T) {
	// prometheus-operator's AlertmanagerConfig: v1beta1 served beside
	// v1alpha1, stored at v1alpha1, converted by its webhook.
	amc := Resource{Group: "monitoring.coreos.com", Resource: "alertmanagerconfigs", Kind: "AlertmanagerConfig",
		Version: "v1beta1", Source: []string{"v1beta1", "v1alpha1"}, Target: []string{"v1beta1", "v1alpha1"}}
	webhook := CRD{Storage: "v1alpha1", WebhookConversion: true}
	for _, tc := range []struct {
		name string
		r    Resource
		crd  CRD
		want string
	}{
		{"webhook, stored version served by both", amc, webhook, "v1alpha1"},
		{"no webhook: preferred", amc, CRD{Storage: "v1alpha1"}, "v1beta1"},
		{"no CRD (a built-in kind)", amc, CRD{}, "v1beta1"},
		{"the target does not serve the stored version", func() Resource { r := amc; r.Target = []string{"v1beta1"}; return r }(), webhook, "v1beta1"},
		{"the source does not serve it", func() Resource { r := amc; r.Source = []string{"v1beta1"}; return r }(), webhook, "v1beta1"},
		{"pending: the source's CRD comes over", func() Resource { r := amc; r.Target, r.Pending = nil, true; return r }(), webhook, "v1alpha1"},
		{"unshared", func() Resource { r := amc; r.Unshared = true; return r }(), webhook, "v1beta1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := storedVersion(tc.r, tc.crd); got != tc.want {
				t.Errorf("storedVersion = %q, want %q", got, tc.want)
			}
		})
	}
}
