package sanitize

import "testing"

// An operator's Endpoints or ConfigMap leader-election lock (client-go's
// lock before Leases) is not copied: it names the source's leader.
func TestLeaderLocksAreNotCopied(t *testing.T) {
	const lock = "a leader-election lock (its record names the source's leader): the target's replicas elect their own"
	runObjectCases(t, []objectCase{
		{
			name: "an Endpoints lock",
			in: `
apiVersion: v1
kind: Endpoints
metadata:
  name: my-operator-lock
  namespace: ops
  annotations: {control-plane.alpha.kubernetes.io/leader: '{"holderIdentity":"op-7d9f_1","leaseDurationSeconds":15,"renewTime":"2026-12-07T03:00:00Z"}'}
`,
			dec: Decision{Skip: true, Reason: lock},
		},
		{
			name: "a ConfigMap lock",
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: my-operator-lock
  namespace: ops
  annotations: {control-plane.alpha.kubernetes.io/leader: '{"holderIdentity":"op-7d9f_1"}'}
`,
			dec: Decision{Skip: true, Reason: lock},
		},
		{
			name: "a ConfigMap without the record is copied",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ops, annotations: {team: ops}}
data: {a: b}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ops, annotations: {team: ops}}
data: {a: b}
`,
		},
	})
}
