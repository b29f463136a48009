package sanitize

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestGeneratedKinds(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "core Event",
			in: `
apiVersion: v1
kind: Event
metadata: {name: web.17a, namespace: app}
reason: Scheduled
`,
			dec: Decision{Skip: true, Reason: "events are the source's history; the target records its own"},
		},
		{
			name: "Lease",
			in: `
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: kube-controller-manager, namespace: kube-system}
spec: {holderIdentity: blue}
`,
			dec: Decision{Skip: true, Reason: "leases are held by the source's components; the target's take their own"},
		},
		{
			name: "Calico's IPAM block of a source node",
			in: `
apiVersion: crd.projectcalico.org/v1
kind: IPAMBlock
metadata: {name: 10-244-1-0-26}
spec: {cidr: 10.244.1.0/26, affinity: "host:blue-worker-1", allocations: [0, null]}
`,
			dec: Decision{Skip: true, Reason: "Calico's IP allocations for the source's nodes; the target's Calico allocates its own"},
		},
		{
			name: "a Calico network policy is the user's: copied",
			in: `
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: app}
spec: {selector: all(), types: [Ingress]}
`,
			want: `
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: app}
spec: {selector: all(), types: [Ingress]}
`,
		},
	})

	// Every kind in the table is skipped with its own reason, whatever its version.
	for gk, reason := range generatedKinds {
		t.Run(gk.String(), func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{}}
			obj.SetGroupVersionKind(gk.WithVersion("v1"))
			obj.SetName("x")
			got := Object(obj, Context{})
			if !got.Skip || got.Reason != reason || reason == "" {
				t.Errorf("Object() = %+v, want skip with reason %q", got, reason)
			}
		})
	}
}

func TestRegistryHasNoDuplicates(t *testing.T) {
	// A kind in both tables would silently lose its rule to one of them.
	for gk := range generatedKinds {
		if _, ok := rules[gk]; ok {
			t.Errorf("%s is in both rules and generatedKinds", gk)
		}
	}
	if ruleFor(schema.GroupKind{Group: "example.com", Kind: "Widget"}) != nil {
		t.Error("an unknown kind has a rule; want only the generic ones")
	}
}
