package sanitize

import "testing"

func TestWebhookConfiguration(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "v1beta1-era webhooks made valid for v1",
			in: `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
webhooks:
- name: a.example.com
  sideEffects: Unknown
  admissionReviewVersions: [v1beta1]
  clientConfig: {service: {name: policy, namespace: policy}}
- name: b.example.com
  clientConfig: {service: {name: policy, namespace: policy}}
- name: c.example.com
  sideEffects: NoneOnDryRun
  admissionReviewVersions: [v1]
  clientConfig: {service: {name: policy, namespace: policy}}
`,
			want: `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
webhooks:
- name: a.example.com
  sideEffects: None
  admissionReviewVersions: [v1beta1]
  clientConfig: {service: {name: policy, namespace: policy}}
- name: b.example.com
  sideEffects: None
  admissionReviewVersions: [v1, v1beta1]
  clientConfig: {service: {name: policy, namespace: policy}}
- name: c.example.com
  sideEffects: NoneOnDryRun
  admissionReviewVersions: [v1]
  clientConfig: {service: {name: policy, namespace: policy}}
`,
			dec: Decision{Notes: []string{
				"webhook a.example.com: sideEffects Unknown changed to None: admissionregistration/v1 accepts only None or NoneOnDryRun",
				"webhook b.example.com: sideEffects unset changed to None: admissionregistration/v1 accepts only None or NoneOnDryRun",
				"webhook b.example.com: admissionReviewVersions unset, set to [v1 v1beta1]",
			}},
		},
		{
			name: "mutating webhook with Some",
			in: `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: inject}
webhooks: [{name: inject.example.com, sideEffects: Some, admissionReviewVersions: [v1]}]
`,
			want: `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: inject}
webhooks: [{name: inject.example.com, sideEffects: None, admissionReviewVersions: [v1]}]
`,
			dec: Decision{Notes: []string{
				"webhook inject.example.com: sideEffects Some changed to None: admissionregistration/v1 accepts only None or NoneOnDryRun",
			}},
		},
	})
}
