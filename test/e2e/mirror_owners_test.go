package e2e

import (
	"fmt"
	"testing"
	"time"
)

// A mirror keeps the owner references an object has in the source,
// pointed at the owners' copies in green: those its initial pass writes,
// those of a change to an object whose owner is there already, and those of
// a new object whose owner comes with it (written first, it is written
// again once its owner is there).
func TestMirrorKeepsOwnerReferences(t *testing.T) {
	labAtRest(t)
	waitNoLiveMirror(t, "green")
	const ns = "mirror-owners-e2e"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
		}
	})
	deployment := func(name string) string {
		return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `","namespace":"` + ns + `"},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"` + name + `"}},"template":{"metadata":{"labels":{"app":"` + name + `"}},
"spec":{"containers":[{"name":"c","image":"registry.example/web:1"}]}}}}`
	}
	// configMap owned by a Deployment of blue, without being its controller.
	configMap := func(name, owner, uid string) string {
		return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","namespace":"` + ns + `",
"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"` + owner + `","uid":"` + uid + `"}]},"data":{"level":"info"}}`
	}
	blueUID := func(deployment string) string {
		return mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", deployment, "-o", "jsonpath={.metadata.uid}")
	}
	ownedInGreen := func(cm, deployment string) func() error {
		return func() error {
			uid := kubectl(t, "--context", "green", "-n", ns, "get", "deployment", deployment, "-o", "jsonpath={.metadata.uid}").stdout
			got := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", cm, "-o", "jsonpath={.metadata.ownerReferences[*].kind}/{.metadata.ownerReferences[*].name}/{.metadata.ownerReferences[*].uid}").stdout
			if want := "Deployment/" + deployment + "/" + uid; uid == "" || got != want {
				return fmt.Errorf("green's ConfigMap %s is owned by %q; want %q", cm, got, want)
			}
			return nil
		}
	}
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", deployment("web"))
	kubectlCreate(t, "blue", configMap("web-settings", "web", blueUID("web")))

	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "-n", ns, "--duration", "10m", "-v")
	run.waitFor(t, "initial pass done", 2*time.Minute)
	eventually(t, 30*time.Second, ownedInGreen("web-settings", "web"))

	// A change is written whole, its reference with it.
	mustKubectl(t, "--context", "blue", "-n", ns, "patch", "configmap", "web-settings", "--type=merge", "-p", `{"data":{"level":"debug"}}`)
	eventually(t, 30*time.Second, func() error {
		if v := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "web-settings", "-o", "jsonpath={.data.level}").stdout; v != "debug" {
			return fmt.Errorf("green's level %q", v)
		}
		return ownedInGreen("web-settings", "web")()
	})

	// A new Deployment and a ConfigMap it owns, made together: whichever
	// change the mirror writes first, the reference ends up in green.
	kubectlCreate(t, "blue", deployment("api"))
	kubectlCreate(t, "blue", configMap("api-settings", "api", blueUID("api")))
	eventually(t, 60*time.Second, ownedInGreen("api-settings", "api"))

	run.stop(t)
}

// An owner outside a mirror's selection when its initial pass writes a
// dependent (a label selector picks the ConfigMap, not the Deployment that
// owns it) leaves the reference out; once the owner is selected (labelled
// in blue) and the mirror creates it in green, the dependent is written
// again with the reference — no timer, no sync.
func TestMirrorAddsAnOwnerReferenceOnceTheOwnerIsCreated(t *testing.T) {
	labAtRest(t)
	waitNoLiveMirror(t, "green")
	const ns = "mirror-late-owner-e2e"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"late","namespace":"`+ns+`"},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"late"}},"template":{"metadata":{"labels":{"app":"late"}},
"spec":{"containers":[{"name":"c","image":"registry.example/web:1"}]}}}}`)
	uid := mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", "late", "-o", "jsonpath={.metadata.uid}")
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"late-settings","namespace":"`+ns+`","labels":{"mirror-e2e":"picked"},
"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"late","uid":"`+uid+`"}]},"data":{"level":"info"}}`)
	owner := func() string {
		return kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "late-settings", "-o", "jsonpath={.metadata.ownerReferences[*].kind}/{.metadata.ownerReferences[*].name}/{.metadata.ownerReferences[*].uid}").stdout
	}

	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "-n", ns, "-l", "mirror-e2e=picked", "--duration", "10m", "-v")
	run.waitFor(t, "initial pass done", 2*time.Minute)
	eventually(t, 30*time.Second, func() error {
		if got := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "late-settings", "-o", "name").stdout; got == "" {
			return fmt.Errorf("green has no ConfigMap late-settings yet")
		}
		return nil
	})
	if got := owner(); got != "//" {
		t.Fatalf("after the initial pass green's ConfigMap is owned by %q; want by nothing (its owner is not selected)", got)
	}

	mustKubectl(t, "--context", "blue", "-n", ns, "label", "deployment", "late", "mirror-e2e=picked")
	eventually(t, 30*time.Second, func() error {
		greenUID := kubectl(t, "--context", "green", "-n", ns, "get", "deployment", "late", "-o", "jsonpath={.metadata.uid}").stdout
		if want, got := "Deployment/late/"+greenUID, owner(); greenUID == "" || got != want {
			return fmt.Errorf("green's ConfigMap is owned by %q; want %q", got, want)
		}
		return nil
	})

	run.stop(t)
}
