package preflight

import (
	"context"
	"strings"
	"testing"

	"github.com/russross/blackfriday/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/cluster"
)

func envOf(objs ...map[string]any) *Env {
	var us []*unstructured.Unstructured
	for _, o := range objs {
		us = append(us, obj(o))
	}
	return NewEnv(&cluster.Conn{Context: "blue"}, &cluster.Conn{Context: "green"}, nil, us, NewServed())
}

func meta(name, ns string, labels, annotations map[string]any) map[string]any {
	m := map[string]any{"name": name, "namespace": ns}
	if labels != nil {
		m["labels"] = labels
	}
	if annotations != nil {
		m["annotations"] = annotations
	}
	return m
}

// ownersOf runs the owners check on env: its findings, and each one's
// message by the unit it names.
func ownersOf(t *testing.T, env *Env) ([]Finding, map[string]string) {
	t.Helper()
	fs, err := Owners{}.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Object] = f.Message
	}
	return fs, got
}

func TestOwnersGroupsByPipelineUnit(t *testing.T) {
	env := envOf(
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("a", "shop", map[string]any{"app.kubernetes.io/managed-by": "Helm"},
			map[string]any{"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"})},
		map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web", "shop", map[string]any{"app.kubernetes.io/managed-by": "Helm"},
			map[string]any{"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"})},
		// Flux's helm-controller labels its releases' objects too: Flux is what deploys them.
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta("api", "pay", map[string]any{"app.kubernetes.io/managed-by": "Helm",
			"helm.toolkit.fluxcd.io/name": "pay", "helm.toolkit.fluxcd.io/namespace": "flux-system"}, nil)},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("ui", "guest", nil,
			map[string]any{"argocd.argoproj.io/tracking-id": "guestbook:/ConfigMap:guest/ui"})},
		map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta("guestbook", "argocd", nil, nil),
			"spec": map[string]any{"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "guest"}}},
		// A pod repeats its ReplicaSet's labels: not counted again.
		map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "web-1", "namespace": "shop",
			"labels":          map[string]any{"app.kubernetes.io/managed-by": "Helm"},
			"annotations":     map[string]any{"meta.helm.sh/release-name": "shop"},
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": true}}}},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("plain", "shop", nil, nil)},
		// The endpoints controller copies a Service's labels to its
		// Endpoints, not its annotations: the cluster's own, no release's.
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta("web", "shop", map[string]any{"app.kubernetes.io/managed-by": "Helm"},
			map[string]any{"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"}), "spec": map[string]any{"selector": map[string]any{"app": "web"}}},
		map[string]any{"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("web", "shop", map[string]any{"app.kubernetes.io/managed-by": "Helm"}, nil)},
		// Rendered by helm template and applied by another tool: Helm's
		// labels, no release annotations; the instance (or the old
		// heritage/release labels) names the chart.
		map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("es", "external-secrets", map[string]any{"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "es"}, nil)},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta("es-view", "", map[string]any{"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "es"}, nil)},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("legacy", "shop", map[string]any{"heritage": "Helm", "release": "legacy"}, nil)},
		// Argo CD before 3.0 tracks by app.kubernetes.io/instance alone: a
		// plain Deployment and a chart's Service of Application "cart" are
		// its; a label no Application has names nothing.
		map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta("cart", "argocd", nil, nil),
			"spec": map[string]any{"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "cart"}}},
		map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("cart", "cart", map[string]any{"app.kubernetes.io/instance": "cart"}, nil)},
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta("cart", "cart", map[string]any{"app.kubernetes.io/instance": "cart", "app.kubernetes.io/managed-by": "Helm"}, nil)},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("tools", "cart", map[string]any{"app.kubernetes.io/instance": "tools"}, nil)},
		// An Application deploying to another cluster claims nothing here.
		map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta("tools", "argocd", nil, nil),
			"spec": map[string]any{"destination": map[string]any{"server": "https://prod.example:6443", "namespace": "tools"}}},
		// Two Applications named web: the label "web" could be either's and
		// goes to neither; "team-a_web" is team-a's.
		map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta("web", "argocd", nil, nil),
			"spec": map[string]any{"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "web"}}},
		map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta("web", "team-a", nil, nil),
			"spec": map[string]any{"destination": map[string]any{"name": "in-cluster", "namespace": "team-a"}}},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("web", "web", map[string]any{"app.kubernetes.io/instance": "web"}, nil)},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("web", "team-a", map[string]any{"app.kubernetes.io/instance": "team-a_web"}, nil)},
		// Rendered from chart "cart" too but named by the old release label,
		// not the instance: the chart's, not the Application's.
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cart-legacy", "cart", map[string]any{"heritage": "Helm", "release": "cart"}, nil)},
	)
	fs, got := ownersOf(t, env)
	// Run reads env.Seen and leaves it as it was: a second run says the same.
	again, err := Owners{}.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range again {
		if got[f.Object] != f.Message {
			t.Errorf("a second run: %s: %q, the first said %q", f.Object, f.Message, got[f.Object])
		}
	}
	want := map[string]string{
		"Helm release shop/shop":           "manages 3 objects in the source (ConfigMap, Deployment, Service)",
		"Flux HelmRelease flux-system/pay": "manages 1 objects in the source (Service)",
		"Argo CD Application guestbook":    "it deploys to https://kubernetes.default.svc namespace guest",
		"Helm chart es":                    "manages 2 objects in the source (ClusterRole, ServiceAccount)",
		"Helm chart legacy":                "manages 1 objects in the source (ConfigMap)",
		"Argo CD Application argocd/cart":  "manages 2 objects in the source (Deployment, Service); it deploys to",
		"Argo CD Application argocd/tools": "is installed in the source; it deploys to https://prod.example:6443",
		"Helm chart cart":                  "manages 1 objects in the source (ConfigMap)",
		"Argo CD Application argocd/web":   "is installed in the source; it deploys to https://kubernetes.default.svc namespace web",
		"Argo CD Application team-a/web":   "manages 1 objects in the source (ConfigMap); it deploys to in-cluster namespace team-a",
	}
	if len(got) != len(want) {
		t.Fatalf("findings %v, want one per unit: %v", got, want)
	}
	for obj, msg := range want {
		if !strings.Contains(got[obj], msg) {
			t.Errorf("%s: %q, want it to contain %q", obj, got[obj], msg)
		}
	}
	for _, f := range fs {
		if f.Object == "Helm chart es" && strings.Contains(f.Fix, "release Secret, so helm") {
			t.Errorf("a chart rendered without a release has no release Secret to copy: %q", f.Fix)
		}
	}
	if !strings.Contains(got["Argo CD Application guestbook"], "manages 1 objects") {
		t.Errorf("the Application and its tracked object are one finding: %q", got["Argo CD Application guestbook"])
	}
}

// An Argo CD whose argocd-cm says annotation tracking does not own what
// carries only its Application's name as the instance label: that is a
// Helm chart's label, and the chart's finding keeps it.
func TestOwnersReadsArgoCDsTrackingMethod(t *testing.T) {
	for _, tc := range []struct {
		method string
		want   map[string]string
	}{
		{"annotation", map[string]string{
			"Argo CD Application argocd/cart": "is installed in the source",
			"Helm chart cart":                 "manages 1 objects in the source (Service)",
		}},
		{"annotation+label", map[string]string{
			"Argo CD Application argocd/cart": "manages 1 objects in the source (Service)",
		}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			env := envOf(
				map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-cm", "argocd", nil, nil),
					"data": map[string]any{"application.resourceTrackingMethod": tc.method}},
				map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta("cart", "argocd", nil, nil),
					"spec": map[string]any{"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "cart"}}},
				map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta("cart", "cart", map[string]any{"app.kubernetes.io/instance": "cart", "app.kubernetes.io/managed-by": "Helm"}, nil)},
			)
			_, got := ownersOf(t, env)
			if len(got) != len(tc.want) {
				t.Fatalf("findings %v, want %v", got, tc.want)
			}
			for obj, msg := range tc.want {
				if !strings.Contains(got[obj], msg) {
					t.Errorf("%s: %q, want it to contain %q", obj, got[obj], msg)
				}
			}
		})
	}
}

func TestPodBlockers(t *testing.T) {
	ctrl := []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "cache-1", "uid": "u", "controller": true}}
	ds := []any{map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "d", "controller": true}}
	pod := func(name string, owners []any, volumes ...any) map[string]any {
		md := map[string]any{"name": name, "namespace": "shop"}
		if owners != nil {
			md["ownerReferences"] = owners
		}
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": map[string]any{"volumes": volumes}, "status": map[string]any{"phase": "Running"}}
	}
	env := envOf(
		pod("bare", nil),
		pod("cache-1-a", ctrl, map[string]any{"name": "tmp", "emptyDir": map[string]any{}}),
		pod("cache-1-b", ctrl, map[string]any{"name": "tmp", "emptyDir": map[string]any{}}),
		pod("logs", ctrl[:0:0], map[string]any{"name": "host", "hostPath": map[string]any{"path": "/var/log"}}),
		pod("agent-x", ds, map[string]any{"name": "host", "hostPath": map[string]any{"path": "/var/run"}}),
	)
	var got []string
	for _, f := range podBlockers(env) {
		got = append(got, string(f.Severity)+" "+f.Object+": "+f.Message)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{
		"warning Pod shop/bare: has no controller",
		"info pods of ReplicaSet shop/cache-1: uses emptyDir volumes tmp", // scratch space, as on any reschedule
		"warning Pod shop/logs: mounts hostPath volumes host (/var/log)",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("findings lack %q:\n%s", want, joined)
		}
	}
	if strings.Count(joined, "cache-1") != 1 || strings.Contains(joined, "agent") {
		t.Errorf("want one finding per controller and none for DaemonSet pods:\n%s", joined)
	}
}

func TestExposureNamesTheRouter(t *testing.T) {
	env := envOf(
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta("edge", "shop", nil, nil), "spec": map[string]any{"type": "LoadBalancer"},
			"status": map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"hostname": "lb-1.elb.example"}}}}},
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta("internal", "shop", nil, nil), "spec": map[string]any{"type": "ClusterIP"}},
		map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("web", "shop", nil, map[string]any{"external-dns.alpha.kubernetes.io/hostname": "shop.example"}),
			"spec": map[string]any{"rules": []any{map[string]any{"host": "shop.example"}}}},
		map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("alb", "shop", nil, nil),
			"spec": map[string]any{"ingressClassName": "alb", "rules": []any{map[string]any{"host": "api.example"}}}},
	)
	fs, err := Exposure{}.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range fs {
		got[f.Object] = f
	}
	cases := map[string]string{
		"Service shop/edge":                  "route53://ZONEID/HOST?blue=VALUE&green=VALUE",
		"Ingress.networking.k8s.io shop/web": "externaldns://ingress/shop/web?clusters=blue,green",
		"Ingress.networking.k8s.io shop/alb": "alb://LISTENER_RULE_ARN",
	}
	if len(got) != len(cases) {
		t.Errorf("findings %v, want one per entry point (no ClusterIP Service)", got)
	}
	for obj, router := range cases {
		if f, ok := got[obj]; !ok || f.Severity != Info || !strings.Contains(f.Fix, router) {
			t.Errorf("%s: %+v, want info with %q", obj, f, router)
		}
	}
	if !strings.Contains(got["Service shop/edge"].Message, "lb-1.elb.example") {
		t.Errorf("the load balancer's address is named: %q", got["Service shop/edge"].Message)
	}
}

func TestMarkdownReportParses(t *testing.T) {
	rep := &Report{Source: "blue", Target: "green", Clusters: []ClusterInfo{{Context: "blue", Version: "v1.30.14"}, {Context: "green", Version: "v1.37.2"}},
		Checks:    []CheckResult{{Name: "pdb", Warnings: 1, Scope: "2 budgets"}},
		Findings:  []Finding{{Severity: Warning, Check: "pdb", Object: "PodDisruptionBudget.policy a/b", Message: "blocks | the drain", Fix: "relax it"}},
		Unchecked: []Unchecked{{Resource: "Widget.example.com", Reason: "not found"}}}
	html := string(blackfriday.Run([]byte(rep.Markdown(Warning)), blackfriday.WithExtensions(blackfriday.CommonExtensions)))
	for _, want := range []string{"<h1>Migration preflight: blue → green</h1>", "<strong>Not ready</strong>", "<h2>Warnings (1)</h2>",
		"<td>blocks | the drain</td>", "<h3>Not checked</h3>", "<td>Widget.example.com</td>", "<td>v1.37.2</td>"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
	if n := strings.Count(html, "<table>"); n != 5 {
		t.Errorf("%d tables, want 5 (clusters, summary, warnings, checks, not checked):\n%s", n, html)
	}
}
