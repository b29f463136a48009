package sanitize

import "testing"

func TestEndpoints(t *testing.T) {
	c := Context{ServiceHasSelector: selectorServices("app/web")}
	runObjectCases(t, []objectCase{
		{
			name: "endpoints of a selector Service",
			c:    c,
			in: `
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: app}
subsets: [{addresses: [{ip: 10.244.0.7}], ports: [{port: 8080}]}]
`,
			dec: Decision{Skip: true, Reason: "maintained by the target's endpoints controller"},
		},
		{
			name: "endpoints of a selector-less Service are copied",
			c:    c,
			in: `
apiVersion: v1
kind: Endpoints
metadata: {name: external-db, namespace: app, uid: u1}
subsets: [{addresses: [{ip: 192.0.2.10}], ports: [{port: 5432}]}]
`,
			want: `
apiVersion: v1
kind: Endpoints
metadata: {name: external-db, namespace: app}
subsets: [{addresses: [{ip: 192.0.2.10}], ports: [{port: 5432}]}]
`,
		},
		{
			// Its Service lost its selector: a person's now, with the
			// source's controller's timestamp still on it.
			name: "the controller's trigger time is not copied",
			c:    c,
			in: `
apiVersion: v1
kind: Endpoints
metadata:
  name: picked
  namespace: app
  annotations: {endpoints.kubernetes.io/last-change-trigger-time: "2026-12-07T15:59:50Z", team: db}
subsets: [{addresses: [{ip: 10.9.7.1}], ports: [{port: 80}]}]
`,
			want: `
apiVersion: v1
kind: Endpoints
metadata: {name: picked, namespace: app, annotations: {team: db}}
subsets: [{addresses: [{ip: 10.9.7.1}], ports: [{port: 80}]}]
`,
		},
		{
			name: "unknown selector (nil func) means copied",
			in: `
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: app}
`,
		},
		{
			name: "the apiserver's own endpoints",
			in: `
apiVersion: v1
kind: Endpoints
metadata: {name: kubernetes, namespace: default}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: https, port: 6443}]}]
`,
			dec: Decision{Skip: true, Reason: "the apiserver's own endpoints: the target's apiserver publishes its own"},
		},
	})
}

func TestEndpointSlice(t *testing.T) {
	c := Context{ServiceHasSelector: selectorServices("app/web")}
	runObjectCases(t, []objectCase{
		{
			name: "managed by the endpointslice controller",
			c:    c,
			in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: other-abcde
  namespace: app
  labels: {endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io, kubernetes.io/service-name: other}
addressType: IPv4
endpoints: []
`,
			dec: Decision{Skip: true, Reason: "maintained by the target's endpointslice controller"},
		},
		{
			name: "mirrored from Endpoints",
			c:    c,
			in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: external-db-abcde
  namespace: app
  labels: {endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io, kubernetes.io/service-name: external-db}
addressType: IPv4
`,
			dec: Decision{Skip: true, Reason: "mirrored from Endpoints by the target's endpointslice-mirroring controller"},
		},
		{
			name: "slice of a selector Service without managed-by",
			c:    c,
			in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-custom
  namespace: app
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
`,
			dec: Decision{Skip: true, Reason: "maintained by the target's endpointslice controller"},
		},
		{
			name: "user slice of a selector-less Service is copied",
			c:    c,
			in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: external-db-1
  namespace: app
  generation: 1
  labels: {endpointslice.kubernetes.io/managed-by: me, kubernetes.io/service-name: external-db}
addressType: IPv4
endpoints: [{addresses: [192.0.2.10]}]
ports: [{port: 5432}]
`,
			want: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: external-db-1
  namespace: app
  labels: {endpointslice.kubernetes.io/managed-by: me, kubernetes.io/service-name: external-db}
addressType: IPv4
endpoints: [{addresses: [192.0.2.10]}]
ports: [{port: 5432}]
`,
		},
		{
			name: "the apiserver's own slice",
			in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}
addressType: IPv4
`,
			dec: Decision{Skip: true, Reason: "the apiserver's own endpoints: the target's apiserver publishes its own"},
		},
	})
}
