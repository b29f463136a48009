package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A followActive Mirror copies blue → green within 2 s; a Switchover to
// green runs its phases, makes green active at epoch+1 and turns the Mirror
// around (green → blue).
func TestControllerMirrorFollowsSwitchover(t *testing.T) {
	pairWithGreenStandby(t, t.TempDir())
	withController(t)
	reps := controllerUp(t)
	before, _ := pairStatus(t)

	if r := applyDoc(t, pairDoc("lab", "team: a")+`---
apiVersion: tandem.io/v1alpha1
kind: Mirror
metadata: {name: lab, namespace: tandem-system}
spec: {pair: lab, followActive: true, standby: true}
`); r.code != 0 {
		t.Fatalf("apply pair and mirror: %s", r.stderr)
	}
	waitFor(t, "Mirror Ready", 90*time.Second, func() (bool, string) {
		s := jsonpath(t, "mirror.tandem.io/lab", "{.status.from}→{.status.to} "+`{.status.conditions[?(@.type=="Ready")].status}`)
		return s == "blue→green True", s
	})
	name := fmt.Sprintf("ctl-mirror-%d", time.Now().UnixNano())
	mustKubectl(t, "--context", "blue", "-n", "default", "create", "configmap", name, "--from-literal=k=v")
	created := time.Now()
	waitFor(t, "ConfigMap copied into green", 2*time.Second, func() (bool, string) {
		return kubectl(t, "--context", "green", "-n", "default", "get", "configmap", name).code == 0, "absent"
	})
	t.Logf("blue → green in %s", time.Since(created).Round(time.Millisecond))
	table := mustKubectl(t, "--context", "green", "-n", ctlNS, "get", "mirror", "lab")
	if !strings.Contains(table, "LAG") || !strings.Contains(table, "True") {
		t.Fatalf("kubectl get mirror shows no Ready=True and lag:\n%s", table)
	}
	if lag := jsonpath(t, "mirror.tandem.io/lab", "{.status.lagSeconds}"); lag == "" {
		t.Fatal("status.lagSeconds is empty")
	}
	waitFor(t, "ClusterPair status", 30*time.Second, func() (bool, string) {
		s := jsonpath(t, "clusterpair.tandem.io/lab", "{.status.active} "+`{.status.conditions[?(@.type=="Reachable")].status} {.status.conditions[?(@.type=="Consistent")].status}`)
		return s == "blue True True", s
	})

	if r := applyDoc(t, `apiVersion: tandem.io/v1alpha1
kind: Switchover
metadata: {name: to-green, namespace: tandem-system}
spec: {pair: lab, to: green, steps: [0, 50, 100], pause: 1s}
`); r.code != 0 {
		t.Fatalf("apply switchover: %s", r.stderr)
	}
	if p := waitPhase(t, "to-green", 4*time.Minute, "Succeeded", "Failed", "RolledBack"); p != "Succeeded" {
		t.Fatalf("switchover ended %s: %s", p, jsonpath(t, "switchover.tandem.io/to-green", "{.status}"))
	}
	phases := jsonpath(t, "switchover.tandem.io/to-green", `{range .status.phases[*]}{.name}={.result};{end}`)
	for _, p := range []string{"pause-mirror", "sync", "activate", "shift", "deactivate", "records"} {
		if !strings.Contains(phases, p+"=ok;") {
			t.Errorf("status.phases lacks %s=ok: %s", p, phases)
		}
	}
	after := assertActive(t, "green")
	if after.Verdict.Epoch != before.Verdict.Epoch+1 {
		t.Fatalf("epoch %d after the switchover, want %d", after.Verdict.Epoch, before.Verdict.Epoch+1)
	}
	if out := mustTandem(t, "status", "--source", "blue", "--target", "green"); !strings.Contains(out, "Switchover tandem-system/to-green") {
		t.Fatalf("tandem status does not show the controller's switchover:\n%s", out)
	}
	waitFor(t, "Mirror turned around", 60*time.Second, func() (bool, string) {
		s := jsonpath(t, "mirror.tandem.io/lab", "{.status.from}→{.status.to} "+`{.status.conditions[?(@.type=="Ready")].status}`)
		return s == "green→blue True", s
	})
	waitFor(t, "the leader's metrics", 40*time.Second, func() (bool, string) {
		lead, ok := leader(reps)
		if !ok {
			return false, "no leader"
		}
		m := scrape(t, lead.Metrics)
		for _, want := range []string{
			`tandem_switchovers_total{namespace="tandem-system",pair="lab",phase="Succeeded"} 1`,
			`tandem_clusterpair_active{cluster="green",namespace="tandem-system",pair="lab"} 1`,
			`tandem_switchover_phase_seconds_count{phase="shift",result="ok"} 1`,
			`tandem_mirror_lag_seconds_count{cluster="blue"}`,
		} {
			if !strings.Contains(m, want) {
				return false, "missing " + want
			}
		}
		if strings.Contains(m, "tandem_mirror_lag_seconds_count{cluster=\"blue\"} 0\n") {
			return false, "no mirror lag observed yet" // the series exists from the start, at 0
		}
		return true, ""
	})
	back := fmt.Sprintf("ctl-back-%d", time.Now().UnixNano())
	mustKubectl(t, "--context", "green", "-n", "default", "create", "configmap", back, "--from-literal=k=v")
	waitFor(t, "ConfigMap copied green → blue", 5*time.Second, func() (bool, string) {
		return kubectl(t, "--context", "blue", "-n", "default", "get", "configmap", back).code == 0, "absent"
	})
	for _, cm := range []string{name, back} {
		kubectl(t, "--context", "blue", "-n", "default", "delete", "configmap", cm, "--ignore-not-found")
		kubectl(t, "--context", "green", "-n", "default", "delete", "configmap", cm, "--ignore-not-found")
	}
}

// kill -9 of the leading replica mid-switchover: the other takes the Lease
// within 20 s and finishes the run from its journal, nothing done twice;
// then deleting a running Switchover rolls it back.
func TestControllerFailoverAndDeleteRollsBack(t *testing.T) {
	pairWithGreenStandby(t, t.TempDir())
	withController(t)
	reps := controllerUp(t)
	before, _ := pairStatus(t)
	if r := applyDoc(t, pairDoc("lab", "team: a")+`---
apiVersion: tandem.io/v1alpha1
kind: Switchover
metadata: {name: to-green, namespace: tandem-system}
spec: {pair: lab, to: green, steps: [0, 25, 50, 75, 100], pause: 3s}
`); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	waitFor(t, "the shift phase running", 3*time.Minute, func() (bool, string) {
		s := jsonpath(t, "switchover.tandem.io/to-green", `{range .status.phases[*]}{.name}={.result};{end}`)
		return strings.Contains(s, "shift=running"), s
	})
	lead, ok := leader(reps)
	if !ok {
		t.Fatal("no replica reports leader_election_master_status 1")
	}
	if err := syscall.Kill(lead.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var others []replica
	for _, r := range reps {
		if r.PID != lead.PID {
			others = append(others, r)
		}
	}
	waitFor(t, "another replica leads", 20*time.Second, func() (bool, string) {
		_, ok := leader(others)
		return ok, "no leader"
	})
	t.Logf("leader %s killed; another led after %s", lead.Replica, time.Since(killed).Round(100*time.Millisecond))
	if p := waitPhase(t, "to-green", 4*time.Minute, "Succeeded", "Failed", "RolledBack"); p != "Succeeded" {
		t.Fatalf("switchover ended %s after the failover: %s", p, jsonpath(t, "switchover.tandem.io/to-green", "{.status}"))
	}
	after := assertActive(t, "green")
	if after.Verdict.Epoch != before.Verdict.Epoch+1 {
		t.Fatalf("epoch %d, want %d: a phase ran twice", after.Verdict.Epoch, before.Verdict.Epoch+1)
	}
	starts, done := 0, map[string]int{}
	for _, rec := range journalRecords(t, "to-green") {
		switch rec["op"] {
		case "start":
			starts++
		case "done":
			done[fmt.Sprint(rec["key"])]++
		}
	}
	if starts != 1 {
		t.Errorf("the journal holds %d runs, want 1 (resumed, not restarted)", starts)
	}
	for phase, n := range done {
		if n != 1 {
			t.Errorf("phase %s done %d times", phase, n)
		}
	}
	// The shift's steps are journaled in the cluster too: each step set once.
	steps := map[string]int{}
	for _, rec := range journalRecords(t, "to-green-shift") {
		if rec["op"] == "done" {
			steps[fmt.Sprint(rec["key"])]++
		}
	}
	for step, n := range steps {
		if n != 1 {
			t.Errorf("shift step %s done %d times", step, n)
		}
	}
	if len(steps) != 5 {
		t.Errorf("shift steps done: %v, want the 5 of the plan", steps)
	}

	// Two replicas again, then a Switchover back to blue deleted while it shifts.
	reps = controllerUp(t)
	if r := applyDoc(t, `apiVersion: tandem.io/v1alpha1
kind: Switchover
metadata: {name: to-blue, namespace: tandem-system}
spec: {pair: lab, to: blue, steps: [0, 25, 50, 75, 100], pause: 4s, sync: false}
`); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	waitFor(t, "the shift phase running", 3*time.Minute, func() (bool, string) {
		s := jsonpath(t, "switchover.tandem.io/to-blue", `{range .status.phases[*]}{.name}={.result};{end}`)
		return strings.Contains(s, "shift=running"), s
	})
	waitFor(t, "some traffic on blue (the undo must move it back)", time.Minute, func() (bool, string) {
		w := shiftRuntimeWeights(t)
		return w["blue"] > 0, fmt.Sprint(w)
	})
	mustKubectl(t, "--context", "green", "-n", ctlNS, "delete", "switchover", "to-blue", "--wait=false")
	waitFor(t, "the deleted Switchover gone (rolled back)", 3*time.Minute, func() (bool, string) {
		r := kubectl(t, "--context", "green", "-n", ctlNS, "get", "switchover", "to-blue")
		return r.code != 0, r.stdout
	})
	st := assertActive(t, "green")
	if st.Verdict.Epoch != after.Verdict.Epoch {
		t.Fatalf("epoch %d after the rollback, want %d", st.Verdict.Epoch, after.Verdict.Epoch)
	}
	if w := st.Weights["clusters"]; w["green"] != 100 || w["blue"] != 0 {
		t.Fatalf("weights after the rollback: %v", w)
	}
}

// Two controllers with different --shard: each reconciles only its pairs.
func TestControllerShards(t *testing.T) {
	labAtRest(t)
	withController(t)
	controllerUp(t, "--name", "shard-a", "--shard", "team=a", "--replicas", "1")
	if r := applyDoc(t, pairDoc("pair-a", "team: a")+"---\n"+pairDoc("pair-b", "team: b")); r.code != 0 {
		t.Fatalf("apply pairs: %s", r.stderr)
	}
	waitFor(t, "pair-a reconciled by shard a", 60*time.Second, func() (bool, string) {
		s := condition(t, "clusterpair.tandem.io/pair-a", "Reachable")
		return s == "True", s
	})
	// A sentinel: after both are changed, shard a reconciles pair-a again; pair-b it must leave alone.
	a0 := jsonpath(t, "clusterpair.tandem.io/pair-a", "{.status.lastChecked}")
	mustKubectl(t, "--context", "green", "-n", ctlNS, "label", "clusterpair", "pair-a", "pair-b", "poke=1", "--overwrite")
	waitFor(t, "pair-a checked again", 30*time.Second, func() (bool, string) {
		a := jsonpath(t, "clusterpair.tandem.io/pair-a", "{.status.lastChecked}")
		return a != a0, a
	})
	if s := jsonpath(t, "clusterpair.tandem.io/pair-b", "{.status}"); s != "" && s != "{}" {
		t.Fatalf("shard a reconciled pair-b: status %s", s)
	}
	controllerUp(t, "--name", "shard-b", "--shard", "team=b", "--replicas", "1")
	waitFor(t, "pair-b reconciled by shard b", 60*time.Second, func() (bool, string) {
		s := condition(t, "clusterpair.tandem.io/pair-b", "Reachable")
		return s == "True", s
	})
	leases := mustKubectl(t, "--context", "green", "-n", ctlNS, "get", "leases", "-o", "name")
	if n := strings.Count(leases, "lease.coordination.k8s.io/tandem-controller-"); n != 2 {
		t.Fatalf("want one leader Lease per shard, got:\n%s", leases)
	}
	// Stop shard a: pair-a's status stops moving while pair-b's goes on.
	tandem(t, "lab", "controller", "down", "--dir", lab.dir, "--name", "shard-a")
	a1 := jsonpath(t, "clusterpair.tandem.io/pair-a", "{.status.lastChecked}")
	b1 := jsonpath(t, "clusterpair.tandem.io/pair-b", "{.status.lastChecked}")
	kubectl(t, "--context", "green", "-n", ctlNS, "label", "clusterpair", "pair-a", "pair-b", "poke="+fmt.Sprint(time.Now().Unix()), "--overwrite")
	waitFor(t, "pair-b checked again by shard b", 30*time.Second, func() (bool, string) {
		b := jsonpath(t, "clusterpair.tandem.io/pair-b", "{.status.lastChecked}")
		return b != b1, b
	})
	if a := jsonpath(t, "clusterpair.tandem.io/pair-a", "{.status.lastChecked}"); a != a1 {
		t.Fatalf("pair-a was reconciled with its shard's controller down (%s → %s)", a1, a)
	}
}

// Bad input is refused by the schema or named in a condition, and the
// controller goes on serving the others.
func TestControllerBadInput(t *testing.T) {
	labAtRest(t)
	withController(t)
	controllerUp(t, "--replicas", "1")
	one := applyDoc(t, `apiVersion: tandem.io/v1alpha1
kind: ClusterPair
metadata: {name: lonely, namespace: tandem-system}
spec:
  clusters:
  - {name: blue, kubeconfigSecretRef: {name: blue-kubeconfig}}
`)
	if one.code == 0 || !strings.Contains(one.stderr, "spec.clusters") {
		t.Fatalf("a ClusterPair with one cluster was not refused by the schema: exit %d\n%s", one.code, one.stderr)
	}
	kubectl(t, "--context", "green", "-n", ctlNS, "delete", "secret", "no-kubeconfig", "--ignore-not-found")
	mustKubectl(t, "--context", "green", "-n", ctlNS, "create", "secret", "generic", "no-kubeconfig", "--from-literal=other=x")
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "-n", ctlNS, "delete", "secret", "no-kubeconfig", "--ignore-not-found")
	})
	if r := applyDoc(t, `apiVersion: tandem.io/v1alpha1
kind: ClusterPair
metadata: {name: broken, namespace: tandem-system}
spec:
  clusters:
  - {name: blue, kubeconfigSecretRef: {name: no-kubeconfig}}
  - {name: green, kubeconfigSecretRef: {name: green-kubeconfig}}
---
`+pairDoc("good", "team: a")+`---
apiVersion: tandem.io/v1alpha1
kind: Switchover
metadata: {name: to-nowhere, namespace: tandem-system}
spec: {pair: good, to: purple}
`); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	waitFor(t, "broken pair's condition", 60*time.Second, func() (bool, string) {
		s := jsonpath(t, "clusterpair.tandem.io/broken", `{.status.conditions[?(@.type=="Reachable")].reason}`)
		return s == "KubeconfigMissing", s
	})
	waitFor(t, "switchover to an unknown cluster failed with its reason", 60*time.Second, func() (bool, string) {
		s := jsonpath(t, "switchover.tandem.io/to-nowhere", `{.status.phase} {.status.conditions[?(@.type=="Valid")].reason}`)
		return s == "Failed UnknownCluster", s
	})
	waitFor(t, "the good pair served", 60*time.Second, func() (bool, string) {
		s := jsonpath(t, "clusterpair.tandem.io/good", `{.status.conditions[?(@.type=="Reachable")].status} {.status.clusters[*].name}`)
		return s == "True blue green", s
	})
	// The replica is still alive and serving.
	if reps := controllerUp(t, "--replicas", "1"); len(reps) != 1 || syscall.Kill(reps[0].PID, 0) != nil {
		t.Fatalf("the controller replica is gone: %v", reps)
	}
}

// A Drill switches to the standby and back under a load probe; its report is
// in status, in a ConfigMap, and in both clusters' records.
func TestControllerDrill(t *testing.T) {
	pairWithGreenStandby(t, t.TempDir())
	withController(t)
	controllerUp(t, "--replicas", "1")
	if r := applyDoc(t, pairDoc("lab", "team: a")+fmt.Sprintf(`---
apiVersion: tandem.io/v1alpha1
kind: Drill
metadata: {name: rehearsal, namespace: tandem-system}
spec:
  pair: lab
  steps: [0, 50, 100]
  pause: 1s
  probe: {url: "http://%s/", host: app.example, rate: 20}
`, lab.haproxy)); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	var got string
	waitFor(t, "the drill finished", 6*time.Minute, func() (bool, string) {
		got = jsonpath(t, "drill.tandem.io/rehearsal", "{.status.phase}|{.status.result}")
		return strings.HasPrefix(got, "Succeeded|") || strings.HasPrefix(got, "Failed|"), got
	})
	if got != "Succeeded|passed" {
		t.Fatalf("drill: %s\n%s", got, jsonpath(t, "drill.tandem.io/rehearsal", "{.status}"))
	}
	if n := jsonpath(t, "drill.tandem.io/rehearsal", "{.status.requestsSent}"); n == "" || n == "0" {
		t.Fatalf("the probe sent %q requests", n)
	}
	legs := jsonpath(t, "drill.tandem.io/rehearsal", `{range .status.legs[*]}{.from}>{.to}={.result};{end}`)
	if legs != "blue>green=completed;green>blue=completed;" {
		t.Fatalf("legs: %s", legs)
	}
	if md := jsonpath(t, "configmap/rehearsal-report", `{.data.report\.md}`); !strings.Contains(md, "passed") {
		t.Fatalf("report ConfigMap:\n%s", md)
	}
	assertActive(t, "blue")
	if out := mustTandem(t, "status", "--source", "blue", "--target", "green"); !strings.Contains(out, "passed") {
		t.Fatalf("the records do not keep the drill:\n%s", out)
	}

	// The CLI hands a switchover to the controller and follows it to its end.
	r := tandem(t, "switchover", "--via-controller", "--pair", "lab", "--to", "green", "--steps", "0,100", "--pause", "1s",
		"--management-context", "green", "--sync=false", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stderr, "[records] ok") || !strings.Contains(r.stdout, `"phase": "Succeeded"`) {
		t.Fatalf("switchover --via-controller: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertActive(t, "green")
}

// tandem controller --dashboard-addr serves the page and the API for every
// ClusterPair of its shard.
func TestControllerDashboard(t *testing.T) {
	labAtRest(t)
	withController(t)
	controllerUp(t, "--name", "installer", "--shard", "team=nobody", "--replicas", "1") // CRDs, RBAC, Secrets
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(lab.bin, "controller", "--context", "green", "--leader-elect=false", "--shard", "team=dash",
		"--metrics-addr", "0", "--health-addr", "0", "--dashboard-addr", addr)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+lab.kubeconfig)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	if r := applyDoc(t, pairDoc("dash", "team: dash")+"---\n"+pairDoc("other", "team: other")); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	base := "http://" + addr
	var pairs []string
	waitFor(t, "the dashboard lists its shard's pair", 30*time.Second, func() (bool, string) {
		resp, err := http.Get(base + "/api/pairs")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		pairs = nil
		_ = json.NewDecoder(resp.Body).Decode(&pairs)
		return len(pairs) == 1 && pairs[0] == ctlNS+"/dash", fmt.Sprint(pairs)
	})
	var st statusOut
	apiJSON(t, base+"/api/status?pair="+url.QueryEscape(ctlNS+"/dash"), &st)
	if len(st.Clusters) != 2 || st.Clusters[0].Context != "blue" || st.Weights["clusters"]["blue"] != 100 {
		t.Fatalf("/api/status of the pair: %+v", st)
	}
	if resp, err := http.Get(base + "/api/status?pair=" + url.QueryEscape(ctlNS+"/other")); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another shard's pair is served: %v %v", err, resp)
	}
	ctx := browser(t, 1280, 800)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?pair="+url.QueryEscape(ctlNS+"/dash"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the page shows both clusters", 30*time.Second, func() (bool, string) {
		s := pageEval[string](t, ctx, `[...document.querySelectorAll('[data-cluster] .f-reachable')].map(e => e.textContent).join(",")`)
		return s == "yes,yes", s
	})
}
