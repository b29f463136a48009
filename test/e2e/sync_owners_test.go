package e2e

import (
	"slices"
	"strings"
	"testing"
)

// A ConfigMap a Deployment owns without being its controller (a user's
// reference, for the garbage collector) comes in an earlier wave than its
// owner: the first sync writes it without the reference, as green has no
// such owner yet, and says so. The next sync adds the reference, pointed
// at green's Deployment; the one after finds it unchanged.
func TestSyncAddsOwnerReferencesOfALaterWave(t *testing.T) {
	const ns = "e2e-later-owner"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"`+ns+`"},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
"spec":{"containers":[{"name":"c","image":"registry.example/web:1"}]}}}}`)
	blueUID := mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.metadata.uid}")
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web-settings","namespace":"`+ns+`",
"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"`+blueUID+`"}]},"data":{"level":"info"}}`)

	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	cm, ok := out.find("ConfigMap", ns, "web-settings")
	if !ok || cm.Status != "created" || !slices.ContainsFunc(cm.Notes, func(n string) bool { return strings.Contains(n, "Deployment/web is not in the target") }) {
		t.Fatalf("first sync, ConfigMap: %+v (found %v); want created, with a note that its owner was not in green", cm, ok)
	}
	if refs := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "web-settings", "-o", "jsonpath={.metadata.ownerReferences}").stdout; refs != "" {
		t.Fatalf("first sync: green's ConfigMap has owner references %s; want none (its owner came after it)", refs)
	}

	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	if cm, ok = out.find("ConfigMap", ns, "web-settings"); !ok || cm.Status != "updated" || len(cm.Notes) != 0 {
		t.Fatalf("second sync, ConfigMap: %+v (found %v); want updated, without a note", cm, ok)
	}
	greenUID := mustKubectl(t, "--context", "green", "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.metadata.uid}")
	got := mustKubectl(t, "--context", "green", "-n", ns, "get", "configmap", "web-settings", "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].uid}")
	if want := "Deployment/web/" + greenUID; got != want || greenUID == blueUID {
		t.Fatalf("second sync: green's ConfigMap is owned by %q; want %q (green's Deployment, not blue's %s)", got, want, blueUID)
	}

	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	if cm, ok = out.find("ConfigMap", ns, "web-settings"); !ok || cm.Status != "unchanged" {
		t.Fatalf("third sync, ConfigMap: %+v (found %v); want unchanged", cm, ok)
	}
}
