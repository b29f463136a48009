package sanitize

import "testing"

func TestPriorityClass(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "system class",
			in: `
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: system-cluster-critical}
value: 2000000000
`,
			dec: Decision{Skip: true, Reason: "built into every cluster"},
		},
		{
			name: "user class",
			in: `
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: batch-low}
value: 100
`,
		},
	})
}
