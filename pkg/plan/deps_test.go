package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestDeps(t *testing.T) {
	bindings := []string{
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: web-read, namespace: shop},
		  subjects: [{kind: ServiceAccount, name: web}], roleRef: {kind: Role, name: reader}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: web-view},
		  subjects: [{kind: User, name: web}, {kind: ServiceAccount, name: web, namespace: shop}], roleRef: {kind: ClusterRole, name: view}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: other, namespace: blog},
		  subjects: [{kind: ServiceAccount, name: web}], roleRef: {kind: Role, name: reader}}`,
		`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: backups.velero.io},
		  spec: {group: velero.io, names: {kind: Backup, plural: backups}}}`,
		`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: clusterissuers.cert-manager.io},
		  spec: {group: cert-manager.io, names: {kind: ClusterIssuer, plural: clusterissuers}}}`,
		`{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingWebhookConfiguration, metadata: {name: policy},
		  webhooks: [{name: a.policy.example, clientConfig: {service: {namespace: shop, name: webhook}}}, {name: b.policy.example, clientConfig: {url: "https://x.example"}}]}`,
		`{apiVersion: apiregistration.k8s.io/v1, kind: APIService, metadata: {name: v1beta1.metrics.k8s.io},
		  spec: {group: metrics.k8s.io, version: v1beta1, service: {namespace: monitoring, name: metrics}}}`,
	}
	cases := []struct {
		name string
		obj  string
		want map[ObjectKey]string
	}{
		{"deployment pod template", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: web
      priorityClassName: high
      runtimeClassName: gvisor
      imagePullSecrets: [{name: regcred}]
      volumes:
      - {name: a, configMap: {name: vol-cm}}
      - {name: b, secret: {secretName: vol-secret}}
      - {name: c, persistentVolumeClaim: {claimName: data}}
      - {name: d, projected: {sources: [{configMap: {name: proj-cm}}, {secret: {name: proj-secret}}, {serviceAccountToken: {path: t}}]}}
      - {name: e, emptyDir: {}}
      initContainers:
      - name: init
        envFrom: [{configMapRef: {name: from-cm}}, {secretRef: {name: from-secret}}]
      containers:
      - name: app
        env:
        - {name: A, valueFrom: {configMapKeyRef: {name: env-cm, key: a}}}
        - {name: B, valueFrom: {secretKeyRef: {name: env-secret, key: b}}}
        - {name: C, value: plain}
`, map[ObjectKey]string{
			{"", "Namespace", "", "shop"}:                      "namespace of shop/Deployment web",
			{"", "ServiceAccount", "shop", "web"}:              "ServiceAccount of Deployment shop/web",
			{"scheduling.k8s.io", "PriorityClass", "", "high"}: "PriorityClass of Deployment shop/web",
			{"node.k8s.io", "RuntimeClass", "", "gvisor"}:      "RuntimeClass of Deployment shop/web",
			{"", "Secret", "shop", "regcred"}:                  "Secret referenced by Deployment shop/web",
			{"", "ConfigMap", "shop", "vol-cm"}:                "ConfigMap referenced by Deployment shop/web",
			{"", "Secret", "shop", "vol-secret"}:               "Secret referenced by Deployment shop/web",
			{"", "PersistentVolumeClaim", "shop", "data"}:      "PVC mounted by Deployment shop/web",
			{"", "ConfigMap", "shop", "proj-cm"}:               "ConfigMap referenced by Deployment shop/web",
			{"", "Secret", "shop", "proj-secret"}:              "Secret referenced by Deployment shop/web",
			{"", "ConfigMap", "shop", "from-cm"}:               "ConfigMap referenced by Deployment shop/web",
			{"", "Secret", "shop", "from-secret"}:              "Secret referenced by Deployment shop/web",
			{"", "ConfigMap", "shop", "env-cm"}:                "ConfigMap referenced by Deployment shop/web",
			{"", "Secret", "shop", "env-secret"}:               "Secret referenced by Deployment shop/web",
		}},
		{"cronjob default service account", `
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: blog}
spec: {jobTemplate: {spec: {template: {spec: {volumes: [{name: a, configMap: {name: cron-cm}}]}}}}}
`, map[ObjectKey]string{
			{"", "Namespace", "", "blog"}:             "namespace of blog/CronJob report",
			{"", "ServiceAccount", "blog", "default"}: "ServiceAccount of CronJob blog/report",
			{"", "ConfigMap", "blog", "cron-cm"}:      "ConfigMap referenced by CronJob blog/report",
		}},
		{"pod", `{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: shop}, spec: {serviceAccount: legacy}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "shop"}:            "namespace of shop/Pod p",
				{"", "ServiceAccount", "shop", "legacy"}: "ServiceAccount of Pod shop/p",
			}},
		{"statefulset claim templates", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  template: {spec: {serviceAccountName: db}}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {storageClassName: fast}}, {metadata: {name: logs}, spec: {}}]
`, map[ObjectKey]string{
			{"", "Namespace", "", "shop"}:                  "namespace of shop/StatefulSet db",
			{"", "ServiceAccount", "shop", "db"}:           "ServiceAccount of StatefulSet shop/db",
			{"storage.k8s.io", "StorageClass", "", "fast"}: "StorageClass of StatefulSet shop/db",
		}},
		{"pvc", `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: shop}, spec: {storageClassName: fast}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "shop"}:                  "namespace of shop/PersistentVolumeClaim data",
				{"storage.k8s.io", "StorageClass", "", "fast"}: "StorageClass of PVC shop/data",
			}},
		{"ingress", `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: fallback}}
  tls: [{secretName: web-cert}]
  rules: [{http: {paths: [{backend: {service: {name: web}}}, {backend: {resource: {kind: Bucket, name: b}}}]}}]
`, map[ObjectKey]string{
			{"", "Namespace", "", "shop"}:                      "namespace of shop/Ingress web",
			{"networking.k8s.io", "IngressClass", "", "nginx"}: "IngressClass of Ingress shop/web",
			{"", "Service", "shop", "fallback"}:                "Service behind Ingress shop/web",
			{"", "Service", "shop", "web"}:                     "Service behind Ingress shop/web",
			{"", "Secret", "shop", "web-cert"}:                 "TLS Secret of Ingress shop/web",
		}},
		{"ingress class annotation", `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: old, namespace: shop, annotations: {kubernetes.io/ingress.class: traefik}}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "shop"}:                        "namespace of shop/Ingress old",
				{"networking.k8s.io", "IngressClass", "", "traefik"}: "IngressClass of Ingress shop/old",
			}},
		{"service account bindings", `{apiVersion: v1, kind: ServiceAccount, metadata: {name: web, namespace: shop}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "shop"}:                     "namespace of shop/ServiceAccount web",
				{rbacGroup, "RoleBinding", "shop", "web-read"}:    "RoleBinding of ServiceAccount shop/web",
				{rbacGroup, "Role", "shop", "reader"}:             "Role bound to ServiceAccount shop/web by RoleBinding shop/web-read",
				{rbacGroup, "ClusterRoleBinding", "", "web-view"}: "ClusterRoleBinding of ServiceAccount shop/web",
				{rbacGroup, "ClusterRole", "", "view"}:            "ClusterRole bound to ServiceAccount shop/web by ClusterRoleBinding web-view",
			}},
		{"binding role ref", bindings[1], map[ObjectKey]string{
			{rbacGroup, "ClusterRole", "", "view"}: "ClusterRole referenced by ClusterRoleBinding web-view",
		}},
		{"custom resource", `{apiVersion: velero.io/v1, kind: Backup, metadata: {name: nightly, namespace: payments}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "payments"}:                               "namespace of payments/Backup nightly",
				{crdGroup, "CustomResourceDefinition", "", "backups.velero.io"}: "CRD of Backup payments/nightly",
			}},
		{"service selector not followed", `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}}}`,
			map[ObjectKey]string{{"", "Namespace", "", "shop"}: "namespace of shop/Service web"}},
		{"cluster-scoped", `{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: fast}}`, map[ObjectKey]string{}},
		// What calls a Service comes with it, and needs it.
		{"service called by a webhook", `{apiVersion: v1, kind: Service, metadata: {name: webhook, namespace: shop}, spec: {selector: {app: hook}}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "shop"}: "namespace of shop/Service webhook",
				{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "", "policy"}: "ValidatingWebhookConfiguration policy, which calls Service shop/webhook",
			}},
		{"service behind an aggregated API", `{apiVersion: v1, kind: Service, metadata: {name: metrics, namespace: monitoring}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "monitoring"}:                                    "namespace of monitoring/Service metrics",
				{"apiregistration.k8s.io", "APIService", "", "v1beta1.metrics.k8s.io"}: "APIService v1beta1.metrics.k8s.io, which calls Service monitoring/metrics",
			}},
		{"aggregated API", bindings[6], map[ObjectKey]string{
			{"", "Service", "monitoring", "metrics"}: "Service behind APIService v1beta1.metrics.k8s.io",
		}},
		{"webhook configuration", bindings[5], map[ObjectKey]string{
			{"", "Service", "shop", "webhook"}: "Service called by ValidatingWebhookConfiguration policy",
		}},
		// An extension's references by kind and name: each scope and
		// group the reference leaves open is a candidate (only what the
		// source has is picked).
		{"extension reference with its group", `
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: tls, namespace: shop}
spec: {secretName: tls, issuerRef: {name: le, kind: ClusterIssuer, group: cert-manager.io}}
status: {conditions: [{kind: Ready, name: ignored}]}
`, map[ObjectKey]string{
			{"", "Namespace", "", "shop"}:                      "namespace of shop/Certificate tls",
			{"cert-manager.io", "ClusterIssuer", "shop", "le"}: "ClusterIssuer le referenced by Certificate shop/tls (spec.issuerRef)",
			{"cert-manager.io", "ClusterIssuer", "", "le"}:     "ClusterIssuer le referenced by Certificate shop/tls (spec.issuerRef)",
		}},
		{"extension reference without a group, cluster-scoped referrer", `
apiVersion: example.io/v1
kind: Widget
metadata: {name: w}
spec: {parts: [{note: plain}, {issuer: {kind: ClusterIssuer, name: le}}]}
`, map[ObjectKey]string{
			{"example.io", "ClusterIssuer", "", "le"}:      "ClusterIssuer le referenced by Widget w (spec.parts[1].issuer)",
			{"", "ClusterIssuer", "", "le"}:                "ClusterIssuer le referenced by Widget w (spec.parts[1].issuer)",
			{"cert-manager.io", "ClusterIssuer", "", "le"}: "ClusterIssuer le referenced by Widget w (spec.parts[1].issuer)",
		}},
		{"gateway API defaults", `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules: [{backendRefs: [{name: web, port: 80}, {group: example.io, kind: Bucket, name: b}]}]
`, map[ObjectKey]string{
			{"", "Namespace", "", "shop"}:                           "namespace of shop/HTTPRoute r",
			{"gateway.networking.k8s.io", "Gateway", "infra", "gw"}: "Gateway gw referenced by HTTPRoute shop/r (spec.parentRefs[0])",
			{"", "Service", "shop", "web"}:                          "Service web referenced by HTTPRoute shop/r (spec.rules[0].backendRefs[0])",
			{"example.io", "Bucket", "shop", "b"}:                   "Bucket b referenced by HTTPRoute shop/r (spec.rules[0].backendRefs[1])",
			{"example.io", "Bucket", "", "b"}:                       "Bucket b referenced by HTTPRoute shop/r (spec.rules[0].backendRefs[1])",
		}},
		{"gateway class", `{apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: {name: gw, namespace: infra}, spec: {gatewayClassName: eg, listeners: [{name: https, tls: {certificateRefs: [{name: cert}]}}]}}`,
			map[ObjectKey]string{
				{"", "Namespace", "", "infra"}:                          "namespace of infra/Gateway gw",
				{"gateway.networking.k8s.io", "GatewayClass", "", "eg"}: "GatewayClass eg referenced by Gateway infra/gw (spec.gatewayClassName)",
				{"", "Secret", "infra", "cert"}:                         "Secret cert referenced by Gateway infra/gw (spec.listeners[0].tls.certificateRefs[0])",
			}},
	}
	// The same deps from the whole objects and from what Essential keeps
	// of them (what a large sync holds while it selects).
	forms := []struct {
		name string
		of   func(*unstructured.Unstructured) *unstructured.Unstructured
	}{
		{"whole", func(u *unstructured.Unstructured) *unstructured.Unstructured { return u }},
		{"essential", func(u *unstructured.Unstructured) *unstructured.Unstructured { return Essential(u) }},
	}
	for _, form := range forms {
		var objs []*unstructured.Unstructured
		for _, b := range parseAll(t, bindings...) {
			objs = append(objs, form.of(b))
		}
		idx := newIndex(objects(objs), nil)
		for _, tc := range cases {
			t.Run(form.name+"/"+tc.name, func(t *testing.T) {
				got := map[ObjectKey]string{}
				for _, d := range idx.deps(form.of(parse(t, tc.obj))) {
					if _, dup := got[d.key]; !dup {
						got[d.key] = d.why
					}
				}
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("deps (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestEssentialLeavesOutWhatIsNotRead(t *testing.T) {
	d := parse(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}, annotations: {note: big}}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      volumes: [{name: a, configMap: {name: vol-cm, defaultMode: 420}}, {name: e, emptyDir: {}}]
      containers:
      - name: app
        image: registry.example.com/web:1
        ports: [{containerPort: 8080}]
        env: [{name: A, valueFrom: {configMapKeyRef: {name: env-cm, key: a}}}, {name: C, value: plain}]
`)
	got := Essential(d).Object
	want := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"serviceAccountName": "web",
			"volumes":            []any{map[string]any{"configMap": map[string]any{"name": "vol-cm", "defaultMode": int64(420)}}, map[string]any{}},
			"containers":         []any{map[string]any{"env": []any{map[string]any{"valueFrom": map[string]any{"configMapKeyRef": map[string]any{"name": "env-cm", "key": "a"}}}}}},
		}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Essential (-want +got):\n%s", diff)
	}
	svc := parse(t, `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}, clusterIP: 10.0.0.1, ports: [{port: 80}]}}`)
	got = Essential(svc, []string{"spec", "selector"}, []string{"spec", "clusterIP"}).Object
	want = map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"selector": map[string]any{"app": "web"}, "clusterIP": "10.0.0.1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Essential of a Service with keep paths (-want +got):\n%s", diff)
	}
	// ReadsContent tells the kinds Essential keeps content of from those it
	// keeps only the name of.
	cm := parse(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}, data: {a: b}}`)
	for _, c := range []struct {
		obj  *unstructured.Unstructured
		want bool
	}{{d, true}, {svc, false}, {cm, false}} {
		gk := c.obj.GroupVersionKind().GroupKind()
		if got := ReadsContent(gk); got != c.want {
			t.Errorf("ReadsContent(%v) = %v, want %v", gk, got, c.want)
		}
		if onlyName := len(Essential(c.obj).Object) == 3; onlyName == c.want {
			t.Errorf("Essential of a %v keeps %v, which ReadsContent = %v contradicts", gk, Essential(c.obj).Object, c.want)
		}
	}
}

// A webhook configuration or APIService served from a system namespace is
// not copied unless the system namespaces are; one served from an app's
// namespace, or by URL, is.
func TestCallsUncopied(t *testing.T) {
	hook := func(ns string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
			"metadata": map[string]any{"name": "h"}, "webhooks": []any{
				map[string]any{"name": "url.example.com", "clientConfig": map[string]any{"url": "https://hooks.example.com"}},
				map[string]any{"name": "svc.example.com", "clientConfig": map[string]any{"service": map[string]any{"namespace": ns, "name": "hook"}}},
			}}}
	}
	api := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io"}, "spec": map[string]any{"service": map[string]any{"namespace": "kube-system", "name": "metrics-server"}}}}
	for _, tc := range []struct {
		name string
		obj  *unstructured.Unstructured
		s    Selector
		want string
	}{
		{"webhook from kube-system", hook("kube-system"), Selector{}, "kube-system/hook"},
		{"webhook from an app", hook("shop"), Selector{}, ""},
		{"APIService from kube-system", api, Selector{}, "kube-system/metrics-server"},
		{"system namespaces copied", api, Selector{IncludeSystem: true}, ""},
	} {
		if got := tc.s.CallsUncopied(tc.obj); got != tc.want {
			t.Errorf("%s: CallsUncopied = %q, want %q", tc.name, got, tc.want)
		}
	}
}
