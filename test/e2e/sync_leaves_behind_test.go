package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/plan"
)

// An ExternalDNS Deployment is not copied: a copy in green would run as
// blue's owner of the DNS records. The app beside it is copied. A copy an
// earlier tandem made in green is named, to be deleted there, and listed
// without -v; green's own ExternalDNS is left alone.
func TestSyncLeavesExternalDNSBehind(t *testing.T) {
	const ns = "e2e-leave-dns"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	deployment := func(name, image, owner, annotations string) string {
		return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `","namespace":"` + ns + `"` + annotations + `},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"` + name + `"}},"template":{"metadata":{"labels":{"app":"` + name + `"}},
"spec":{"containers":[{"name":"c","image":"` + image + `","args":["--source=ingress","--provider=aws","--txt-owner-id=` + owner + `"]}]}}}}`
	}
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", deployment("external-dns", "registry.k8s.io/external-dns/external-dns:v0.15.1", "blue", ""))
	kubectlCreate(t, "blue", deployment("web", "registry.example/web:1", "", ""))

	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	dns, ok := out.find("Deployment", ns, "external-dns")
	if !ok || dns.Status != "skipped" || !strings.Contains(dns.Reason, `runs ExternalDNS as owner "blue"`) {
		t.Fatalf("ExternalDNS: %+v (found %v); want skipped, naming its owner id", dns, ok)
	}
	if web, ok := out.find("Deployment", ns, "web"); !ok || web.Status != "created" {
		t.Fatalf("the app beside it: %+v (found %v); want created", web, ok)
	}
	if r := kubectl(t, "--context", "green", "-n", ns, "get", "deployment", "external-dns"); r.code == 0 {
		t.Fatalf("green has blue's ExternalDNS:\n%s", r.stdout)
	}

	// What an earlier tandem would have left: blue's ExternalDNS in green,
	// created by tandem, with its hash.
	kubectlCreateAs(t, "green", plan.CreateManager, deployment("external-dns", "registry.k8s.io/external-dns/external-dns:v0.15.1", "blue", `,"annotations":{"`+plan.HashAnnotation+`":"0123"}`))
	r := tandem(t, syncArgs(t.TempDir(), "--namespace", ns, "--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "external-dns") || !strings.Contains(r.stdout, plan.LeftInTarget) {
		t.Fatalf("dry run with a copy left in green: exit %d; want it listed (without -v) with %q\n%s%s", r.code, plan.LeftInTarget, r.stdout, r.stderr)
	}
	// green's own ExternalDNS (no hash of tandem's): skipped, nothing to say.
	mustKubectl(t, "--context", "green", "-n", ns, "delete", "deployment", "external-dns")
	kubectlCreate(t, "green", deployment("external-dns", "registry.k8s.io/external-dns/external-dns:v0.15.1", "green", ""))
	out, _ = syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	if dns, ok := out.find("Deployment", ns, "external-dns"); !ok || dns.Status != "skipped" || slices.Contains(dns.Notes, plan.LeftInTarget) {
		t.Fatalf("with green's own ExternalDNS: %+v (found %v); want skipped, no note", dns, ok)
	}
	if got := kubectl(t, "--context", "green", "-n", ns, "get", "deployment", "external-dns", "-o", "jsonpath={.spec.template.spec.containers[0].args}").stdout; !strings.Contains(got, "--txt-owner-id=green") {
		t.Fatalf("green's own ExternalDNS was changed: args %s", got)
	}
}

// A run (an Argo Workflow) is not copied: a copy without its status would
// run again in green. One an earlier tandem copied into green is named, to
// be deleted there, though sync never writes that kind: green's copies of
// a skipped kind are read all the same.
func TestSyncNamesARunLeftInTheTarget(t *testing.T) {
	const ns, crd = "e2e-leave-run", "workflows.argoproj.io"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--timeout=120s")
			kubectl(t, "--context", c, "delete", "crd", crd, "--ignore-not-found", "--timeout=120s")
		}
	})
	for _, c := range []string{"blue", "green"} {
		kubectlCreate(t, c, `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+crd+`"},
"spec":{"group":"argoproj.io","scope":"Namespaced","names":{"plural":"workflows","singular":"workflow","kind":"Workflow"},
"versions":[{"name":"v1alpha1","served":true,"storage":true,"subresources":{"status":{}},
"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
		mustKubectl(t, "--context", c, "wait", "--for", "condition=established", "--timeout=60s", "crd/"+crd)
		mustKubectl(t, "--context", c, "create", "namespace", ns)
	}
	workflow := func(name, annotations string) string {
		return `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"` + name + `","namespace":"` + ns + `"` + annotations + `},
"spec":{"entrypoint":"main","templates":[{"name":"main","container":{"image":"registry.example/migrate:1"}}]}}`
	}
	kubectlCreate(t, "blue", workflow("migrate", ""))
	kubectlCreate(t, "blue", workflow("report", ""))
	// What an earlier tandem would have left in green: a copy it created, with its hash.
	kubectlCreateAs(t, "green", plan.CreateManager, workflow("migrate", `,"annotations":{"`+plan.HashAnnotation+`":"0123"}`))
	// green's own run of the same name as blue's other one: not tandem's.
	kubectlCreate(t, "green", workflow("report", ""))

	r := tandem(t, syncArgs(t.TempDir(), "--namespace", ns, "--dry-run")...)
	if r.code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var migrate, report string
	for _, line := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.Contains(line, "Workflow") && strings.Contains(line, "migrate"):
			migrate = line
		case strings.Contains(line, "Workflow") && strings.Contains(line, "report"):
			report = line
		}
	}
	if !strings.Contains(migrate, plan.LeftInTarget) {
		t.Errorf("the copy an earlier tandem left in green is not named with %q (listed without -v):\n%s", plan.LeftInTarget, r.stdout)
	}
	if strings.Contains(report, plan.LeftInTarget) {
		t.Errorf("green's own run is named as a copy to delete:\n%s", r.stdout)
	}
	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	for _, name := range []string{"migrate", "report"} {
		if row, ok := out.find("Workflow", ns, name); !ok || row.Status != "skipped" {
			t.Errorf("Workflow %s: %+v (found %v); want skipped", name, row, ok)
		}
	}
	if got := kubectl(t, "--context", "green", "-n", ns, "get", "workflow", "migrate", "-o", "jsonpath={.metadata.annotations}").stdout; !strings.Contains(got, "0123") {
		t.Errorf("sync changed the copy in green (it must only name it): annotations %s", got)
	}
}

// A finalizer an operator added is not copied: green's copy would wait
// forever, once deleted, for an operator that may not run there. The one
// the manifest lists is the user's, and is copied; a second sync writes
// nothing.
func TestSyncLeavesControllersFinalizersBehind(t *testing.T) {
	const ns, name = "e2e-leave-finalizer", "settings"
	const users, operators = "example.com/keep-backup", "example.com/operator-cleanup"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "-n", ns, "patch", "configmap", name, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"`+name+`","namespace":"`+ns+`","finalizers":["`+users+`"]},"data":{"k":"v"}}`)
	// What a reconciler does on its first pass: add its finalizer, under its own field manager.
	mustKubectl(t, "--context", "blue", "-n", ns, "patch", "configmap", name, "--field-manager=settings-operator", "--type=json",
		"-p", `[{"op":"add","path":"/metadata/finalizers/-","value":"`+operators+`"}]`)

	jd := t.TempDir()
	out, _ := syncJSON(t, jd, 0, "--namespace", ns)
	row, ok := out.find("ConfigMap", ns, name)
	if !ok || row.Status != "created" || !slices.ContainsFunc(row.Notes, func(n string) bool {
		return strings.Contains(n, "finalizer "+operators+" dropped") && strings.Contains(n, "settings-operator")
	}) {
		t.Fatalf("ConfigMap %s: %+v (found %v); want created, with a note naming the operator's finalizer and its manager", name, row, ok)
	}
	if got := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", name, "-o", "jsonpath={.metadata.finalizers}").stdout; got != `["`+users+`"]` {
		t.Fatalf("green's copy has finalizers %s, want only the manifest's %s", got, users)
	}
	// green's own operator adds its finalizer to the copy: that makes the
	// copy no one else's, and the next sync has nothing to write.
	mustKubectl(t, "--context", "green", "-n", ns, "patch", "configmap", name, "--field-manager=settings-operator", "--type=json",
		"-p", `[{"op":"add","path":"/metadata/finalizers/-","value":"`+operators+`"}]`)
	again, _ := syncJSON(t, jd, 0, "--namespace", ns)
	if row, ok := again.find("ConfigMap", ns, name); !ok || row.Status != "unchanged" || row.Reason != "" || row.Why != "" {
		t.Fatalf("second sync: %+v (found %v); want unchanged, nothing said of green's operator", row, ok)
	}
	forced, _ := syncJSON(t, jd, 0, "--namespace", ns, "--force")
	if row, ok := forced.find("ConfigMap", ns, name); !ok || row.Status != "unchanged" {
		t.Fatalf("sync --force: %+v (found %v); want unchanged: green's operator owns none of what sync copies", row, ok)
	}
	if got := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", name, "-o", "jsonpath={.metadata.finalizers}").stdout; got != `["`+users+`","`+operators+`"]` {
		t.Fatalf("green's copy has finalizers %s after the syncs, want the manifest's and green's operator's", got)
	}
}

// Naming kube-system asks for it, but the accounts of the control plane's
// own controllers (those its bootstrap RBAC binds) stay behind: the
// target's control plane has its own, for its version (green's has no
// service-controller, which blue's v1.30 still makes).
func TestSyncLeavesTheControlPlanesAccountsBehind(t *testing.T) {
	r := tandem(t, syncArgs(t.TempDir(), "--namespace", "kube-system", "--include-kinds", "ServiceAccount", "--dry-run", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("sync --dry-run -n kube-system: exit %d\n%s", r.code, r.stderr)
	}
	var out syncOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("sync -o json: %v\n%s", err, r.stdout)
	}
	row, ok := out.find("ServiceAccount", "kube-system", "deployment-controller")
	if !ok || row.Action != "skip" || !strings.Contains(row.Reason, "the control plane's own account") {
		t.Errorf("kube-system/deployment-controller: %+v (listed %v); want skipped as the control plane's own", row, ok)
	}
	for _, s := range out.Steps {
		if s.Kind == "ServiceAccount" && strings.HasSuffix(s.Name, "-controller") && s.Action != "skip" {
			t.Errorf("the control plane's account %s/%s would be written: %+v", s.Namespace, s.Name, s)
		}
	}
}
