package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const standbyNS = "e2e-standby"

const standbyManifests = `apiVersion: v1
kind: Namespace
metadata: {name: e2e-standby}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: e2e-standby}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: e2e-standby}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: e2e-standby}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: e2e-standby}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: r, image: busybox}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: e2e-standby}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      tolerations: [{operator: Exists}]
      containers: [{name: agent, image: agent}]
`

const extraDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: pipeline, namespace: e2e-standby}
spec:
  replicas: 3
  selector: {matchLabels: {app: pipeline}}
  template:
    metadata: {labels: {app: pipeline}}
    spec: {containers: [{name: p, image: nginx}]}
`

func writeManifest(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// getJSON reads one object of ns from a cluster.
func getJSON(t *testing.T, ctxName, ref string) map[string]any {
	t.Helper()
	return getIn(t, ctxName, standbyNS, ref)
}

// getIn is one object of a namespace, as JSON.
func getIn(t *testing.T, ctxName, ns, ref string) map[string]any {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal([]byte(mustKubectl(t, "--context", ctxName, "-n", ns, "get", ref, "-o", "json")), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func field(o map[string]any, path ...string) any {
	var cur any = o
	for _, p := range path {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	return cur
}

func annotation(o map[string]any, k string) string {
	a, _ := field(o, "metadata", "annotations").(map[string]any)
	s, _ := a[k].(string)
	return s
}

// assertParked checks green's copies are at 0 with the originals recorded.
func assertParked(t *testing.T) {
	t.Helper()
	for _, w := range []struct{ ref, replicas string }{{"deployment/web", "3"}, {"statefulset/db", "2"}} {
		o := getJSON(t, "green", w.ref)
		if r := field(o, "spec", "replicas"); r != float64(0) {
			t.Errorf("green %s: replicas %v, want 0", w.ref, r)
		}
		if a := annotation(o, "tandem.io/replicas"); a != w.replicas {
			t.Errorf("green %s: tandem.io/replicas %q, want %q", w.ref, a, w.replicas)
		}
	}
	cj := getJSON(t, "green", "cronjob/report")
	if field(cj, "spec", "suspend") != true || annotation(cj, "tandem.io/suspend") != "false" {
		t.Errorf("green cronjob/report: suspend %v, tandem.io/suspend %q; want true, \"false\"", field(cj, "spec", "suspend"), annotation(cj, "tandem.io/suspend"))
	}
	ds := getJSON(t, "green", "daemonset/agent")
	sel, _ := json.Marshal(field(ds, "spec", "template", "spec", "nodeSelector"))
	if string(sel) != `{"tandem.io/standby":"parked"}` || annotation(ds, "tandem.io/node-selector") != `{"kubernetes.io/os":"linux"}` {
		t.Errorf("green daemonset/agent: nodeSelector %s, tandem.io/node-selector %q", sel, annotation(ds, "tandem.io/node-selector"))
	}
	// A pod of a Job that finished while the cluster was active (the
	// CronJob fired in between) stays, as it does anywhere: it runs nothing.
	eventually(t, 60*time.Second, func() error {
		if pods := strings.TrimSpace(mustKubectl(t, "--context", "green", "-n", standbyNS, "get", "pods", "-o", "name",
			"--field-selector", "status.phase!=Succeeded,status.phase!=Failed")); pods != "" {
			return fmt.Errorf("pods still running in green %s: %s", standbyNS, pods)
		}
		return nil
	})
}

func TestStandbySyncActivateDeactivate(t *testing.T) {
	// Green not recorded active (sync --standby would refuse to park it) and
	// not standby yet; back at rest afterwards, after the cleanup below.
	labAtRest(t)
	leaveLabAtRest(t)
	journal := t.TempDir()
	t.Cleanup(func() {
		tandem(t, "activate", "--cluster", "green", "--timeout", "30s", "--journal-dir", journal)
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", standbyNS, "--ignore-not-found", "--wait=true", "--timeout=120s")
		}
	})
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "standby.yaml", standbyManifests))

	// Given a standby copy of the namespace in green.
	out, r := syncJSON(t, journal, 0, "--standby", "--namespace", standbyNS)
	if row, ok := out.find("Deployment", standbyNS, "web"); !ok || !strings.Contains(strings.Join(row.Notes, ";"), "replicas 3 → 0") {
		t.Errorf("sync row of deployment web: %+v, want a standby note", row)
	}
	if !strings.Contains(r.stderr, "green is standby") {
		t.Errorf("sync --standby stderr does not say green is standby:\n%s", r.stderr)
	}
	assertParked(t)

	// Back out of the standby into blue, which has no record but runs the
	// workloads the copy would write over: refused, blue left running.
	mustKubectl(t, "--context", "blue", "-n", standbyNS, "rollout", "status", "deployment/web", "--timeout=120s")
	if r := tandem(t, "sync", "--source", "green", "--target", "blue", "--standby", "--namespace", standbyNS, "--journal-dir", journal); r.code != 2 ||
		!strings.Contains(r.stderr, "green is standby and blue runs") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("sync --standby from the standby into an unrecorded running cluster: exit %d, want 2 and one line naming what blue runs\n%s", r.code, r.stderr)
	}
	if o := getJSON(t, "blue", "deployment/web"); field(o, "spec", "replicas") != float64(3) {
		t.Errorf("blue's deployment web: replicas %v after the refused copy, want 3", field(o, "spec", "replicas"))
	}
	if ns := getJSON(t, "green", "namespace/"+standbyNS); field(ns, "metadata", "labels", "tandem.io/standby") != "true" {
		t.Errorf("green namespace not labelled tandem.io/standby=true: %v", field(ns, "metadata", "labels"))
	}

	// When a pipeline applies replicas 3 in green, it stays at 0 (or is refused).
	pr := kubectl(t, "--context", "green", "apply", "-f", writeManifest(t, "pipeline.yaml", extraDeployment))
	if pr.code != 0 {
		if !strings.Contains(pr.stderr, "cluster is standby (tandem)") {
			t.Fatalf("apply refused without the policy message: %s", pr.stderr)
		}
		t.Logf("apply of replicas 3 refused by the validating policy: %s", strings.TrimSpace(pr.stderr))
	} else if o := getJSON(t, "green", "deployment/pipeline"); field(o, "spec", "replicas") != float64(0) || annotation(o, "tandem.io/replicas") != "3" {
		t.Fatalf("pipeline deployment in standby green: replicas %v, tandem.io/replicas %q; want 0, \"3\"", field(o, "spec", "replicas"), annotation(o, "tandem.io/replicas"))
	} else {
		t.Logf("apply of replicas 3 kept at 0 by the mutating policy (tandem.io/replicas=3 recorded)")
	}
	// kubectl scale (the /scale subresource) is refused with the policy's message.
	// The policy takes a moment to be in force after it is bound: wait for it
	// with server-side dry runs (admission runs, nothing changes), then scale.
	eventually(t, 30*time.Second, func() error {
		sr := kubectl(t, "--context", "green", "-n", standbyNS, "scale", "deployment", "web", "--replicas", "3", "--dry-run=server")
		if sr.code == 0 || !strings.Contains(sr.stderr, "cluster is standby") {
			return fmt.Errorf("kubectl scale --replicas 3 --dry-run=server in standby green: exit %d %s", sr.code, sr.stderr)
		}
		return nil
	})
	if sr := kubectl(t, "--context", "green", "-n", standbyNS, "scale", "deployment", "web", "--replicas", "3"); sr.code == 0 || !strings.Contains(sr.stderr, "cluster is standby") {
		t.Fatalf("kubectl scale --replicas 3 in standby green: exit %d %s", sr.code, sr.stderr)
	}
	if o := getJSON(t, "green", "deployment/web"); field(o, "spec", "replicas") != float64(0) {
		t.Fatalf("web in standby green scaled to %v", field(o, "spec", "replicas"))
	}

	// A standby of an hour: the CronJob missed runs while parked. Blue made
	// them; activate must not start the latest at once.
	hourAgo := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	mustKubectl(t, "--context", "green", "-n", standbyNS, "patch", "cronjob", "report", "--subresource=status", "--type=merge",
		"-p", `{"status":{"lastScheduleTime":"`+hourAgo+`"}}`)

	// Then activate restores exactly what blue runs.
	activated := time.Now()
	act := mustTandem(t, "activate", "--cluster", "green", "--timeout", "3m", "--journal-dir", journal)
	if !strings.Contains(act, "green is active") {
		t.Errorf("activate output:\n%s", act)
	}
	for _, w := range []struct {
		ref  string
		want float64
	}{{"deployment/web", 3}, {"statefulset/db", 2}} {
		if r := field(getJSON(t, "green", w.ref), "spec", "replicas"); r != w.want {
			t.Errorf("green %s after activate: replicas %v, want %v", w.ref, r, w.want)
		}
	}
	if s := field(getJSON(t, "green", "cronjob/report"), "spec", "suspend"); s != false {
		t.Errorf("green cronjob/report after activate: suspend %v, want false", s)
	}
	sel, _ := json.Marshal(field(getJSON(t, "green", "daemonset/agent"), "spec", "template", "spec", "nodeSelector"))
	if string(sel) != `{"kubernetes.io/os":"linux"}` {
		t.Errorf("green daemonset/agent after activate: nodeSelector %s", sel)
	}
	eventually(t, 2*time.Minute, func() error {
		for app, n := range map[string]int{"web": 3, "db": 2} {
			phases := strings.Fields(mustKubectl(t, "--context", "green", "-n", standbyNS, "get", "pods", "-l", "app="+app, "-o", "jsonpath={.items[*].status.phase}"))
			running := 0
			for _, p := range phases {
				if p == "Running" {
					running++
				}
			}
			if running != n {
				return fmt.Errorf("%s: %d pods Running (%v), want %d", app, running, phases, n)
			}
		}
		return nil
	})
	if st := kubectl(t, "--context", "green", "-n", "tandem-system", "get", "configmap", "standby"); st.code == 0 {
		t.Errorf("standby marker still in green after activate")
	}
	// A Job of the CronJob is named after its scheduled minute: none is of
	// a time before activate (a run missed while parked).
	for _, j := range strings.Fields(mustKubectl(t, "--context", "green", "-n", standbyNS, "get", "jobs", "-o", "jsonpath={.items[*].metadata.name}")) {
		minute, err := strconv.ParseInt(strings.TrimPrefix(j, "report-"), 10, 64)
		if err == nil && minute*60 < activated.Unix() {
			t.Errorf("green job %s was scheduled at %s, before activate (%s): a run missed while parked started", j, time.Unix(minute*60, 0).UTC(), activated.UTC())
		}
	}

	// And deactivate parks it all again.
	mustTandem(t, "deactivate", "--cluster", "green", "--namespace", standbyNS, "--journal-dir", journal)
	assertParked(t)
	// Only the namespace named: a Deployment elsewhere keeps its replicas.
	other := standbyNS + "-other"
	mustKubectl(t, "--context", "green", "create", "namespace", other)
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "namespace", other, "--wait=false") })
	if r := kubectl(t, "--context", "green", "-n", other, "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "--replicas=2", "--dry-run=server", "-o", "json"); r.code != 0 {
		t.Errorf("a Deployment in %s, not named by deactivate --namespace: refused: %s", other, r.stderr)
	} else {
		var o map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &o); err != nil || field(o, "spec", "replicas") != float64(2) {
			t.Errorf("a Deployment in %s, not named by deactivate --namespace: replicas %v, want 2 (%v)", other, field(o, "spec", "replicas"), err)
		}
	}

	// A rollout in standby (a mirrored image change) leaves the older
	// ReplicaSet with the tandem.io/replicas the Deployment controller copied
	// to it: activate restores the Deployment alone, and no pod of the old
	// revision starts.
	mustKubectl(t, "--context", "green", "-n", standbyNS, "set", "image", "deployment/web", "web=nginx:next")
	eventually(t, 30*time.Second, func() error {
		rs := mustKubectl(t, "--context", "green", "-n", standbyNS, "get", "rs", "-l", "app=web", "-o", `jsonpath={range .items[*]}{.metadata.annotations.tandem\.io/replicas}{" "}{end}`)
		if n := len(strings.Fields(rs)); n < 2 {
			return fmt.Errorf("ReplicaSets of web carrying tandem.io/replicas: %q, want 2", rs)
		}
		return nil
	})
	act = mustTandem(t, "activate", "--cluster", "green", "--timeout", "3m", "--journal-dir", journal)
	if strings.Contains(act, "ReplicaSet") {
		t.Errorf("activate restored a ReplicaSet its Deployment controls:\n%s", act)
	}
	eventually(t, 2*time.Minute, func() error {
		images := strings.Fields(mustKubectl(t, "--context", "green", "-n", standbyNS, "get", "pods", "-l", "app=web", "--field-selector", "status.phase=Running", "-o", "jsonpath={.items[*].spec.containers[0].image}"))
		if len(images) != 3 || slices.ContainsFunc(images, func(i string) bool { return i != "nginx:next" }) {
			return fmt.Errorf("web's running pods run %v, want 3 of nginx:next and none of the old revision", images)
		}
		return nil
	})
}

func TestStandbyActivateNotStandby(t *testing.T) {
	labAtRest(t) // blue active, without the standby marker
	r := tandem(t, "activate", "--cluster", "blue", "--journal-dir", t.TempDir())
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "not standby") {
		t.Fatalf("activate on blue: exit %d, stderr %q; want exit 2 and one line saying not standby", r.code, r.stderr)
	}
}
