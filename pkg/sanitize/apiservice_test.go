package sanitize

import "testing"

func TestAPIService(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "local APIService",
			in: `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.apps}
spec: {group: apps, version: v1, groupPriorityMinimum: 17800, versionPriority: 15, service: null}
`,
			dec: Decision{Skip: true, Reason: "local APIService served by the target's own apiserver"},
		},
		{
			name: "aggregated APIService is copied",
			in: `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  service: {name: metrics-server, namespace: kube-system, port: 443}
  groupPriorityMinimum: 100
  versionPriority: 100
status: {conditions: [{type: Available, status: "True"}]}
`,
			want: `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  service: {name: metrics-server, namespace: kube-system, port: 443}
  groupPriorityMinimum: 100
  versionPriority: 100
`,
		},
	})
}
