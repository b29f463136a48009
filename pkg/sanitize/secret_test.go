package sanitize

import "testing"

func TestSecret(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "opaque secret is copied",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app, uid: u1}
type: Opaque
data: {password: cGFzcw==}
`,
			want: `
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app}
type: Opaque
data: {password: cGFzcw==}
`,
		},
		{
			name: "service-account token",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: build-token, namespace: app, annotations: {kubernetes.io/service-account.name: build}}
type: kubernetes.io/service-account-token
`,
			dec: Decision{Skip: true, Reason: "service-account token: the target issues its own"},
		},
		{
			name: "bootstrap token",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-abcdef, namespace: kube-system}
type: bootstrap.kubernetes.io/token
`,
			dec: Decision{Skip: true, Reason: "bootstrap token: it joins nodes to the source cluster"},
		},
	})
}
