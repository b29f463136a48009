package sanitize

import "testing"

func TestNamespace(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "spec finalizers dropped",
			in: `
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {kubernetes.io/metadata.name: app, team: a}}
spec: {finalizers: [kubernetes]}
status: {phase: Active}
`,
			want: `
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {kubernetes.io/metadata.name: app, team: a}}
`,
		},
	})
}
