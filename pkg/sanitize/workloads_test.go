package sanitize

import "testing"

func TestWorkloads(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "Deployment revision dropped",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  generation: 4
  annotations: {deployment.kubernetes.io/revision: "3", owner: team-a}
spec: {replicas: 2, selector: {matchLabels: {app: web}}}
status: {replicas: 2}
`,
			want: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  annotations: {owner: team-a}
spec: {replicas: 2, selector: {matchLabels: {app: web}}}
`,
		},
		{
			name: "DaemonSet template generation dropped",
			in: `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: kube-system
  annotations: {deprecated.daemonset.template.generation: "2"}
spec: {selector: {matchLabels: {app: agent}}}
`,
			want: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec: {selector: {matchLabels: {app: agent}}}
`,
		},
	})
}
