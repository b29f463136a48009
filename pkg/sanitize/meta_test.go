package sanitize

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestObjectGeneric(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "server metadata and status are stripped, user metadata kept",
			in: `
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: app
  generateName: w-
  uid: 0b8f6b0e-1111-2222-3333-444455556666
  resourceVersion: "4711"
  generation: 3
  creationTimestamp: "2024-05-01T10:00:00Z"
  deletionGracePeriodSeconds: 30
  selfLink: /apis/example.com/v1/namespaces/app/widgets/w
  labels: {app: w}
  annotations:
    note: keep
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Widget"}'
  finalizers: [example.com/cleanup]
  managedFields:
  - manager: kubectl
    operation: Apply
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {f:size: {}}}
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Gadget, name: g, uid: 9d0f0000-0000-0000-0000-000000000001}
spec: {size: 3}
status: {ready: true}
`,
			want: `
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: app
  labels: {app: w}
  annotations:
    note: keep
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Widget"}'
  finalizers: [example.com/cleanup]
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Gadget, name: g, uid: 9d0f0000-0000-0000-0000-000000000001}
spec: {size: 3}
`,
		},
		{
			name: "being deleted",
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: app, uid: u1, deletionTimestamp: "2024-05-01T10:00:00Z"}
`,
			dec: Decision{Skip: true, Reason: "being deleted in the source"},
		},
		{
			name: "in a namespace being deleted",
			c:    Context{NamespaceDeleting: func(ns string) bool { return ns == "gone" }},
			in: `
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: gone}
spec: {ports: [{port: 443}]}
`,
			dec: Decision{Skip: true, Reason: "its namespace is being deleted in the source"},
		},
		{
			name: "in a namespace not being deleted",
			c:    Context{NamespaceDeleting: func(ns string) bool { return ns == "gone" }},
			in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: app}
`,
		},
		{
			name: "tandem's own resource outside tandem-system",
			in: `
apiVersion: tandem.io/v1alpha1
kind: Switchover
metadata: {name: to-b, namespace: platform}
spec: {pair: prod, to: prod-b}
`,
			dec: Decision{Skip: true, Intent: true, Reason: "tandem's own Switchover: the controller of the cluster that has it acts on it; a copy would run the pair's mirror twice, or a switchover or drill again"},
		},
		{
			name: "controller-owned ReplicaSet",
			in: `
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d4b9c
  namespace: app
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: u-dep, controller: true, blockOwnerDeletion: true}
spec: {replicas: 2}
`,
			dec: Decision{Skip: true, Reason: "owned by Deployment/web: its controller recreates it in the target"},
		},
		{
			name: "controller-owned custom resource child",
			in: `
apiVersion: example.com/v1
kind: Shard
metadata:
  name: db-0
  namespace: app
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Gadget, name: g, uid: u1, controller: false}
  - {apiVersion: example.com/v1, kind: Database, name: db, uid: u2, controller: true}
`,
			dec: Decision{Skip: true, Reason: "owned by Database/db: its controller recreates it in the target"},
		},
		{
			// A CNI's per-node record that names its Node as a plain
			// owner: the Node is never copied, nor is what belongs to it.
			name: "owned by a Node without a controller reference",
			in: `
apiVersion: example.net/v1
kind: NodeNetwork
metadata:
  name: ip-10-0-1-17.ec2.internal
  ownerReferences:
  - {apiVersion: v1, kind: Node, name: ip-10-0-1-17.ec2.internal, uid: u3}
spec: {subnet: subnet-1}
`,
			dec: Decision{Skip: true, Reason: "belongs to the source's node ip-10-0-1-17.ec2.internal: the target's nodes have their own"},
		},
		{
			// Gatekeeper makes a constraint kind from each
			// ConstraintTemplate: the constraints sync copies need it
			// (plan.decide writes it only where the target lacks it).
			name: "a CRD an operator made from another object",
			in: `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: k8srequiredlabels.constraints.gatekeeper.sh
  uid: 0b8f6b0e-1111-2222-3333-444455556667
  ownerReferences:
  - {apiVersion: templates.gatekeeper.sh/v1beta1, kind: ConstraintTemplate, name: k8srequiredlabels, uid: u5, controller: true, blockOwnerDeletion: true}
spec: {group: constraints.gatekeeper.sh}
status: {acceptedNames: {kind: K8sRequiredLabels}}
`,
			want: `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: k8srequiredlabels.constraints.gatekeeper.sh
  ownerReferences:
  - {apiVersion: templates.gatekeeper.sh/v1beta1, kind: ConstraintTemplate, name: k8srequiredlabels, uid: u5, controller: true, blockOwnerDeletion: true}
spec: {group: constraints.gatekeeper.sh}
`,
		},
		{
			// Istio's deployment controller makes a Deployment, Service
			// and ServiceAccount for each Gateway, owned without a
			// controller reference (GEP-1762's label names the Gateway).
			name: "made for a Gateway by its implementation",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-gw-istio
  namespace: shop
  labels: {gateway.networking.k8s.io/gateway-name: shop-gw, gateway.istio.io/managed: istio.io-gateway-controller}
  ownerReferences:
  - {apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, name: shop-gw, uid: u6}
spec: {replicas: 1}
`,
			dec: Decision{Skip: true, Reason: "made for Gateway shop-gw by its implementation (labelled with its name, owned by it): the target's implementation makes its own"},
		},
		{
			// Contour's provisioner owns nothing it makes; it labels it
			// with the Gateway's name twice.
			name: "made for a Gateway by Contour's provisioner",
			in: `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: envoy-shop-gw
  namespace: shop
  labels: {gateway.networking.k8s.io/gateway-name: shop-gw, projectcontour.io/owning-gateway-name: shop-gw, app.kubernetes.io/managed-by: contour-gateway-provisioner}
spec: {}
`,
			dec: Decision{Skip: true, Reason: "made for Gateway shop-gw by Contour's provisioner (labelled with its name): the target's implementation makes its own"},
		},
		{
			// Envoy Gateway's default mode: in its own namespace, owned
			// by the GatewayClass (no controller reference).
			name: "made for a Gateway by Envoy Gateway",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: envoy-shop-shop-gw-3a7c2b1d
  namespace: envoy-gateway-system
  labels:
    app.kubernetes.io/name: envoy
    app.kubernetes.io/component: proxy
    app.kubernetes.io/managed-by: envoy-gateway
    gateway.envoyproxy.io/owning-gateway-name: shop-gw
    gateway.envoyproxy.io/owning-gateway-namespace: shop
  ownerReferences:
  - {apiVersion: gateway.networking.k8s.io/v1, kind: GatewayClass, name: eg, uid: u7}
spec: {type: LoadBalancer}
`,
			dec: Decision{Skip: true, Reason: "made for Gateway shop/shop-gw by Envoy Gateway (labelled with its name): the target's implementation makes its own"},
		},
		{
			name: "made for merged Gateways by Envoy Gateway",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: envoy-eg-5b1e0c9a
  namespace: envoy-gateway-system
  labels: {app.kubernetes.io/managed-by: envoy-gateway, gateway.envoyproxy.io/owning-gatewayclass: eg}
spec: {replicas: 2}
`,
			dec: Decision{Skip: true, Reason: "made for the Gateways of GatewayClass eg by Envoy Gateway (labelled with its name): the target's implementation makes its own"},
		},
		{
			// Labelled for a Gateway, made by nobody's controller.
			name: "a user's object labelled with a Gateway's name alone",
			in: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: shop-gw
  namespace: shop
  labels: {gateway.networking.k8s.io/gateway-name: shop-gw, gateway.envoyproxy.io/owning-gateway-name: shop-gw}
spec: {maxReplicas: 4}
`, // copied as it is
		},
		{
			// A user's object that attaches to the Gateway's by the label
			// is the user's, owned by the Gateway or not.
			name: "labelled for another Gateway than its owner",
			in: `
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: shop-gw
  namespace: shop
  labels: {gateway.networking.k8s.io/gateway-name: other-gw}
  ownerReferences:
  - {apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, name: shop-gw, uid: u6}
spec: {minAvailable: 1}
`, // copied as it is
		},
		{
			name: "a Node of another API group is not a node",
			in: `
apiVersion: example.com/v1
kind: Tree
metadata:
  name: leaf
  namespace: app
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Node, name: root, uid: u4}
`, // copied as it is
		},
	})
}

func TestOwnStateIsNeverCopied(t *testing.T) {
	cases := []struct {
		obj  *unstructured.Unstructured
		skip bool
	}{
		{&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "tandem-role", "namespace": "tandem-system"}}}, true},
		{&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "tandem-system"}}}, true},
		{&unstructured.Unstructured{Object: map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy", "metadata": map[string]any{"name": "p", "labels": map[string]any{"app.kubernetes.io/managed-by": "tandem"}}}}, true},
		{&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app", "namespace": "shop"}}}, false},
		{&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app", "namespace": "shop", "labels": map[string]any{"app.kubernetes.io/managed-by": "Helm"}}}}, false},
	}
	for _, c := range cases {
		d := Object(c.obj, Context{})
		if d.Skip != c.skip {
			t.Errorf("%s %s/%s: skip=%v, want %v (%s)", c.obj.GetKind(), c.obj.GetNamespace(), c.obj.GetName(), d.Skip, c.skip, d.Reason)
		}
	}
}

func TestNamespaceLosesSourceStandbyLabel(t *testing.T) {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop", "labels": map[string]any{"tandem.io/standby": "true", "team": "a"}}}}
	Object(ns, Context{})
	if _, ok := ns.GetLabels()["tandem.io/standby"]; ok || ns.GetLabels()["team"] != "a" {
		t.Fatalf("labels after sanitize: %v", ns.GetLabels())
	}
}
