package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const drainNS = "e2e-drain"

const drainManifests = `apiVersion: v1
kind: Namespace
metadata: {name: e2e-drain}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: e2e-drain}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: e2e-drain}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`

// drainReport is `tandem drain -o json`.
type drainReport struct {
	Nodes, Drained []string
	PodsEvicted    int `json:"podsEvicted"`
	Events         []struct {
		Kind, Phase, Node, Pod string
	}
	Blockers []struct {
		PDB  string `json:"pdb"`
		Pods []string
	}
	Skipped   []string
	Completed bool
	Planned   []string
}

func parseDrain(t *testing.T, r result) drainReport {
	t.Helper()
	var rep drainReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("drain -o json: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return rep
}

// The old pool is drained onto a new one: the ingress controllers go first,
// our budget (1 disruption) is never broken, our pods end Running on the new
// pool, and the seeded payments-api budget (0 disruptions) is named as the
// blocker when --timeout passes, exit 1.
func TestDrainOldPoolNamesBlockerAndMovesPods(t *testing.T) {
	// Blue active (payments-api runs, its budget blocks) and its default pool in service.
	labAtRest(t)
	journalDir := t.TempDir()
	mustTandem(t, "lab", "nodes", "add", "--dir", lab.dir, "--cluster", "blue", "--pool", "new", "--count", "3")
	// One node of the old pool is cordoned before the drain (an operator's
	// maintenance): --undo must leave it so.
	cordoned := strings.Fields(mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default", "-o", "jsonpath={.items[0].metadata.name}"))[0]
	mustKubectl(t, "--context", "blue", "cordon", cordoned)
	// Another has a taint of the drain's key and effect already (a
	// maintenance taint of the same name): --undo must give it back.
	pretainted := strings.Fields(mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default", "-o", "jsonpath={.items[1].metadata.name}"))[0]
	mustKubectl(t, "--context", "blue", "taint", "node", pretainted, "migration=maintenance:NoSchedule")
	t.Cleanup(func() {
		mustTandem(t, "drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--undo", "--journal-dir", journalDir)
		kubectl(t, "--context", "blue", "uncordon", cordoned)
		kubectl(t, "--context", "blue", "taint", "node", pretainted, "migration:NoSchedule-")
		kubectl(t, "--context", "blue", "delete", "namespace", drainNS, "--wait=false")
	})
	f := filepath.Join(t.TempDir(), "drain.yaml")
	if err := os.WriteFile(f, []byte(drainManifests), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "--context", "blue", "apply", "-f", f)
	waitDeployReady(t, "blue", drainNS, 3)
	eventually(t, time.Minute, func() error {
		got := kubectl(t, "--context", "blue", "-n", drainNS, "get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}").stdout
		if got != "1" {
			return fmt.Errorf("pdb web disruptionsAllowed %q, want 1", got)
		}
		return nil
	})

	args := []string{"drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--journal-dir", journalDir, "-o", "json"}
	dry := tandem(t, append(args, "--dry-run")...)
	if dry.code != 0 {
		t.Fatalf("drain --dry-run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	plan := parseDrain(t, dry)
	if len(plan.Planned) == 0 || !strings.HasPrefix(plan.Planned[0], "ingress-nginx/") {
		t.Errorf("dry run: planned %v, want ingress-nginx pods first", plan.Planned)
	}
	if out := mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default", "--field-selector", "metadata.name!="+cordoned, "-o", "jsonpath={.items[*].spec.unschedulable}"); strings.Contains(out, "true") {
		t.Fatalf("dry run cordoned nodes: %q", out)
	}

	// Watch our budget while the drain runs: healthy pods never below desired.
	// The watcher reports through broken and watchErr (read after wg.Wait), never t.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var broken []string
	var watchErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			r, err := kubectlResult("--context", "blue", "-n", drainNS, "get", "pdb", "web", "-o", "jsonpath={.status.currentHealthy}/{.status.desiredHealthy}")
			if err != nil {
				watchErr = err
				return
			}
			got := r.stdout
			var cur, want int
			if _, err := fmt.Sscanf(got, "%d/%d", &cur, &want); err == nil && cur < want {
				broken = append(broken, got)
			}
		}
	}()
	start := time.Now()
	r := tandem(t, append(args, "--parallel", "10", "--timeout", "20s")...)
	close(stop)
	wg.Wait()
	took := time.Since(start)
	if watchErr != nil {
		t.Errorf("watching PDB e2e-drain/web during the drain: %v", watchErr)
	}
	if r.code != 1 {
		t.Fatalf("drain: exit %d, want 1 (payments-api blocks)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("drain stopped after %s", took.Round(time.Millisecond))
	if took > 60*time.Second {
		t.Errorf("drain took %s with --timeout 20s", took)
	}
	if len(broken) > 0 {
		t.Errorf("PDB e2e-drain/web broken during the drain (currentHealthy/desiredHealthy): %v", broken)
	}
	rep := parseDrain(t, r)
	if !strings.Contains(r.stderr, "payments-api") {
		t.Errorf("stderr does not name payments-api:\n%s", r.stderr)
	}
	found := false
	for _, b := range rep.Blockers {
		if b.PDB == "payments/payments-api" && len(b.Pods) > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("blockers %+v: want payments/payments-api with its pods", rep.Blockers)
	}
	// Ingress controllers first: every "first" eviction comes before any other.
	firsts, lastFirst, firstOther := 0, -1, len(rep.Events)
	for i, e := range rep.Events {
		if e.Kind != "evicted" {
			continue
		}
		if e.Phase == "first" {
			firsts++
			lastFirst = i
			if !strings.HasPrefix(e.Pod, "ingress-nginx/") {
				t.Errorf("first eviction of %s, want only ingress-nginx pods", e.Pod)
			}
		} else if i < firstOther {
			firstOther = i
		}
	}
	if firsts == 0 || lastFirst > firstOther {
		t.Errorf("ingress-nginx controllers not evicted first: %d first evictions, last at %d, first other at %d", firsts, lastFirst, firstOther)
	}
	if rep.PodsEvicted < 4 {
		t.Errorf("%d pods evicted, want at least the 3 of e2e-drain and an ingress controller", rep.PodsEvicted)
	}
	t.Logf("%d nodes, %d pods evicted, %d first", len(rep.Nodes), rep.PodsEvicted, firsts)

	// Every node of the old pool is tainted and cordoned.
	taints := mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default", "-o", `jsonpath={range .items[*]}{.spec.unschedulable} {.spec.taints[*].key}{"\n"}{end}`)
	for _, line := range strings.Split(strings.TrimSpace(taints), "\n") {
		if !strings.HasPrefix(line, "true") || !strings.Contains(line, "migration") {
			t.Errorf("old node not cordoned and tainted: %q", line)
		}
	}
	// Our pods all Running on the new pool.
	newNodes := map[string]bool{}
	for _, n := range strings.Fields(mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=new", "-o", "jsonpath={.items[*].metadata.name}")) {
		newNodes[n] = true
	}
	eventually(t, time.Minute, func() error {
		out := mustKubectl(t, "--context", "blue", "-n", drainNS, "get", "pods", "-o", `jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName} {.metadata.deletionTimestamp}{"\n"}{end}`)
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || f[1] != "Running" || !newNodes[f[2]] {
				return fmt.Errorf("pod not Running on the new pool: %q", line)
			}
			n++
		}
		if n != 3 {
			return fmt.Errorf("%d pods, want 3:\n%s", n, out)
		}
		return nil
	})
	// A re-run resumes: nodes drained the first time are skipped (journal).
	again := tandem(t, append(args, "--parallel", "10", "--timeout", "5s")...)
	if again.code != 1 {
		t.Fatalf("re-run: exit %d, want 1\n%s%s", again.code, again.stdout, again.stderr)
	}
	rep2 := parseDrain(t, again)
	if len(rep.Drained) == 0 || strings.Join(rep2.Skipped, ",") != strings.Join(sorted(rep.Drained), ",") {
		t.Errorf("re-run skipped %v, want the nodes drained the first time %v", rep2.Skipped, rep.Drained)
	}
	if !strings.Contains(again.stderr, "resuming interrupted drain") {
		t.Errorf("re-run does not say it resumes:\n%s", again.stderr)
	}
	// Ingress controllers too.
	out := mustKubectl(t, "--context", "blue", "-n", "ingress-nginx", "get", "pods", "-l", "app.kubernetes.io/component=controller", "-o", `jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}`)
	for _, n := range strings.Fields(out) {
		if !newNodes[n] {
			t.Errorf("ingress controller on %s, want the new pool", n)
		}
	}
	// Once the blocker allows a disruption, the same drain finishes: exit 0, every old node drained.
	mustKubectl(t, "--context", "blue", "-n", "payments", "patch", "pdb", "payments-api", "--type=merge", "-p", `{"spec":{"maxUnavailable":1}}`)
	restored := false
	restore := func() {
		if !restored {
			restored = true
			kubectl(t, "--context", "blue", "-n", "payments", "patch", "pdb", "payments-api", "--type=merge", "-p", `{"spec":{"maxUnavailable":0}}`)
		}
	}
	defer restore()
	eventually(t, time.Minute, func() error {
		if got := kubectl(t, "--context", "blue", "-n", "payments", "get", "pdb", "payments-api", "-o", "jsonpath={.status.disruptionsAllowed}").stdout; got == "0" || got == "" {
			return fmt.Errorf("payments-api disruptionsAllowed %q", got)
		}
		return nil
	})
	done := tandem(t, append(args, "--parallel", "10", "--timeout", "2m")...)
	if done.code != 0 {
		t.Fatalf("drain with no blocker left: exit %d, want 0\n%s%s", done.code, done.stdout, done.stderr)
	}
	rep3 := parseDrain(t, done)
	if !rep3.Completed || len(rep3.Blockers) != 0 || len(rep3.Drained)+len(rep3.Skipped) != len(rep3.Nodes) {
		t.Errorf("completed drain: completed %v, blockers %v, %d drained + %d skipped of %d nodes", rep3.Completed, rep3.Blockers, len(rep3.Drained), len(rep3.Skipped), len(rep3.Nodes))
	}
	left := mustKubectl(t, "--context", "blue", "get", "pods", "-A", "--field-selector", "status.phase=Running", "-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.spec.nodeName} {.metadata.ownerReferences[0].kind}{"\n"}{end}`)
	for _, line := range strings.Split(strings.TrimSpace(left), "\n") {
		f := strings.Fields(line)
		// DaemonSet pods stay: drains leave them, as kubectl drain does.
		if len(f) >= 2 && !newNodes[f[1]] && (len(f) < 3 || f[2] != "DaemonSet") {
			t.Errorf("pod %s still Running on the old pool's node %s after a completed drain", f[0], f[1])
		}
	}
	restore()

	// --undo removes the taint and uncordons the nodes the drain cordoned;
	// the one cordoned before stays cordoned, its mark gone.
	undo := mustTandem(t, "drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--undo", "--journal-dir", journalDir)
	if !strings.Contains(undo, "left cordoned (cordoned before the drain, or not tainted by it): "+cordoned) {
		t.Errorf("--undo does not say it left %s cordoned:\n%s", cordoned, undo)
	}
	taints = mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default", "-o", `jsonpath={range .items[*]}{.metadata.name} {.spec.unschedulable} {.metadata.annotations.tandem\.io/drain-cordoned-before}{.metadata.annotations.tandem\.io/drain-tainted}{"\n"}{end}`)
	if strings.Contains(mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default", "--field-selector", "metadata.name!="+pretainted, "-o", "jsonpath={.items[*].spec.taints[*].key}"), "migration") {
		t.Errorf("--undo left the drain's taint on a node")
	}
	if got := mustKubectl(t, "--context", "blue", "get", "node", pretainted, "-o", `jsonpath={.spec.taints[?(@.key=="migration")].value}`); got != "maintenance" {
		t.Errorf("after --undo, %s's own migration taint has value %q, want maintenance (as before the drain)", pretainted, got)
	}
	for _, line := range strings.Split(strings.TrimSpace(taints), "\n") {
		f := strings.Fields(line)
		want := []string{f[0]} // schedulable: unschedulable and the mark are empty
		if f[0] == cordoned {
			want = append(want, "true")
		}
		if strings.Join(f, " ") != strings.Join(want, " ") {
			t.Errorf("after --undo (only %s cordoned, no mark): %q", cordoned, line)
		}
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// Bad flags exit 2 before touching the cluster.
func TestDrainBadInputExitsTwo(t *testing.T) {
	for _, args := range [][]string{
		{"drain", "--nodes", "tandem.io/pool=default"},
		{"drain", "--cluster", "blue"},
		{"drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--taint", "migration"},
		{"drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--parallel", "0"},
		{"drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--dry-run", "--undo"},
		// NoExecute: every node's pods deleted at once, past their budgets.
		{"drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--taint", "retire:NoExecute"},
		// A selector with a typo drains nothing: not "done".
		{"drain", "--cluster", "blue", "--nodes", "tandem.io/pool=defualt"},
	} {
		if r := tandem(t, args...); r.code != 2 {
			t.Errorf("tandem %s: exit %d, want 2\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	// --undo of a pool that is gone (deleted after its drain) has nothing to undo.
	if r := tandem(t, "drain", "--cluster", "blue", "--nodes", "tandem.io/pool=defualt", "--undo"); r.code != 0 || !strings.Contains(r.stdout, "from 0 nodes and uncordoned 0") {
		t.Errorf("drain --undo matching no node: exit %d, want 0 and nothing undone\n%s%s", r.code, r.stdout, r.stderr)
	}
	if taints := mustKubectl(t, "--context", "blue", "get", "nodes", "-o", "jsonpath={.items[*].spec.taints[*].key}"); strings.Contains(taints, "retire") {
		t.Errorf("a refused drain tainted nodes: %s", taints)
	}
}

// A node whose kubelet is gone (not Ready) cannot confirm that an evicted pod
// stopped: the pod stays Terminating and the drain times out. The drain says
// so, naming the pod and the node's state, not only "timed out".
func TestDrainNamesPodsAnUnreadyNodeCannotConfirm(t *testing.T) {
	labAtRest(t)
	const ns, node, pool = "e2e-drain-unready", "e2e-unready-0", "tandem.io/pool=e2e-unready"
	// A Node no kubelet (nor kwok) serves: its Ready condition is Unknown.
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"`+node+`","labels":{"tandem.io/pool":"e2e-unready"}}}`)
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false")
		kubectl(t, "--context", "blue", "-n", ns, "delete", "pods", "--all", "--force", "--grace-period=0")
		kubectl(t, "--context", "blue", "delete", "node", node, "--wait=false")
	})
	// A ReplicaSet's pod placed on it (nodeName: no scheduler involved).
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"stranded","namespace":"`+ns+`"},"spec":{
		"replicas":1,"selector":{"matchLabels":{"app":"stranded"}},"template":{"metadata":{"labels":{"app":"stranded"}},"spec":{
		"nodeName":"`+node+`","containers":[{"name":"c","image":"registry.example/c:1"}]}}}}`)
	var pod string
	eventually(t, time.Minute, func() error {
		pod = kubectl(t, "--context", "blue", "-n", ns, "get", "pods", "-l", "app=stranded", "--field-selector", "spec.nodeName="+node, "-o", "jsonpath={.items[0].metadata.name}").stdout
		if pod == "" {
			return fmt.Errorf("no pod of stranded on %s yet", node)
		}
		return nil
	})
	t.Cleanup(func() {
		mustTandem(t, "drain", "--cluster", "blue", "--nodes", pool, "--undo", "--journal-dir", t.TempDir())
	})
	r := tandem(t, "drain", "--cluster", "blue", "--nodes", pool, "--timeout", "15s", "--journal-dir", t.TempDir(), "-o", "json")
	if r.code != 1 {
		t.Fatalf("drain of a node that cannot confirm: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if want := "BLOCKER pod " + ns + "/" + pod + ": deleted at "; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "on node "+node+", whose Ready is Unknown") {
		t.Errorf("stderr does not name %s/%s on the unready node %s:\n%s", ns, pod, node, r.stderr)
	}
	var rep struct {
		Unconfirmed []struct {
			Pod, Node, NodeState string
		} `json:"unconfirmed"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, r.stdout)
	}
	if len(rep.Unconfirmed) != 1 || rep.Unconfirmed[0].Pod != ns+"/"+pod || rep.Unconfirmed[0].NodeState != "Unknown" {
		t.Errorf("report's unconfirmed pods %+v, want %s/%s on %s, Unknown", rep.Unconfirmed, ns, pod, node)
	}
}

// A dry run that finds a blocker says so with exit 1 (as handoff's does),
// in tandem's words (kubectl's drain library would advise a --force that
// tandem drain does not have); a selector that matches no node is one
// line and exit 2, with no plan printed before it.
func TestDrainDryRunExitsOneOnABlocker(t *testing.T) {
	node := strings.TrimSpace(mustKubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default", "-o", "jsonpath={.items[0].metadata.name}"))
	ns := fmt.Sprintf("e2e-drain-bare-%d", time.Now().Unix()%100000)
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bare","namespace":"`+ns+`"},
"spec":{"nodeName":"`+node+`","containers":[{"name":"c","image":"registry.example/bare:1"}]}}`)

	r := tandem(t, "drain", "--cluster", "blue", "--nodes", "kubernetes.io/hostname="+node, "--dry-run", "--journal-dir", t.TempDir())
	out := r.stdout + r.stderr
	if r.code != 1 || !strings.Contains(out, "declare no controller") || !strings.Contains(out, ns+"/bare") {
		t.Errorf("drain --dry-run of a node with a bare pod: exit %d, want 1 naming %s/bare\n%s", r.code, ns, out)
	}
	if strings.Contains(out, "--force") {
		t.Errorf("drain --dry-run advises a --force tandem drain does not have:\n%s", out)
	}

	r = tandem(t, "drain", "--cluster", "blue", "--nodes", "tandem.io/pool=e2e-none", "--dry-run", "--journal-dir", t.TempDir())
	if r.code != 2 || strings.TrimSpace(r.stdout) != "" || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("drain --dry-run of no node: exit %d, want 2 and one line\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
