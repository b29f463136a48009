package sanitize

import "testing"

func TestPersistentVolumeClaim(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "bound claim is unbound",
			in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: app
  annotations:
    pv.kubernetes.io/bind-completed: "yes"
    pv.kubernetes.io/bound-by-controller: "yes"
    volume.beta.kubernetes.io/storage-provisioner: rancher.io/local-path
    volume.kubernetes.io/storage-provisioner: rancher.io/local-path
    volume.kubernetes.io/selected-node: node-1
    team: storage
  finalizers: [kubernetes.io/pvc-protection]
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  volumeName: pvc-0b8f6b0e
  resources: {requests: {storage: 1Gi}}
status: {phase: Bound}
`,
			want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: app
  annotations: {team: storage}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
`,
			dec: Decision{Notes: []string{"volumeName pvc-0b8f6b0e dropped: the claim binds in the target; move the data with `tandem handoff`"}},
		},
		{
			name: "pending claim without annotations",
			in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: app
  annotations: {volume.kubernetes.io/selected-node: node-1}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`,
			want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`,
		},
	})
}

func TestPersistentVolume(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "always skipped",
			in: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pvc-0b8f6b0e}
spec: {capacity: {storage: 1Gi}, hostPath: {path: /data}}
`,
			dec: Decision{Skip: true, Reason: "PersistentVolumes move with `tandem handoff`, never by sync"},
		},
	})
}
