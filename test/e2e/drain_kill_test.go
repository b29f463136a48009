package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A drain killed (-9) between two evictions is finished by the same command
// run again: it says it resumes, every node of the pool ends cordoned and
// tainted, and every pod of the app runs again on the other pool — 0 lost.
func TestDrainResumesAfterKill(t *testing.T) {
	labAtRest(t)
	suffix := fmt.Sprint(time.Now().Unix() % 100000)
	oldPool, newPool, ns := "e2e-kill-old-"+suffix, "e2e-kill-new-"+suffix, "e2e-drain-kill-"+suffix
	journal := t.TempDir()
	// Gone before the next test (the other drain test counts every Running pod off its new pool):
	// the namespace first, while its pods' nodes still exist to end them, then the nodes.
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s")
		kubectl(t, "--context", "blue", "delete", "nodes", "-l", "tandem.io/pool in ("+oldPool+","+newPool+")", "--wait=true", "--timeout=60s")
	})
	mustTandem(t, "lab", "nodes", "add", "--dir", lab.dir, "--cluster", "blue", "--pool", oldPool, "--count", "2")
	// The app runs on the old pool only, one pod at a time may be disrupted.
	const replicas = 6
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "app.yaml", fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: %[4]d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: tandem.io/pool, operator: In, values: [%[2]s, %[3]s]}]}]
      containers: [{name: web, image: nginx}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: %[1]s}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`, ns, oldPool, newPool, replicas)))
	waitDeployReady(t, "blue", ns, replicas)
	// The budget allows its one disruption (the disruption controller has seen every pod healthy).
	eventually(t, time.Minute, func() error {
		if got := kubectl(t, "--context", "blue", "-n", ns, "get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}").stdout; got != "1" {
			return fmt.Errorf("pdb web disruptionsAllowed %q, want 1", got)
		}
		return nil
	})
	mustTandem(t, "lab", "nodes", "add", "--dir", lab.dir, "--cluster", "blue", "--pool", newPool, "--count", "2")

	podsOn := func(pool string) int {
		nodes := map[string]bool{}
		for _, n := range strings.Fields(mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool="+pool, "-o", "jsonpath={.items[*].metadata.name}")) {
			nodes[n] = true
		}
		out := mustKubectl(t, "--context", "blue", "-n", ns, "get", "pods", "-o", `jsonpath={range .items[*]}{.status.phase} {.spec.nodeName} {.metadata.deletionTimestamp}{"\n"}{end}`)
		count := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[0] == "Running" && nodes[f[1]] {
				count++
			}
		}
		return count
	}
	// A kill in the middle of an eviction can leave the budget counting a
	// pod as disrupted that is never deleted (the apiserver recorded the
	// eviction in the PDB's status.disruptedPods, then lost the request
	// with its client): every eviction is refused until Kubernetes forgets
	// that entry, 2 minutes later (the disruption controller's
	// DeletionTimeout). The re-run's timeout must outlast it.
	args := []string{"drain", "--cluster", "blue", "--nodes", "tandem.io/pool=" + oldPool, "--first", "", "--journal-dir", journal, "--timeout", "4m"}
	// Killed the moment it reports its first eviction: polling the pods
	// from here instead let a fast drain finish between two looks.
	run := startTandemKillOn(t, ", 1 pods evicted", args...)
	select {
	case <-run.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the drain reported no eviction in 2 minutes:\n%s", run.log())
	}
	if err := run.cmd.Wait(); err == nil {
		t.Fatalf("the drain ended before it was killed at its first eviction:\n%s", run.log())
	}
	moved := podsOn(newPool)
	if moved >= replicas {
		t.Fatalf("the drain had moved all %d pods before the kill: nothing left to resume", moved)
	}
	r := tandem(t, args...)
	if r.code != 0 {
		pods := kubectl(t, "--context", "blue", "-n", ns, "get", "pods", "-o", `jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName} {.metadata.deletionTimestamp}{"\n"}{end}`).stdout
		t.Fatalf("drain re-run after kill -9: exit %d\n%s%s\npods:\n%s\nkwok on this namespace:\n%s", r.code, r.stdout, r.stderr, pods, logLines(filepath.Join(lab.dir, "logs", "blue-kwok.log"), ns, 60))
	}
	if !strings.Contains(r.stderr, "resuming interrupted drain") {
		t.Errorf("the re-run does not say it resumes:\n%s", r.stderr)
	}
	t.Logf("killed with %d of %d pods on the new pool", moved, replicas)
	taints := mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool="+oldPool, "-o", `jsonpath={range .items[*]}{.spec.unschedulable} {.spec.taints[*].key}{"\n"}{end}`)
	for _, line := range strings.Split(strings.TrimSpace(taints), "\n") {
		if !strings.HasPrefix(line, "true") || !strings.Contains(line, "migration") {
			t.Errorf("old node not cordoned and tainted: %q", line)
		}
	}
	eventually(t, time.Minute, func() error {
		if n, old := podsOn(newPool), podsOn(oldPool); n != replicas || old != 0 {
			return fmt.Errorf("%d pods Running on the new pool and %d on the old, want %d and 0", n, old, replicas)
		}
		return nil
	})
}
