package sanitize

import "testing"

func TestFlowControl(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "built-in FlowSchema",
			in: `
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: system-leader-election, annotations: {apf.kubernetes.io/autoupdate-spec: "true"}}
spec: {matchingPrecedence: 100, priorityLevelConfiguration: {name: leader-election}}
`,
			dec: Decision{Skip: true, Reason: "built-in default maintained by the target's apiserver"},
		},
		{
			name: "built-in kept by its owner (autoupdate false) is copied",
			in: `
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: workload-low, annotations: {apf.kubernetes.io/autoupdate-spec: "false"}}
spec: {type: Limited}
`,
		},
	})
}
