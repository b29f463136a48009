package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	drainFirstNS = "e2e-drain-first"
	// drainFirstPool is the test's own node pool: the only nodes it drains.
	drainFirstPool = "drainfirst"
	// drainFirstTaint keeps every pod but the test's off its pool (DaemonSet
	// pods aside, which drains leave), so the drain evicts only the test's pods.
	drainFirstTaint = "e2e-drain-first=only:NoSchedule"
)

// drainFirstDeploy is a Deployment of the test's pinned to its pool.
func drainFirstDeploy(name string, replicas int, labels string) string {
	return fmt.Sprintf(`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {%[4]s}}
  template:
    metadata: {labels: {%[4]s}}
    spec:
      nodeSelector: {tandem.io/pool: %[5]s}
      tolerations:
      - {key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}
      - {key: e2e-drain-first, operator: Equal, value: only, effect: NoSchedule}
      containers: [{name: %[1]s, image: nginx}]
`, name, drainFirstNS, replicas, labels, drainFirstPool)
}

// drainFirstReport is the part of `tandem drain -o json` this test reads.
type drainFirstReport struct {
	Completed bool
	Planned   []string
	First     []struct {
		Pod string
		Why []struct{ Controller, Selector string }
	}
	Classes []struct{ Kind, Name, Outcome string }
	Events  []struct {
		Kind, Phase, Pod string
		Time             time.Time
	}
}

// With no --first, a drain evicts every ingress controller it knows by its
// labels (here Traefik's and Contour's, which have no class in the lab) before
// any other pod, and its dry run says which pods go first and why.
func TestDrainEvictsEveryIngressControllerFirst(t *testing.T) {
	journalDir := t.TempDir()
	pool := "tandem.io/pool=" + drainFirstPool
	mustTandem(t, "lab", "nodes", "add", "--dir", lab.dir, "--cluster", "blue", "--pool", drainFirstPool, "--count", "2")
	t.Cleanup(func() {
		// Each step runs even if one before it failed: undo the drain, then
		// remove the namespace and the pool so no later test sees them.
		if r := tandem(t, "drain", "--cluster", "blue", "--nodes", pool, "--undo", "--journal-dir", journalDir); r.code != 0 {
			t.Errorf("drain --undo: exit %d\n%s", r.code, r.stderr)
		}
		if r := kubectl(t, "--context", "blue", "delete", "namespace", drainFirstNS, "--ignore-not-found", "--timeout=2m"); r.code != 0 {
			t.Errorf("delete namespace %s: exit %d\n%s", drainFirstNS, r.code, r.stderr)
		}
		if r := kubectl(t, "--context", "blue", "delete", "nodes", "-l", pool); r.code != 0 {
			t.Errorf("delete the %s nodes: exit %d\n%s", drainFirstPool, r.code, r.stderr)
		}
	})
	mustKubectl(t, "--context", "blue", "taint", "nodes", "-l", pool, drainFirstTaint, "--overwrite")

	manifests := "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + drainFirstNS + "}\n" +
		drainFirstDeploy("traefik", 1, "app.kubernetes.io/name: traefik") +
		drainFirstDeploy("contour", 1, "app.kubernetes.io/name: contour") +
		drainFirstDeploy("web", 2, "app: first-web")
	f := filepath.Join(t.TempDir(), "drain-first.yaml")
	if err := os.WriteFile(f, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "--context", "blue", "apply", "-f", f)
	waitDeploymentsReady(t, "blue", drainFirstNS, map[string]int{"traefik": 1, "contour": 1, "web": 2})

	args := []string{"drain", "--cluster", "blue", "--nodes", pool, "--journal-dir", journalDir, "-o", "json"}
	// The dry run: both controllers first, each with why; the app after them.
	plan := drainFirstJSON(t, tandem(t, append(args, "--dry-run")...), 0)
	controller := map[string]string{}
	for _, p := range plan.First {
		var names []string
		for _, w := range p.Why {
			names = append(names, w.Controller)
		}
		controller[p.Pod] = strings.Join(names, ",")
	}
	want := map[string]string{"traefik": "Traefik", "contour": "Contour"}
	for kind, name := range want {
		found := false
		for pod, c := range controller {
			if strings.HasPrefix(pod, drainFirstNS+"/"+kind+"-") && strings.Contains(c, name) {
				found = true
			}
		}
		if !found {
			t.Errorf("dry run: no %s pod first because of %s; first: %v", kind, name, controller)
		}
	}
	for i, p := range plan.Planned {
		_, first := controller[p]
		if first != (i < len(plan.First)) {
			t.Errorf("dry run: planned %v, want the %d first pods %v at the head", plan.Planned, len(plan.First), controller)
			break
		}
		if strings.HasPrefix(p, drainFirstNS+"/web-") && first {
			t.Errorf("dry run: app pod %s goes first", p)
		}
	}
	nginxClass := false
	for _, c := range plan.Classes {
		nginxClass = nginxClass || (c.Kind == "IngressClass" && c.Name == "nginx" && c.Outcome == "first")
	}
	if !nginxClass {
		t.Errorf("dry run: classes %+v, want the seeded IngressClass nginx reported as contributing", plan.Classes)
	}
	table := tandem(t, "drain", "--cluster", "blue", "--nodes", pool, "--journal-dir", journalDir, "--dry-run")
	for _, s := range []string{"first: Traefik", "first: Contour"} {
		if !strings.Contains(table.stdout, s) {
			t.Errorf("dry run table does not say %q:\n%s", s, table.stdout)
		}
	}

	// The drain: every controller pod evicted before any app pod.
	rep := drainFirstJSON(t, tandem(t, append(args, "--timeout", "2m")...), 0)
	if !rep.Completed {
		t.Errorf("drain of the %s pool not completed", drainFirstPool)
	}
	evictedAt := map[string]int{}
	firstApp, lastController := -1, -1
	var lastControllerTime, firstAppTime time.Time
	for i, e := range rep.Events {
		if e.Kind != "evicted" {
			continue
		}
		if !strings.HasPrefix(e.Pod, drainFirstNS+"/") {
			t.Errorf("evicted %s, not a pod of the test's pool", e.Pod)
			continue
		}
		name := strings.TrimPrefix(e.Pod, drainFirstNS+"/")
		switch {
		case strings.HasPrefix(name, "traefik-"), strings.HasPrefix(name, "contour-"):
			evictedAt[strings.SplitN(name, "-", 2)[0]] = i
			lastController, lastControllerTime = i, e.Time
			if e.Phase != "first" {
				t.Errorf("controller pod %s evicted in phase %q, want first", e.Pod, e.Phase)
			}
		case strings.HasPrefix(name, "web-") && firstApp < 0:
			firstApp, firstAppTime = i, e.Time
		}
	}
	if len(evictedAt) != 2 || firstApp < 0 {
		t.Fatalf("evictions: controllers %v, first app pod at %d; want traefik, contour and the app", evictedAt, firstApp)
	}
	if lastController > firstApp || lastControllerTime.After(firstAppTime) {
		t.Errorf("a controller pod was evicted after an app pod: last controller event %d (%s), first app event %d (%s)",
			lastController, lastControllerTime.Format(time.RFC3339Nano), firstApp, firstAppTime.Format(time.RFC3339Nano))
	}
}

func drainFirstJSON(t *testing.T, r result, wantCode int) drainFirstReport {
	t.Helper()
	if r.code != wantCode {
		t.Fatalf("drain: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, wantCode, r.stdout, r.stderr)
	}
	var rep drainFirstReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("drain -o json: %v\n%s", err, r.stdout)
	}
	return rep
}

// waitDeploymentsReady waits until each named Deployment of ns has its ready replicas.
func waitDeploymentsReady(t *testing.T, ctxName, ns string, want map[string]int) {
	t.Helper()
	eventually(t, 3*time.Minute, func() error {
		out := kubectl(t, "--context", ctxName, "-n", ns, "get", "deployments", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas}{"\n"}{end}`).stdout
		got := map[string]string{}
		for _, line := range strings.Fields(out) {
			name, ready, _ := strings.Cut(line, "=")
			got[name] = ready
		}
		for name, n := range want {
			if got[name] != fmt.Sprint(n) {
				return fmt.Errorf("%s/%s: %q ready, want %d", ns, name, got[name], n)
			}
		}
		return nil
	})
}
