package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A mirror of one namespace follows what the namespace brings along
// outside it, as `sync -n` copies it: the ClusterRoles its bindings name
// (changed later, or created after the binding that names them), a
// ClusterRoleBinding of its ServiceAccount; not a ClusterRole nothing of
// it names. Seed 003's standby is kept in step this way.
func TestMirrorFollowsWhatANamespaceBringsAlong(t *testing.T) {
	labAtRest(t)
	waitNoLiveMirror(t, "green")
	const ns, ops, shared, later, early = "mirror-deps-e2e", "mirror-deps-e2e-ops", "mirror-deps-e2e-shared", "mirror-deps-e2e-later", "mirror-deps-e2e-early"
	role := func(s string) string { return ns + "-" + s }
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, ops, shared, later, early, "--wait=false", "--ignore-not-found")
			kubectl(t, "--context", c, "delete", "crd", "widgets.e2e.tandem.io", "--ignore-not-found", "--wait=false")
			kubectl(t, "--context", c, "delete", "clusterrole", role("read"), role("late"), role("crb"), role("unrelated"), role("helm"),
				role("agg"), role("part-before"), role("part-after"), role("not-a-part"), role("edge-view"), role("other-view"), "--ignore-not-found")
			kubectl(t, "--context", c, "delete", "clusterrolebinding", role("crb"), role("before-sa"), "--ignore-not-found")
			kubectl(t, "--context", c, "delete", "ingressclass", role("class-after"), role("class-before"), role("other-app"), "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "serviceaccount", "app")
	mustKubectl(t, "--context", "blue", "create", "clusterrole", role("read"), "--verb=get", "--resource=configmaps")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "rolebinding", "read", "--clusterrole="+role("read"), "--serviceaccount="+ns+":app")

	// A custom resource of the namespace names a ConfigMap in another one.
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "widget-crd.yaml", widgetCRD))
	mustKubectl(t, "--context", "blue", "wait", "--for=condition=established", "crd/widgets.e2e.tandem.io", "--timeout=60s")
	mustKubectl(t, "--context", "blue", "create", "namespace", shared)
	mustKubectl(t, "--context", "blue", "-n", shared, "create", "configmap", "settings", "--from-literal=v=1")
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "w1.yaml", widget(ns, "w1", shared, "settings")))

	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "-n", ns, "--prune",
		"--duration", "10m", "--progress-every", "2s", "-v")
	run.waitFor(t, "initial pass done", 2*time.Minute)
	verbs := func(ctx, name string) string {
		return kubectl(t, "--context", ctx, "get", "clusterrole", name, "-o", "jsonpath={.rules[0].verbs}").stdout
	}
	inGreen := func(what ...string) func() error {
		return func() error {
			if r := kubectl(t, append([]string{"--context", "green", "get", "-o", "name"}, what...)...); r.code != 0 {
				return fmt.Errorf("%s not in green yet", strings.Join(what, " "))
			}
			return nil
		}
	}
	eventually(t, 30*time.Second, inGreen("clusterrole", role("read")))

	t.Run("a change to a ClusterRole the namespace's binding names is mirrored", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "patch", "clusterrole", role("read"), "--type=json",
			"-p", `[{"op":"add","path":"/rules/0/verbs/-","value":"list"}]`)
		eventually(t, 30*time.Second, func() error {
			if v := verbs("green", role("read")); !strings.Contains(v, "list") {
				return fmt.Errorf("green's verbs %s", v)
			}
			return nil
		})
	})

	t.Run("a ClusterRole created after the binding that names it comes along", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "-n", ns, "create", "rolebinding", "late", "--clusterrole="+role("late"), "--serviceaccount="+ns+":app")
		eventually(t, 30*time.Second, inGreen("-n", ns, "rolebinding", "late"))
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("late"), "--verb=watch", "--resource=secrets")
		eventually(t, 30*time.Second, inGreen("clusterrole", role("late")))
	})

	t.Run("a ClusterRoleBinding of the namespace's ServiceAccount comes along, with its ClusterRole; an unrelated ClusterRole does not", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("unrelated"), "--verb=get", "--resource=pods")
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("crb"), "--verb=get", "--resource=services")
		mustKubectl(t, "--context", "blue", "create", "clusterrolebinding", role("crb"), "--clusterrole="+role("crb"), "--serviceaccount="+ns+":app")
		eventually(t, 30*time.Second, inGreen("clusterrolebinding", role("crb")))
		eventually(t, 30*time.Second, inGreen("clusterrole", role("crb")))
		for _, want := range []string{
			"why=\"ClusterRoleBinding of ServiceAccount " + ns + "/app\"",
			"why=\"ClusterRole referenced by ClusterRoleBinding " + role("crb") + "\"",
		} {
			if !strings.Contains(run.log(), want) {
				t.Errorf("the mirror's log does not say %s:\n%s", want, run.log())
			}
		}
		// Queued before the binding's objects, which are in green: it has
		// been looked at. It stays out.
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if r := kubectl(t, "--context", "green", "get", "clusterrole", role("unrelated"), "-o", "name"); r.code == 0 {
				t.Fatalf("a ClusterRole nothing in %s names was mirrored", ns)
			}
		}
	})

	t.Run("a RoleBinding of the namespace's ServiceAccount in another namespace comes along, with its Role and namespace", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "create", "namespace", ops)
		mustKubectl(t, "--context", "blue", "-n", ops, "create", "role", "r", "--verb=get", "--resource=configmaps")
		mustKubectl(t, "--context", "blue", "-n", ops, "create", "rolebinding", "x", "--role=r", "--serviceaccount="+ns+":app")
		eventually(t, 30*time.Second, inGreen("-n", ops, "rolebinding", "x"))
		eventually(t, 30*time.Second, inGreen("-n", ops, "role", "r"))
	})

	t.Run("a ClusterRoleBinding that named a ServiceAccount before it existed comes along with it", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "create", "clusterrolebinding", role("before-sa"), "--clusterrole="+role("read"), "--serviceaccount="+ns+":late")
		mustKubectl(t, "--context", "blue", "-n", ns, "create", "serviceaccount", "late")
		eventually(t, 30*time.Second, inGreen("-n", ns, "serviceaccount", "late"))
		eventually(t, 30*time.Second, inGreen("clusterrolebinding", role("before-sa")))
	})

	t.Run("a RoleBinding in another namespace that named a ServiceAccount before it existed comes along with it", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "create", "namespace", early)
		mustKubectl(t, "--context", "blue", "-n", early, "create", "role", "r", "--verb=list", "--resource=secrets")
		mustKubectl(t, "--context", "blue", "-n", early, "create", "rolebinding", "x", "--role=r", "--serviceaccount="+ns+":later-sa")
		time.Sleep(2 * time.Second) // its own event looked at, before the ServiceAccount: not brought
		if r := kubectl(t, "--context", "green", "-n", early, "get", "rolebinding", "x", "-o", "name"); r.code == 0 {
			t.Fatalf("a RoleBinding of a ServiceAccount that does not exist yet was mirrored")
		}
		mustKubectl(t, "--context", "blue", "-n", ns, "create", "serviceaccount", "later-sa")
		eventually(t, 30*time.Second, inGreen("-n", early, "rolebinding", "x"))
		eventually(t, 30*time.Second, inGreen("-n", early, "role", "r"))
	})

	t.Run("a ConfigMap in another namespace that a custom resource names is followed", func(t *testing.T) {
		// changeFollowed changes ns/settings in blue and waits for green's.
		changeFollowed := func(ns, v string) {
			mustKubectl(t, "--context", "blue", "-n", ns, "patch", "configmap", "settings", "-p", `{"data":{"v":"`+v+`"}}`)
			eventually(t, 30*time.Second, func() error {
				if got := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.v}").stdout; got != v {
					return fmt.Errorf("green's %s/settings v=%q", ns, got)
				}
				return nil
			})
		}
		// Copied by the initial pass, then watched: its change is mirrored.
		eventually(t, 30*time.Second, inGreen("-n", shared, "configmap", "settings"))
		changeFollowed(shared, "2")
		// Named by a change, in a namespace nothing watched yet.
		mustKubectl(t, "--context", "blue", "create", "namespace", later)
		mustKubectl(t, "--context", "blue", "-n", later, "create", "configmap", "settings", "--from-literal=v=1")
		mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "w2.yaml", widget(ns, "w2", later, "settings")))
		eventually(t, 30*time.Second, inGreen("-n", later, "configmap", "settings"))
		changeFollowed(later, "3")
	})

	t.Run("a cluster-scoped object of a Helm release in the namespace comes along", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("helm"), "--verb=get", "--resource=nodes")
		mustKubectl(t, "--context", "blue", "annotate", "clusterrole", role("helm"),
			"meta.helm.sh/release-name=app", "meta.helm.sh/release-namespace="+ns)
		eventually(t, 30*time.Second, inGreen("clusterrole", role("helm")))
		if want := `why="ClusterRole ` + role("helm") + ` of Helm release ` + ns + `/app"`; !strings.Contains(run.log(), want) {
			t.Errorf("the mirror's log does not say %s:\n%s", want, run.log())
		}
	})

	t.Run("the IngressClass labelled as the app of a workload in the namespace comes along, created after or before it", func(t *testing.T) {
		ingressClass := func(name, instance string) string {
			return `{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"name":"` + name + `",
"labels":{"app.kubernetes.io/name":"edge","app.kubernetes.io/instance":"` + instance + `"}},"spec":{"controller":"example.com/` + name + `"}}`
		}
		controller := func(name, instance string) string {
			return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `","namespace":"` + ns + `",
"labels":{"app.kubernetes.io/name":"edge","app.kubernetes.io/instance":"` + instance + `"}},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"` + name + `"}},"template":{"metadata":{"labels":{"app":"` + name + `"}},
"spec":{"containers":[{"name":"c","image":"registry.example/edge:1"}]}}}}`
		}
		// A static manifest applied in order: the controller, then its class.
		kubectlCreate(t, "blue", controller("edge-a", "a"))
		eventually(t, 30*time.Second, inGreen("-n", ns, "deployment", "edge-a"))
		kubectlCreate(t, "blue", ingressClass(role("class-after"), "a"))
		eventually(t, 30*time.Second, inGreen("ingressclass", role("class-after")))
		// The class first, then the controller.
		kubectlCreate(t, "blue", ingressClass(role("class-before"), "b"))
		kubectlCreate(t, "blue", ingressClass(role("other-app"), "c"))
		kubectlCreate(t, "blue", controller("edge-b", "b"))
		eventually(t, 30*time.Second, inGreen("ingressclass", role("class-before")))
		if r := kubectl(t, "--context", "green", "get", "ingressclass", role("other-app"), "-o", "name"); r.code == 0 {
			t.Errorf("the class of an app with no workload in %s came along", ns)
		}
	})

	t.Run("an aggregated ClusterRole the namespace's binding names brings the ClusterRoles it gathers, one made later too", func(t *testing.T) {
		const label = "e2e.tandem.io/aggregate-to-agg"
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("agg"), "--aggregation-rule="+label+"=true")
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("part-before"), "--verb=get", "--resource=configmaps")
		mustKubectl(t, "--context", "blue", "label", "clusterrole", role("part-before"), label+"=true")
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("not-a-part"), "--verb=get", "--resource=secrets")
		mustKubectl(t, "--context", "blue", "label", "clusterrole", role("not-a-part"), label+"=false")
		mustKubectl(t, "--context", "blue", "-n", ns, "create", "rolebinding", "agg", "--clusterrole="+role("agg"), "--serviceaccount="+ns+":app")
		eventually(t, 30*time.Second, inGreen("clusterrole", role("agg"), role("part-before")))
		// An operator's upgrade adds a ClusterRole to the aggregated one.
		mustKubectl(t, "--context", "blue", "create", "clusterrole", role("part-after"), "--verb=list", "--resource=configmaps")
		mustKubectl(t, "--context", "blue", "label", "clusterrole", role("part-after"), label+"=true")
		eventually(t, 30*time.Second, inGreen("clusterrole", role("part-after")))
		// green's aggregation controller gathered both into the copy.
		eventually(t, 30*time.Second, func() error {
			if got := kubectl(t, "--context", "green", "get", "clusterrole", role("agg"), "-o", "jsonpath={.rules[*].verbs}").stdout; !strings.Contains(got, "get") || !strings.Contains(got, "list") {
				return fmt.Errorf("green's %s has rules %s", role("agg"), got)
			}
			return nil
		})
		if r := kubectl(t, "--context", "green", "get", "clusterrole", role("not-a-part"), "-o", "name"); r.code == 0 {
			t.Errorf("a ClusterRole the aggregated one does not gather came along")
		}
	})

	t.Run("a ClusterRole labelled as the app of a workload in the namespace and gathered into view comes along", func(t *testing.T) {
		viewRole := func(name, instance string) string {
			return `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"` + name + `",
"labels":{"app.kubernetes.io/name":"edge","app.kubernetes.io/instance":"` + instance + `","rbac.authorization.k8s.io/aggregate-to-view":"true"}},
"rules":[{"apiGroups":["e2e.tandem.io"],"resources":["widgets"],"verbs":["get","list","watch"]}]}`
		}
		kubectlCreate(t, "blue", viewRole(role("edge-view"), "a")) // edge-a runs in the namespace (the subtest above)
		kubectlCreate(t, "blue", viewRole(role("other-view"), "c"))
		eventually(t, 30*time.Second, inGreen("clusterrole", role("edge-view")))
		if r := kubectl(t, "--context", "green", "get", "clusterrole", role("other-view"), "-o", "name"); r.code == 0 {
			t.Errorf("the view role of an app with no workload in %s came along", ns)
		}
	})

	t.Run("a deleted ClusterRole the namespace brought along is pruned", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "delete", "clusterrole", role("late"))
		eventually(t, 30*time.Second, func() error {
			if r := kubectl(t, "--context", "green", "get", "clusterrole", role("late"), "-o", "name"); r.code == 0 {
				return fmt.Errorf("%s still in green", role("late"))
			}
			return nil
		})
	})

	run.stop(t)
}

// widgetCRD serves a namespaced kind whose spec may name other objects.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.e2e.tandem.io}
spec:
  group: e2e.tandem.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// widget is a Widget in ns that names the ConfigMap refNS/ref by kind and name.
func widget(ns, name, refNS, ref string) string {
	return fmt.Sprintf(`{"apiVersion":"e2e.tandem.io/v1","kind":"Widget","metadata":{"name":%q,"namespace":%q},
"spec":{"configRef":{"kind":"ConfigMap","name":%q,"namespace":%q}}}`, name, ns, ref, refNS)
}
