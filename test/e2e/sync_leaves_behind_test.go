package e2e

import (
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
	// with tandem's hash.
	kubectlCreate(t, "green", deployment("external-dns", "registry.k8s.io/external-dns/external-dns:v0.15.1", "blue", `,"annotations":{"`+plan.HashAnnotation+`":"0123"}`))
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
