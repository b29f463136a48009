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
			name: "the client CAs kube-apiserver publishes",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: extension-apiserver-authentication, namespace: kube-system}
data: {client-ca-file: "-----BEGIN CERTIFICATE-----"}
`,
			dec: Decision{Skip: true, Reason: "published by the target's kube-apiserver (the client CAs its aggregated APIs trust)"},
		},
		{
			name: "EKS's aws-auth",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data: {mapRoles: "- rolearn: arn:aws:iam::111122223333:role/eks-blue-nodes"}
`,
			dec: Decision{Skip: true, Reason: "EKS's map of IAM roles to the source's nodes and users: the target's nodes join with their own role; add the people and roles the target needs there (or use EKS access entries)"},
		},
		{
			name: "kubeadm's versioned kubelet configuration",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: kubelet-config-1.23, namespace: kube-system}
data: {kubelet: "kind: KubeletConfiguration"}
`,
			dec: Decision{Skip: true, Reason: "the target's own kubeadm installation (its kubelets' configuration)"},
		},
		{
			name: "a ConfigMap named aws-auth outside kube-system is an app's",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: app}
data: {region: eu-west-1}
`,
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
