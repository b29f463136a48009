package sanitize

import "testing"

func TestRBAC(t *testing.T) {
	const bootstrap = "bootstrap RBAC: the target's apiserver creates its own"
	runObjectCases(t, []objectCase{
		{
			name: "bootstrap ClusterRole",
			in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: admin, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
rules: []
`,
			dec: Decision{Skip: true, Reason: bootstrap},
		},
		{
			name: "bootstrap RoleBinding",
			in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: system:controller:bootstrap-signer, namespace: kube-public, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: system:controller:bootstrap-signer}
`,
			dec: Decision{Skip: true, Reason: bootstrap},
		},
		{
			name: "aggregated ClusterRole loses its filled rules",
			in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}}]
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`,
			want: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}}]
`,
		},
		{
			name: "user Role is copied",
			in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: app}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`,
		},
	})
}
