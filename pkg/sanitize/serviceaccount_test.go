package sanitize

import "testing"

func TestServiceAccount(t *testing.T) {
	controlPlane := Context{ControlPlaneAccount: func(ns, name string) bool { return ns == "kube-system" && name == "deployment-controller" }}
	runObjectCases(t, []objectCase{
		{
			name: "the control plane's own account is not copied",
			c:    controlPlane,
			in: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployment-controller, namespace: kube-system}
`,
			dec: Decision{Skip: true, Reason: "the control plane's own account (bound by its bootstrap RBAC): the target's control plane makes its own"},
		},
		{
			name: "another account of kube-system is copied",
			c:    controlPlane,
			in: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: my-operator, namespace: kube-system}
`,
			want: `
apiVersion: v1
kind: ServiceAccount
metadata: {name: my-operator, namespace: kube-system}
`,
		},
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
