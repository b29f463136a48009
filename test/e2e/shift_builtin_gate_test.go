package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic/providers/haproxy"
)

// A shift given no gate is watched by the router's own counters: green's
// Ingress has no ready endpoint (the lab ingress answers 503), so the first
// step fails and everything goes back to blue.
func TestShiftBuiltInRouterGate(t *testing.T) {
	labAtRest(t)
	shiftSetWeights(t, 100, 0)
	t.Cleanup(func() { shiftSetWeights(t, 100, 0) })
	ns := fmt.Sprintf("e2e-gate-%d", time.Now().Unix()%100000)
	mustKubectl(t, "--context", "green", "create", "namespace", ns)
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "namespace", ns, "--wait=false") })
	kubectlCreate(t, "green", fmt.Sprintf(`{"apiVersion":"v1","kind":"List","items":[
		{"apiVersion":"v1","kind":"Service","metadata":{"name":"down","namespace":%q},"spec":{"selector":{"app":"nothing"},"ports":[{"port":80}]}},
		{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"down","namespace":%q},"spec":{"rules":[{"host":"down.example",
		 "http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"down","port":{"number":80}}}}]}}]}}]}`, ns, ns))
	greenAddr := ""
	states, err := haproxy.Runtime{Socket: lab.socket}.Servers(context.Background(), "clusters")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Server == "green" {
			greenAddr = fmt.Sprintf("%s:%d", s.Address, s.Port)
		}
	}
	eventually(t, 30*time.Second, func() error {
		// Straight to green's lab ingress: 503, no ready endpoint behind the rule.
		if code, _, err := get(greenAddr, "down.example"); err != nil || code != 503 {
			return fmt.Errorf("green's ingress answers %d (%v) for down.example", code, err)
		}
		return nil
	})
	lg := startShiftLoad(lab.haproxy, "down.example", 50, 2*time.Minute)
	defer lg.stop()
	r := startShift(t, t.TempDir(), noLines, "--steps", "50,100", "--pause", "3s", "--gate-interval", "200ms")
	code := r.wait(t)
	stderr := r.stderr.String()
	if code != 1 || !strings.Contains(stderr, "no gate given: watching the router's own counters") || !strings.Contains(stderr, "router errors of green") {
		t.Fatalf("shift with no gate onto a failing green: exit %d\n%s", code, stderr)
	}
	rep := r.report(t)
	if !rep.RolledBack || len(rep.Steps) != 1 || rep.Steps[0].Percent != 50 {
		t.Fatalf("report: rolled back %v, steps %+v; want the 50%% step failed and rolled back", rep.RolledBack, rep.Steps)
	}
	if w := shiftRuntimeWeights(t); w["blue"] != 100 || w["green"] != 0 {
		t.Fatalf("weights after the rollback: %v", w)
	}
}
