package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/internal/labtest"
)

// The Helm chart, rendered by helm, is accepted by a real apiserver: a
// server-side dry-run apply of every object (CRDs, RBAC, Deployment, Service)
// into green.
func TestChartServerSideDryRun(t *testing.T) {
	helm := labtest.Helm(t)
	home := t.TempDir()
	cmd := exec.Command(helm, "template", "tandem", filepath.Join("..", "..", "charts", "tandem"),
		"--namespace", ctlNS, "--include-crds", "--set", "shard=team=a")
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	f := filepath.Join(t.TempDir(), "chart.yaml")
	if err := os.WriteFile(f, out, 0o644); err != nil {
		t.Fatal(err)
	}
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
