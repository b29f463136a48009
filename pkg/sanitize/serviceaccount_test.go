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
secrets: [{name: build-token-x7k2p}, {name: build-extra}, {name: build-token-ci}]
imagePullSecrets: [{name: registry}]
`,
			// build-token-ci is a token Secret someone made: it is copied,
			// and so is the reference to it.
			want: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: build, namespace: app}
secrets: [{name: build-extra}, {name: build-token-ci}]
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
