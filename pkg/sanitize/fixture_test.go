package sanitize

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// objectCase is one Object call: a source object in YAML, the object expected
// after sanitizing (empty: unchanged), and the expected Decision.
type objectCase struct {
	name string
	c    Context
	in   string
	want string
	dec  Decision
}

// parse decodes YAML the way the dynamic client decodes the apiserver's JSON
// (integers as int64), so the rules see what they see in production.
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

func runObjectCases(t *testing.T, cases []objectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := parse(t, tc.in)
			kept := parse(t, tc.in)
			if got := Skipped(kept, tc.c); got != tc.dec.Skip {
				t.Errorf("Skipped: %v, want %v", got, tc.dec.Skip)
			}
			if diff := cmp.Diff(parse(t, tc.in).Object, kept.Object); diff != "" {
				t.Errorf("Skipped changed the object (-before +after):\n%s", diff)
			}
			dec := Object(obj, tc.c)
			if diff := cmp.Diff(tc.dec, dec, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decision (-want +got):\n%s", diff)
			}
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if diff := cmp.Diff(parse(t, want).Object, obj.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
		})
	}
}

// selectorServices returns a ServiceHasSelector that knows the given namespace/name pairs.
func selectorServices(keys ...string) func(namespace, name string) bool {
	return func(namespace, name string) bool {
		for _, k := range keys {
			if k == namespace+"/"+name {
				return true
			}
		}
		return false
	}
}
