package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// The Helm chart, rendered by helm, is accepted by a real apiserver: a
// server-side dry-run apply of every object (CRDs, RBAC, Deployment, Service)
// into green.
func TestChartServerSideDryRun(t *testing.T) {
	out := helmTemplate(t, filepath.Join("..", "..", "charts", "tandem"), ctlNS, "--include-crds", "--set", "shard=team=a")
	f := writeManifest(t, "chart.yaml", string(out))
	if r := kubectl(t, "--context", "green", "get", "namespace", ctlNS); r.code != 0 {
		mustKubectl(t, "--context", "green", "create", "namespace", ctlNS)
	}
	r := kubectl(t, "--context", "green", "apply", "--server-side", "--dry-run=server", "--field-manager", "helm", "-f", f)
	if r.code != 0 {
		t.Fatalf("server-side dry-run apply of the chart: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"customresourcedefinition.apiextensions.k8s.io/switchovers.tandem.io", "deployment.apps/tandem", "clusterrole.rbac.authorization.k8s.io/tandem", "service/tandem-metrics"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry-run output lacks %s:\n%s", want, r.stdout)
		}
	}
}
