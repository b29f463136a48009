package sanitize

import "testing"

func TestService(t *testing.T) {
	takenInTarget := func(port int64, _, _ string) bool { return port == 30080 }
	runObjectCases(t, []objectCase{
		{
			name: "user set one nodePort (managedFields), the allocator the other",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: app
  uid: u1
  resourceVersion: "9"
  managedFields:
  - manager: kubectl-create
    operation: Update
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        f:type: {}
        f:ports:
          .: {}
          'k:{"port":80,"protocol":"TCP"}': {.: {}, f:port: {}, f:nodePort: {}, f:protocol: {}}
          'k:{"port":443,"protocol":"TCP"}': {.: {}, f:port: {}, f:protocol: {}}
spec:
  type: NodePort
  clusterIP: 10.96.14.7
  clusterIPs: [10.96.14.7]
  selector: {app: web}
  ports:
  - {name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30080}
  - {name: https, port: 443, protocol: TCP, targetPort: 8443, nodePort: 31443}
status: {loadBalancer: {}}
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30080}
  - {name: https, port: 443, protocol: TCP, targetPort: 8443}
`,
			dec: Decision{Notes: []string{"nodePort 31443 dropped: assigned by the source cluster"}},
		},
		{
			name: "managedFields evidence matches the protocol too",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: dns
  namespace: app
  managedFields:
  - manager: helm
    operation: Update
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        f:ports:
          'k:{"port":53,"protocol":"UDP"}': {f:nodePort: {}}
spec:
  type: NodePort
  ports:
  - {name: dns-udp, port: 53, protocol: UDP, nodePort: 30053}
  - {name: dns-tcp, port: 53, protocol: TCP, nodePort: 30054}
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: app}
spec:
  type: NodePort
  ports:
  - {name: dns-udp, port: 53, protocol: UDP, nodePort: 30053}
  - {name: dns-tcp, port: 53, protocol: TCP}
`,
			dec: Decision{Notes: []string{"nodePort 30054 dropped: assigned by the source cluster"}},
		},
		{
			name: "last-applied evidence",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Service","spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30081},{"port":443}]}}'
spec:
  type: NodePort
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20]
  ports:
  - {port: 80, protocol: TCP, nodePort: 30081}
  - {port: 443, protocol: TCP, nodePort: 32000}
`,
			want: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Service","spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30081},{"port":443}]}}'
spec:
  type: NodePort
  ports:
  - {port: 80, protocol: TCP, nodePort: 30081}
  - {port: 443, protocol: TCP}
`,
			dec: Decision{Notes: []string{"nodePort 32000 dropped: assigned by the source cluster"}},
		},
		{
			name: "user-set nodePort taken in the target",
			c:    Context{NodePortTaken: takenInTarget},
			in: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"spec":{"ports":[{"port":80,"nodePort":30080},{"port":81,"nodePort":30081}]}}'
spec:
  type: NodePort
  ports:
  - {port: 80, protocol: TCP, nodePort: 30080}
  - {port: 81, protocol: TCP, nodePort: 30081}
`,
			want: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"spec":{"ports":[{"port":80,"nodePort":30080},{"port":81,"nodePort":30081}]}}'
spec:
  type: NodePort
  ports:
  - {port: 80, protocol: TCP}
  - {port: 81, protocol: TCP, nodePort: 30081}
`,
			dec: Decision{Notes: []string{"nodePort 30080 taken in the target: a new one will be assigned"}},
		},
		{
			name: "headless keeps clusterIP None",
			in: `
apiVersion: v1
kind: Service
metadata: {name: db, namespace: app}
spec:
  clusterIP: None
  clusterIPs: [None]
  selector: {app: db}
  ports: [{port: 5432, protocol: TCP}]
`,
		},
		{
			name: "ClusterIP Service has no node ports",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"spec":{"ports":[{"port":80,"nodePort":30090}]}}'
spec:
  clusterIP: 10.96.3.3
  ports: [{port: 80, protocol: TCP, nodePort: 30090}]
`,
			want: `
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"spec":{"ports":[{"port":80,"nodePort":30090}]}}'
spec:
  ports: [{port: 80, protocol: TCP}]
`,
			dec: Decision{Notes: []string{"nodePort 30090 dropped: a Service of type ClusterIP has none"}},
		},
		{
			name: "LoadBalancer: allocated healthCheckNodePort dropped, user one kept",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: app
  managedFields:
  - manager: kubectl
    operation: Apply
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        f:ports:
          'k:{"port":443,"protocol":"TCP"}': {f:nodePort: {}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  clusterIP: 10.96.9.9
  clusterIPs: [10.96.9.9]
  ports: [{port: 443, protocol: TCP, nodePort: 31000}]
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: app}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{port: 443, protocol: TCP, nodePort: 31000}]
`,
			dec: Decision{Notes: []string{"healthCheckNodePort 32100 dropped: assigned by the source cluster"}},
		},
		{
			name: "LoadBalancer: user-set healthCheckNodePort kept",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: app
  managedFields:
  - manager: kubectl
    operation: Apply
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {f:healthCheckNodePort: {}}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  ports: [{port: 443, protocol: TCP, nodePort: 31000}]
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: app}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  ports: [{port: 443, protocol: TCP}]
`,
			dec: Decision{Notes: []string{"nodePort 31000 dropped: assigned by the source cluster"}},
		},
		{
			name: "the apiserver's own Service",
			in: `
apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443, protocol: TCP, targetPort: 6443}]}
`,
			dec: Decision{Skip: true, Reason: "the apiserver's own Service: the target's apiserver maintains its own"},
		},
	})
}

func TestAsksNodePorts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{`{apiVersion: v1, kind: Service, metadata: {name: a}, spec: {type: ClusterIP, ports: [{port: 80}]}}`, false},
		{`{apiVersion: v1, kind: Service, metadata: {name: a}, spec: {type: NodePort, ports: [{port: 80}, {port: 443, nodePort: 30443}]}}`, true},
		{`{apiVersion: v1, kind: Service, metadata: {name: a}, spec: {type: LoadBalancer, healthCheckNodePort: 31000}}`, true},
		{`{apiVersion: v1, kind: Service, metadata: {name: a}}`, false},
		{`{apiVersion: example.com/v1, kind: Service, metadata: {name: a}, spec: {ports: [{nodePort: 30443}]}}`, false},
	} {
		if got := AsksNodePorts(parse(t, c.in)); got != c.want {
			t.Errorf("AsksNodePorts(%s) = %v, want %v", c.in, got, c.want)
		}
	}
}
