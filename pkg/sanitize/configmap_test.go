package sanitize

import "testing"

func TestConfigMap(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "user ConfigMap is copied",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app, resourceVersion: "5"}
data: {mode: fast}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
data: {mode: fast}
`,
		},
		{
			name: "kube-root-ca.crt",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-root-ca.crt, namespace: app}
data: {ca.crt: "-----BEGIN CERTIFICATE-----"}
`,
			dec: Decision{Skip: true, Reason: "published by the target's root-ca controller"},
		},
	})
}
