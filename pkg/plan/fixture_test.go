package plan

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// parse decodes YAML the way the dynamic client decodes the apiserver's JSON
// (integers as int64).
func parse(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("fixture is not YAML: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("fixture is not an object: %v", err)
	}
	return u
}

// parseAll decodes several YAML objects.
func parseAll(t *testing.T, ys ...string) []*unstructured.Unstructured {
	t.Helper()
	out := make([]*unstructured.Unstructured, len(ys))
	for i, y := range ys {
		out[i] = parse(t, y)
	}
	return out
}
