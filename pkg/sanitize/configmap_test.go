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
		{
			name: "istio-ca-root-cert, as istiod publishes it",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-ca-root-cert, namespace: app, labels: {istio.io/config: "true"}}
data: {root-cert.pem: "-----BEGIN CERTIFICATE-----"}
`,
			dec: Decision{Skip: true, Reason: "published by the target's istiod (the mesh's root certificate)"},
		},
		{
			name: "istio-ca-crl, as istiod publishes it",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-ca-crl, namespace: app, labels: {istio.io/config: "true"}}
data: {ca-crl.pem: "-----BEGIN X509 CRL-----"}
`,
			dec: Decision{Skip: true, Reason: "published by the target's istiod (its CA's revocation list)"},
		},
		{
			name: "a ConfigMap of that name istiod did not publish is copied",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-ca-root-cert, namespace: app}
data: {root-cert.pem: "-----BEGIN CERTIFICATE-----"}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-ca-root-cert, namespace: app}
data: {root-cert.pem: "-----BEGIN CERTIFICATE-----"}
`,
		},
		{
			name: "openshift-service-ca.crt",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: openshift-service-ca.crt, namespace: app, annotations: {service.beta.openshift.io/inject-cabundle: "true"}}
data: {service-ca.crt: "-----BEGIN CERTIFICATE-----"}
`,
			dec: Decision{Skip: true, Reason: "published by the target's service CA (OpenShift)"},
		},
	})
}
