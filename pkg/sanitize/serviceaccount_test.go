package sanitize

import "testing"

func TestServiceAccount(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "legacy token references dropped, others kept",
			in: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: build, namespace: app}
secrets: [{name: build-token-x7k2p}, {name: build-extra}]
imagePullSecrets: [{name: registry}]
`,
			want: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: build, namespace: app}
secrets: [{name: build-extra}]
imagePullSecrets: [{name: registry}]
`,
		},
		{
			name: "only a legacy token: field removed",
			in: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: app}
secrets: [{name: default-token-abcde}]
`,
			want: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: app}
`,
		},
	})
}
