package apply

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestBackendsOf(t *testing.T) {
	for _, tc := range []struct {
		name, manifest string
		want           []string // namespace/name of each backend
	}{
		{"an APIService served from a Service", `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec: {group: metrics.k8s.io, version: v1beta1, service: {namespace: monitoring, name: adapter, port: 443}}`, []string{"monitoring/adapter"}},
		{"a local APIService", `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.apps}
spec: {group: apps, version: v1}`, nil},
		{"a webhook configuration: fail-closed and URL webhooks", `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
webhooks:
- {name: a.example.com, failurePolicy: Fail, clientConfig: {service: {namespace: policy, name: hook}}}
- {name: b.example.com, failurePolicy: Ignore, clientConfig: {service: {namespace: policy, name: soft}}}
- {name: c.example.com, clientConfig: {url: "https://hook.example.com/"}}
- {name: d.example.com, clientConfig: {service: {namespace: other, name: hook2}}}`, []string{"policy/hook", "other/hook2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.manifest), &obj.Object); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range backendsOf(obj) {
				got = append(got, b.namespace+"/"+b.name)
				if b.harm == "" || b.what == "" {
					t.Errorf("backend %+v says nothing of what it breaks", b)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("backends %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("backends %v, want %v", got, tc.want)
				}
			}
		})
	}
}
