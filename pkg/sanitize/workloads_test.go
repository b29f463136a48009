package sanitize

import "testing"

func TestWorkloads(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "Deployment revision dropped",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  generation: 4
  annotations: {deployment.kubernetes.io/revision: "3", owner: team-a}
spec: {replicas: 2, selector: {matchLabels: {app: web}}}
status: {replicas: 2}
`,
			want: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  annotations: {owner: team-a}
spec: {replicas: 2, selector: {matchLabels: {app: web}}}
`,
		},
		{
			name: "ExternalDNS, its owner id as a separate argument",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: external-dns, namespace: external-dns}
spec:
  template:
    spec:
      containers:
      - name: external-dns
        image: registry.k8s.io/external-dns/external-dns:v0.15.1
        args: [--source=ingress, --provider=aws, --registry=txt, --txt-owner-id, eks-blue]
`,
			dec: Decision{Skip: true, Reason: `runs ExternalDNS as owner "eks-blue": a copy in the target would take the source's DNS records for its own, rewrite them to the target's load balancers and delete the others; run the target's own ExternalDNS with an owner id of its own (--txt-owner-id)`, Intent: true},
		},
		{
			name: "ExternalDNS without an owner id runs as ExternalDNS's default",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: platform}
spec:
  template:
    spec:
      containers:
      - {name: sidecar, image: busybox}
      - {name: dns, image: bitnami/external-dns:0.14.0, args: [--source=service]}
`,
			dec: Decision{Skip: true, Reason: `runs ExternalDNS as owner "default": a copy in the target would take the source's DNS records for its own, rewrite them to the target's load balancers and delete the others; run the target's own ExternalDNS with an owner id of its own (--txt-owner-id)`, Intent: true},
		},
		{
			name: "ExternalDNS with its owner id in the environment, beside a webhook of the same project",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: external-dns, namespace: external-dns}
spec:
  template:
    spec:
      containers:
      - {name: webhook, image: ghcr.io/example/external-dns-provider-webhook:v1, args: [--port=8888]}
      - name: external-dns
        image: registry.k8s.io/external-dns/external-dns:v0.15.1
        args: [--source=ingress, --provider=webhook]
        env: [{name: EXTERNAL_DNS_TXT_OWNER_ID, value: eks-blue}]
`,
			dec: Decision{Skip: true, Reason: `runs ExternalDNS as owner "eks-blue": a copy in the target would take the source's DNS records for its own, rewrite them to the target's load balancers and delete the others; run the target's own ExternalDNS with an owner id of its own (--txt-owner-id)`, Intent: true},
		},
		{
			name: "DaemonSet template generation dropped",
			in: `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: kube-system
  annotations: {deprecated.daemonset.template.generation: "2"}
spec: {selector: {matchLabels: {app: agent}}}
`,
			want: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec: {selector: {matchLabels: {app: agent}}}
`,
		},
	})
}
