package sanitize

import "testing"

// The managedFields below have the shapes the apiserver writes: a
// reconciler's Update that added its finalizer owns that one value; a
// deploy tool's apply owns the manifest, the finalizers it lists included.
func TestObjectDropsTheFinalizersControllersAdded(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "a Flux Kustomization: its controller's finalizer goes, the user's stays",
			in: `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
  finalizers: [finalizers.fluxcd.io, example.com/keep-backup]
  managedFields:
  - manager: kubectl-client-side-apply
    operation: Update
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:annotations: {.: {}, f:kubectl.kubernetes.io/last-applied-configuration: {}}, f:finalizers: {.: {}, 'v:"example.com/keep-backup"': {}}}
      f:spec: {.: {}, f:interval: {}, f:path: {}}
  - manager: gotk-kustomize-controller
    operation: Update
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:finalizers: {'v:"finalizers.fluxcd.io"': {}}}
  - manager: gotk-kustomize-controller
    operation: Update
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    subresource: status
    fieldsType: FieldsV1
    fieldsV1:
      f:status: {f:conditions: {}}
spec: {interval: 10m, path: ./apps}
status: {observedGeneration: 2}
`,
			want: `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
  finalizers: [example.com/keep-backup]
spec: {interval: 10m, path: ./apps}
`,
			dec: Decision{Notes: []string{"finalizer finalizers.fluxcd.io dropped: a controller added it (field manager gotk-kustomize-controller); where that controller runs in the target it adds its own, and a copy would hold the object there forever where none does"}},
		},
		{
			name: "an Argo CD Application whose manifest lists the finalizer keeps it",
			in: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
  managedFields:
  - manager: argocd-controller
    operation: Apply
    apiVersion: argoproj.io/v1alpha1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:finalizers: {'v:"resources-finalizer.argocd.argoproj.io"': {}}}
      f:spec: {f:project: {}}
spec: {project: default}
`,
			want: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec: {project: default}
`,
		},
		{
			name: "a finalizer a person added with kubectl patch stays",
			in: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: precious
  namespace: app
  finalizers: [example.com/do-not-delete]
  managedFields:
  - manager: kubectl-create
    operation: Update
    apiVersion: v1
    fieldsType: FieldsV1
    fieldsV1: {f:data: {.: {}, f:k: {}}}
  - manager: kubectl-patch
    operation: Update
    apiVersion: v1
    fieldsType: FieldsV1
    fieldsV1: {f:metadata: {f:finalizers: {.: {}, 'v:"example.com/do-not-delete"': {}}}}
data: {k: v}
`,
			want: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: precious
  namespace: app
  finalizers: [example.com/do-not-delete]
data: {k: v}
`,
		},
		{
			name: "a finalizer both a controller and the manifest own stays",
			in: `
apiVersion: example.com/v1
kind: Database
metadata:
  name: db
  namespace: app
  finalizers: [example.com/snapshot]
  managedFields:
  - manager: helm
    operation: Update
    apiVersion: example.com/v1
    fieldsType: FieldsV1
    fieldsV1: {f:metadata: {f:finalizers: {'v:"example.com/snapshot"': {}}}, f:spec: {f:size: {}}}
  - manager: db-operator
    operation: Update
    apiVersion: example.com/v1
    fieldsType: FieldsV1
    fieldsV1: {f:metadata: {f:finalizers: {'v:"example.com/snapshot"': {}}}}
spec: {size: 3}
`,
			want: `
apiVersion: example.com/v1
kind: Database
metadata:
  name: db
  namespace: app
  finalizers: [example.com/snapshot]
spec: {size: 3}
`,
		},
		{
			name: "without managedFields nothing says a finalizer is not the user's",
			in: `
apiVersion: example.com/v1
kind: Database
metadata:
  name: db
  namespace: app
  finalizers: [example.com/snapshot]
spec: {size: 3}
`,
		},
		{
			name: "the control plane's own finalizers go without a note, the whole list with them",
			in: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: app
  finalizers: [service.kubernetes.io/load-balancer-cleanup]
spec: {type: LoadBalancer, ports: [{port: 80}]}
`,
			want: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: app
spec: {type: LoadBalancer, ports: [{port: 80}]}
`,
		},
		{
			name: "a finalizer patched through status, or with the status of a kind without that subresource, goes",
			in: `
apiVersion: example.com/v1
kind: Bucket
metadata:
  name: logs
  namespace: app
  finalizers: [example.com/empty-first, example.com/deprovision]
  managedFields:
  - manager: helm
    operation: Update
    apiVersion: example.com/v1
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {f:region: {}}}
  - manager: bucket-operator
    operation: Update
    apiVersion: example.com/v1
    subresource: status
    fieldsType: FieldsV1
    fieldsV1: {f:metadata: {f:finalizers: {'v:"example.com/empty-first"': {}}}, f:status: {f:phase: {}}}
  - manager: bucket-provisioner
    operation: Update
    apiVersion: example.com/v1
    fieldsType: FieldsV1
    fieldsV1: {f:metadata: {f:finalizers: {'v:"example.com/deprovision"': {}}}, f:status: {.: {}, f:ready: {}}}
spec: {region: eu-west-1}
status: {phase: Ready, ready: true}
`,
			want: `
apiVersion: example.com/v1
kind: Bucket
metadata:
  name: logs
  namespace: app
spec: {region: eu-west-1}
`,
			dec: Decision{Notes: []string{"finalizer example.com/empty-first, example.com/deprovision dropped: a controller added it (field manager bucket-operator, bucket-provisioner); where that controller runs in the target it adds its own, and a copy would hold the object there forever where none does"}},
		},
		{
			// kubectl apply's three-way patch changes nothing of a
			// finalizer the controller added first: the controller alone
			// owns it, and the manifest lists it all the same.
			name: "a finalizer the last-applied manifest lists stays, whoever owns it",
			in: `
apiVersion: example.com/v1
kind: Database
metadata:
  name: db
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"example.com/v1","kind":"Database","metadata":{"name":"db","namespace":"app","finalizers":["example.com/snapshot"]},"spec":{"size":3}}'
  finalizers: [example.com/snapshot]
  managedFields:
  - manager: kubectl-client-side-apply
    operation: Update
    apiVersion: example.com/v1
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {f:size: {}}}
  - manager: db-operator
    operation: Update
    apiVersion: example.com/v1
    fieldsType: FieldsV1
    fieldsV1: {f:metadata: {f:finalizers: {'v:"example.com/snapshot"': {}}}}
spec: {size: 3}
`,
			want: `
apiVersion: example.com/v1
kind: Database
metadata:
  name: db
  namespace: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"example.com/v1","kind":"Database","metadata":{"name":"db","namespace":"app","finalizers":["example.com/snapshot"]},"spec":{"size":3}}'
  finalizers: [example.com/snapshot]
spec: {size: 3}
`,
		},
		{
			name: "an AWS Load Balancer Controller's finalizer with its labels goes",
			in: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: app
  finalizers: [ingress.k8s.aws/resources]
  managedFields:
  - manager: kubectl-client-side-apply
    operation: Update
    apiVersion: networking.k8s.io/v1
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {f:ingressClassName: {}}}
  - manager: controller
    operation: Update
    apiVersion: networking.k8s.io/v1
    fieldsType: FieldsV1
    fieldsV1: {f:metadata: {f:finalizers: {.: {}, 'v:"ingress.k8s.aws/resources"': {}}, f:labels: {f:ingress.k8s.aws/stack: {}}}}
spec: {ingressClassName: alb}
`,
			want: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: app
spec: {ingressClassName: alb}
`,
			dec: Decision{Notes: []string{"finalizer ingress.k8s.aws/resources dropped: a controller added it (field manager controller); where that controller runs in the target it adds its own, and a copy would hold the object there forever where none does"}},
		},
	})
}

func TestNeedsManagedFields(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"{apiVersion: v1, kind: Service, metadata: {name: web}}", true},
		{"{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}", false},
		{"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, finalizers: [kubernetes.io/pvc-protection]}}", false},
		{"{apiVersion: example.com/v1, kind: Database, metadata: {name: db, finalizers: [kubernetes.io/pvc-protection, example.com/snapshot]}}", true},
		{"{apiVersion: serving.knative.dev/v1, kind: Service, metadata: {name: web}}", false},
	} {
		if got := NeedsManagedFields(parse(t, tc.in)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.in, got, tc.want)
		}
	}
}
