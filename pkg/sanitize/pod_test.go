package sanitize

import "testing"

func TestPod(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "standalone pod loses node and injected token volume",
			in: `
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: app}
spec:
  nodeName: node-1
  serviceAccountName: default
  initContainers:
  - name: init
    image: busybox
    volumeMounts:
    - {name: kube-api-access-x7k2p, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
  containers:
  - name: main
    image: busybox
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: kube-api-access-x7k2p, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
  ephemeralContainers:
  - {name: debugger-abc, image: busybox}
  volumes:
  - name: data
    emptyDir: {}
  - name: kube-api-access-x7k2p
    projected:
      defaultMode: 420
      sources:
      - serviceAccountToken: {expirationSeconds: 3607, path: token}
status: {phase: Running, podIP: 10.244.0.7}
`,
			want: `
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: app}
spec:
  serviceAccountName: default
  initContainers:
  - {name: init, image: busybox}
  containers:
  - name: main
    image: busybox
    volumeMounts:
    - {name: data, mountPath: /data}
  volumes:
  - name: data
    emptyDir: {}
`,
			dec: Decision{Notes: []string{
				"nodeName node-1 dropped: scheduled anew in the target",
				"1 ephemeral container(s) dropped: they cannot be set on create",
			}},
		},
		{
			name: "user volume named like the token but not projected stays",
			in: `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: app}
spec:
  containers: [{name: c, image: busybox, volumeMounts: [{name: kube-api-access-mine, mountPath: /m}]}]
  volumes: [{name: kube-api-access-mine, configMap: {name: cm}}]
`,
		},
		{
			name: "mirror pod",
			in: `
apiVersion: v1
kind: Pod
metadata:
  name: etcd-node-1
  namespace: kube-system
  annotations: {kubernetes.io/config.mirror: abc123}
spec: {nodeName: node-1, containers: [{name: etcd, image: etcd}]}
`,
			dec: Decision{Skip: true, Reason: "mirror pod: a kubelet creates it from a static manifest"},
		},
		{
			name: "pod of a ReplicaSet",
			in: `
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9c-abcde
  namespace: app
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c, uid: u1, controller: true}]
spec: {containers: [{name: web, image: nginx}]}
`,
			dec: Decision{Skip: true, Reason: "owned by ReplicaSet/web-7d4b9c: its controller recreates it in the target"},
		},
	})
}
