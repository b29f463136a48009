package sanitize

import "testing"

func TestStorageClass(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "default class is flagged",
			in: `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: standard, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: rancher.io/local-path
`,
			dec: Decision{Notes: []string{"default StorageClass: check the target has no other default"}},
		},
		{
			name: "other class",
			in: `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: ebs.csi.aws.com
`,
		},
	})
}
