package sanitize

import "testing"

// An operator's Endpoints or ConfigMap leader-election lock (client-go's
// lock before Leases) is not copied: it names the source's leader. Nor are
// Patroni's keys, in either form.
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
			name: "Patroni's leader key as Endpoints (use_endpoints)",
			in: `
apiVersion: v1
kind: Endpoints
metadata:
  name: acid-minimal-cluster
  namespace: db
  labels: {application: spilo, cluster-name: acid-minimal-cluster}
  annotations: {leader: acid-minimal-cluster-0, acquireTime: "2026-12-07T03:00:00.1+00:00", renewTime: "2026-12-07T03:10:00.1+00:00", ttl: "30", transitions: "0", optime: "67108960"}
subsets: [{addresses: [{ip: 10.244.1.7}], ports: [{name: postgresql, port: 5432}]}]
`,
			dec: Decision{Skip: true, Reason: "Patroni's leader key (its annotations name the source's primary, acid-minimal-cluster-0, renewed every loop): the target's Patroni elects its own and writes its own"},
		},
		{
			name: "Patroni's leader key as a ConfigMap",
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: hippo-leader
  namespace: db
  annotations: {leader: hippo-0, acquireTime: "2026-12-07T03:00:00.1+00:00", renewTime: "2026-12-07T03:10:00.1+00:00", ttl: "30", transitions: "2"}
`,
			dec: Decision{Skip: true, Reason: "Patroni's leader key (its annotations name the source's primary, hippo-0, renewed every loop): the target's Patroni elects its own and writes its own"},
		},
		{
			name: "Patroni's config key",
			in: `
apiVersion: v1
kind: Endpoints
metadata:
  name: acid-minimal-cluster-config
  namespace: db
  annotations: {config: '{"ttl":30}', initialize: "7312345678901234567", history: "[]"}
`,
			dec: Decision{Skip: true, Reason: "Patroni's config key (initialize holds the source's system identifier: a target Patroni with empty volumes would wait for a leader instead of bootstrapping): the target's Patroni writes its own, its operator the configuration"},
		},
		{
			name: "Patroni's sync key",
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: hippo-sync
  namespace: db
  annotations: {leader: hippo-0, sync_standby: hippo-1}
`,
			dec: Decision{Skip: true, Reason: "Patroni's sync key (it names the source's synchronous standby): the target's Patroni writes its own"},
		},
		{
			name: "a ConfigMap with a config annotation alone is copied",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: ops, annotations: {config: v2}}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: ops, annotations: {config: v2}}
`,
		},
		{
			name: "a ConfigMap with a leader annotation alone is copied",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: team, namespace: ops, annotations: {leader: alice}}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: team, namespace: ops, annotations: {leader: alice}}
`,
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
