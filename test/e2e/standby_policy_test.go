package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A standby holds every namespace, those created after the standby sync
// too: a Job is created suspended (or refused), a bare Pod is refused, a
// Deployment stays at 0, a DaemonSet applied with its own nodeSelector is
// parked again (refused where the cluster has no MutatingAdmissionPolicy) —
// and no pod starts.
func TestStandbyHoldsNamespacesCreatedLater(t *testing.T) {
	pairWithGreenStandby(t, t.TempDir())
	ns := fmt.Sprintf("e2e-later-%d", time.Now().Unix()%100000)
	mustKubectl(t, "--context", "green", "create", "namespace", ns)
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "namespace", ns, "--wait=false") })
	k := func(args ...string) result {
		return kubectl(t, append([]string{"--context", "green", "-n", ns}, args...)...)
	}
	held := func(r result, jsonpath func(map[string]any) bool) bool {
		if r.code != 0 {
			return strings.Contains(r.stderr, "cluster is standby")
		}
		var o map[string]any
		return json.Unmarshal([]byte(r.stdout), &o) == nil && jsonpath(o)
	}
	suspended := func(o map[string]any) bool { return field(o, "spec", "suspend") == true }
	atZero := func(o map[string]any) bool { return field(o, "spec", "replicas") == float64(0) }
	// The policy is in force in a moment: server-side dry runs (admission runs, nothing is made).
	eventually(t, 30*time.Second, func() error {
		if r := k("create", "job", "probe", "--image=registry.k8s.io/pause:3.10", "--dry-run=server", "-o", "json"); !held(r, suspended) {
			return fmt.Errorf("a Job in %s is not held yet: exit %d %s", ns, r.code, r.stderr)
		}
		return nil
	})
	if r := k("create", "job", "migrate", "--image=registry.k8s.io/pause:3.10", "-o", "json"); !held(r, suspended) {
		t.Fatalf("kubectl create job in standby green: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := k("run", "bare", "--image=registry.k8s.io/pause:3.10", "--restart=Never"); r.code == 0 || !strings.Contains(r.stderr, "cluster is standby") {
		t.Fatalf("kubectl run (a bare Pod) in standby green: exit %d\n%s", r.code, r.stderr)
	}
	if r := k("create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "--replicas=2", "-o", "json"); !held(r, atZero) {
		t.Fatalf("kubectl create deployment in standby green: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	ds := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","namespace":%q},"spec":{
		"selector":{"matchLabels":{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"}},"spec":{
		"nodeSelector":{"kubernetes.io/os":"linux"},"containers":[{"name":"a","image":"registry.k8s.io/pause:3.10"}]}}}}`, ns)
	r := k("apply", "-f", writeManifest(t, "ds.json", ds))
	if standbyPolicyKind(t, "green") == "MutatingAdmissionPolicy" {
		// Parked again, its own nodeSelector recorded for activate.
		if r.code != 0 {
			t.Fatalf("a DaemonSet re-applied in standby green (mutating policy): exit %d\n%s", r.code, r.stderr)
		}
		o := objJSON(t, "green", ns, "daemonset/agent")
		sel := field(o, "spec", "template", "spec", "nodeSelector")
		if want := map[string]any{"tandem.io/standby": "parked"}; fmt.Sprint(sel) != fmt.Sprint(want) || annotation(o, "tandem.io/node-selector") != `{"kubernetes.io/os":"linux"}` {
			t.Fatalf("DaemonSet in standby green: nodeSelector %v, tandem.io/node-selector %q; want %v and the original recorded", sel, annotation(o, "tandem.io/node-selector"), want)
		}
	} else if r.code == 0 || !strings.Contains(r.stderr, "cluster is standby") {
		t.Fatalf("a DaemonSet without its parking in standby green (validating policy): exit %d\n%s", r.code, r.stderr)
	}
	// Sentinels: the controllers have seen both (the Job suspended, the
	// Deployment's ReplicaSet made at 0) — and no pod runs.
	eventually(t, 30*time.Second, func() error {
		if c := k("get", "job", "migrate", "-o", `jsonpath={.status.conditions[?(@.type=="Suspended")].status}`).stdout; c != "True" && k("get", "job", "migrate").code == 0 {
			return fmt.Errorf("job migrate not seen suspended yet (%q)", c)
		}
		if n := k("get", "replicasets", "-o", "name").stdout; strings.TrimSpace(n) == "" && k("get", "deployment", "web").code == 0 {
			return fmt.Errorf("web's ReplicaSet not made yet")
		}
		return nil
	})
	if pods := strings.TrimSpace(k("get", "pods", "-o", "name").stdout); pods != "" {
		t.Fatalf("pods run in a standby: %s", pods)
	}
}

// standbyPolicyKind is the admission policy kind the standby marker of ctx records.
func standbyPolicyKind(t *testing.T, ctx string) string {
	t.Helper()
	return mustKubectl(t, "--context", ctx, "-n", "tandem-system", "get", "configmap", "standby", "-o", "jsonpath={.data.policy}")
}
