package e2e

import (
	"slices"
	"strings"
	"testing"
)

// A ConfigMap a Deployment owns without being its controller (a user's
// reference, for the garbage collector) comes in an earlier wave than its
// owner: the sync writes it without the reference, as green has no such
// owner yet, and once the waves are done writes it again with the
// reference pointed at green's Deployment — one run. An owner left out of
// a sync (here by --exclude-kinds) is not in green at all: the reference
// is dropped, said in a note (green's own object of the owner's name is not
// taken for it), a sync that still leaves the owner out leaves the copy as
// it is (but for a field another manager took since), and the next sync that brings the owner adds it. The run after
// finds it unchanged.
func TestSyncAddsOwnerReferencesOfALaterWave(t *testing.T) {
	const ns = "e2e-later-owner"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	deployment := func(name string) string {
		return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `","namespace":"` + ns + `"},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"` + name + `"}},"template":{"metadata":{"labels":{"app":"` + name + `"}},
"spec":{"containers":[{"name":"c","image":"registry.example/web:1"}]}}}}`
	}
	ownedBy := func(cm, owner string) {
		uid := mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", owner, "-o", "jsonpath={.metadata.uid}")
		kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"`+cm+`","namespace":"`+ns+`",
"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"`+owner+`","uid":"`+uid+`"}]},"data":{"level":"info"}}`)
	}
	// green's owner of a ConfigMap, as its references name it.
	owner := func(cm string) string {
		return kubectl(t, "--context", "green", "-n", ns, "get", "configmap", cm, "-o", "jsonpath={.metadata.ownerReferences[*].kind}/{.metadata.ownerReferences[*].name}/{.metadata.ownerReferences[*].uid}").stdout
	}
	greenUID := func(deployment string) string {
		return mustKubectl(t, "--context", "green", "-n", ns, "get", "deployment", deployment, "-o", "jsonpath={.metadata.uid}")
	}
	hasNote := func(r syncRow, part string) bool {
		return slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, part) })
	}
	kubectlCreate(t, "blue", deployment("web"))
	ownedBy("web-settings", "web")

	// The Deployments left out: the reference cannot be kept, and is not —
	// not even to a Deployment of green's own of that name, which is not
	// blue's copy (its garbage collection would take the ConfigMap along).
	mustKubectl(t, "--context", "green", "create", "namespace", ns)
	kubectlCreate(t, "green", deployment("web"))
	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns, "--exclude-kinds", "Deployment.apps")
	cm, ok := out.find("ConfigMap", ns, "web-settings")
	if !ok || cm.Status != "created" || !hasNote(cm, "Deployment/web is not in the target: reference dropped") {
		t.Fatalf("sync without the Deployments, ConfigMap: %+v (found %v); want created, with a note that its owner is not in green", cm, ok)
	}
	if got := owner("web-settings"); got != "//" {
		t.Fatalf("sync without the Deployments: green's ConfigMap is owned by %q; want by nothing", got)
	}
	// Again without them: the copy is as the last run left it, and is
	// not written again (an owner never copied costs no write per run).
	rv := mustKubectl(t, "--context", "green", "-n", ns, "get", "configmap", "web-settings", "-o", "jsonpath={.metadata.resourceVersion}")
	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns, "--exclude-kinds", "Deployment.apps")
	if cm, ok := out.find("ConfigMap", ns, "web-settings"); !ok || cm.Status != "unchanged" || !hasNote(cm, "Deployment/web is not in the target: reference dropped") {
		t.Fatalf("second sync without the Deployments, ConfigMap: %+v (found %v); want unchanged, with the note that its owner is not in green", cm, ok)
	}
	if now := mustKubectl(t, "--context", "green", "-n", ns, "get", "configmap", "web-settings", "-o", "jsonpath={.metadata.resourceVersion}"); now != rv {
		t.Fatalf("second sync without the Deployments wrote green's ConfigMap (resourceVersion %s → %s)", rv, now)
	}
	// Unless someone changed it in green since: that is a conflict, and
	// --force takes the field back, as for any copy.
	mustKubectl(t, "--context", "green", "-n", ns, "patch", "configmap", "web-settings", "--type=merge", "-p", `{"data":{"level":"debug"}}`)
	out, _ = syncJSON(t, t.TempDir(), 1, "--namespace", ns, "--exclude-kinds", "Deployment.apps")
	if cm, ok := out.find("ConfigMap", ns, "web-settings"); !ok || cm.Status != "conflict" {
		t.Fatalf("sync without the Deployments after green's edit, ConfigMap: %+v (found %v); want conflict", cm, ok)
	}
	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns, "--exclude-kinds", "Deployment.apps", "--force")
	if cm, ok := out.find("ConfigMap", ns, "web-settings"); !ok || cm.Status != "updated" {
		t.Fatalf("sync --force without the Deployments after green's edit, ConfigMap: %+v (found %v); want updated", cm, ok)
	}
	if level := mustKubectl(t, "--context", "green", "-n", ns, "get", "configmap", "web-settings", "-o", "jsonpath={.data.level}"); level != "info" {
		t.Fatalf("after sync --force green's level is %q, want blue's info", level)
	}

	// The next sync brings the owner (a later wave than its ConfigMap) and
	// adds the reference; a new pair does the same in one run.
	mustKubectl(t, "--context", "green", "-n", ns, "delete", "deployment", "web")
	kubectlCreate(t, "blue", deployment("api"))
	ownedBy("api-settings", "api")
	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	for _, c := range []struct{ cm, deployment, status string }{{"web-settings", "web", "updated"}, {"api-settings", "api", "created"}} {
		cm, ok := out.find("ConfigMap", ns, c.cm)
		if !ok || cm.Status != c.status || !hasNote(cm, "owner references added once their owners were written") || hasNote(cm, "reference dropped") {
			t.Fatalf("full sync, ConfigMap %s: %+v (found %v); want %s, with a note that its owner's reference was added", c.cm, cm, ok, c.status)
		}
		uid := greenUID(c.deployment)
		if got, want := owner(c.cm), "Deployment/"+c.deployment+"/"+uid; got != want {
			t.Fatalf("full sync: green's ConfigMap %s is owned by %q; want %q (green's Deployment)", c.cm, got, want)
		}
	}

	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	for _, name := range []string{"web-settings", "api-settings"} {
		if cm, ok := out.find("ConfigMap", ns, name); !ok || cm.Status != "unchanged" {
			t.Fatalf("sync after, ConfigMap %s: %+v (found %v); want unchanged", name, cm, ok)
		}
	}
}
