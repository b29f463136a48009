package syncer

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
)

// What could not be read is warned of whatever the selection; it makes the
// copy incomplete only when the kind filters let its kind be copied.
func TestUnreadCountsOnlyKindsTheFiltersCopy(t *testing.T) {
	secrets := inventory.Resource{Version: "v1", Resource: "secrets", Kind: "Secret", Namespaced: true}
	roles := inventory.Resource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles", Kind: "Role", Namespaced: true}
	us := []Unread{{Resource: secrets, Warning: "source: list Secret: forbidden"}, {Resource: roles, Warning: "source: list Role: forbidden"}}
	for _, c := range []struct {
		name string
		sel  plan.Selector
		want []string
	}{
		{"no kind filter", plan.Selector{}, []string{"Secret", "Role"}},
		{"--include-kinds Secret", plan.Selector{IncludeKinds: []schema.GroupKind{{Kind: "Secret"}}}, []string{"Secret"}},
		{"--exclude-kinds Secret", plan.Selector{ExcludeKinds: []schema.GroupKind{{Kind: "Secret"}}}, []string{"Role"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p Prepared
			p.unread(c.sel, us)
			if len(p.Warnings) != 2 {
				t.Errorf("warnings %v: want both", p.Warnings)
			}
			var got []string
			for _, u := range p.Unread {
				got = append(got, u.Resource.Kind)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("unread %v, want %v", got, c.want)
			}
		})
	}
}
