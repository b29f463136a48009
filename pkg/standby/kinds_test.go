package standby

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/inventory"
)

// A custom workload kind is read and written at the version its CRD
// stores: at any other, the apiserver calls the CRD's conversion webhook,
// whose backend (the operator) is parked in a standby. OpenTelemetry's
// collector serves v1alpha1 and v1beta1 and stores v1beta1.
func TestScaleVersionIsTheStoredOne(t *testing.T) {
	crd := func(versions string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition,
metadata: {name: collectors.otel.example}, spec: {group: otel.example, conversion: {strategy: Webhook}, versions: `+versions+`}}`), &u.Object); err != nil {
			t.Fatal(err)
		}
		return u
	}
	scale := `subresources: {scale: {specReplicasPath: .spec.replicas}}`
	for _, tc := range []struct {
		name, versions, found, want, path string
		err                               bool
	}{
		{"found at a version it does not store", `[{name: v1alpha1, served: true, storage: false, ` + scale + `}, {name: v1beta1, served: true, storage: true, ` + scale + `}]`, "v1alpha1", "v1beta1", ".spec.replicas", false},
		{"found at the stored one", `[{name: v1, served: true, storage: true, ` + scale + `}, {name: v1beta1, served: true, storage: false, ` + scale + `}]`, "v1beta1", "v1", ".spec.replicas", false},
		{"the stored one has no scale subresource", `[{name: v1alpha1, served: true, storage: false, subresources: {scale: {specReplicasPath: .spec.size}}}, {name: v1beta1, served: true, storage: true}]`, "v1alpha1", "v1alpha1", ".spec.size", false},
		{"the stored one is not served", `[{name: v1, served: true, storage: false, ` + scale + `}, {name: v1beta1, served: false, storage: true, ` + scale + `}]`, "v1", "v1", ".spec.replicas", false},
		{"no such version", `[{name: v1, served: true, storage: true}]`, "v2", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version, path, err := scaleVersionOf(inventory.ReadCRD(crd(tc.versions)), tc.found)
			if (err != nil) != tc.err || version != tc.want || path != tc.path {
				t.Errorf("scaleVersionOf(found at %s) = %q, %q, %v; want %q, %q, error %v", tc.found, version, path, err, tc.want, tc.path, tc.err)
			}
		})
	}
}
