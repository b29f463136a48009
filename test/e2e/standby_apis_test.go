package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// An aggregated API served from a namespace a standby parks would answer
// nothing there, and the cluster's discovery of it would fail (a namespace
// deleted meanwhile stays Terminating, every kubectl warns): deactivate
// holds it back — gone from the cluster, kept in
// tandem-system/tandem-held-apiservices — and parks the namespace; the
// cluster's discovery is whole again (a namespace deleted then goes);
// activate writes it back.
func TestDeactivateHoldsBackTheAggregatedAPIsItStops(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	ns := fmt.Sprintf("e2e-standby-api-%d", time.Now().Unix()%100000)
	const group = "e2e-parked.tandem.io"
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "apiservice", "v1."+group, "--ignore-not-found")
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "api", "--image", "registry.example/api:1", "--replicas", "2")
	brokenAPIService(t, "blue", group, "v1", ns, "api")
	// While it answers nothing, a namespace deleted in blue stays Terminating.
	stuck := ns + "-stuck"
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", stuck, "--wait=false", "--ignore-not-found")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", stuck)
	mustKubectl(t, "--context", "blue", "delete", "namespace", stuck, "--wait=false")
	eventually(t, time.Minute, func() error {
		st := kubectl(t, "--context", "blue", "get", "namespace", stuck, "-o", `jsonpath={.status.conditions[?(@.type=="NamespaceDeletionDiscoveryFailure")].status}`).stdout
		if st != "True" {
			return errString("namespace " + stuck + ": NamespaceDeletionDiscoveryFailure=" + st)
		}
		return nil
	})

	journal := t.TempDir()
	r := tandem(t, "deactivate", "--cluster", "blue", "--namespace", ns, "--timeout", "60s", "--journal-dir", journal)
	if r.code != 0 {
		t.Fatalf("deactivate: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "v1."+group) || !strings.Contains(r.stdout, "held back until activate") {
		t.Errorf("deactivate did not say it holds back APIService v1.%s:\n%s", group, r.stdout)
	}
	if got := mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", "api", "-o", "jsonpath={.spec.replicas}"); got != "0" {
		t.Errorf("deployment api in the parked namespace: replicas %q, want 0", got)
	}
	heldIn(t, "blue", "v1."+group, true)
	// Discovery is whole: a namespace deleted now goes.
	gone := ns + "-gone"
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", gone, "--wait=false", "--ignore-not-found")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", gone)
	mustKubectl(t, "--context", "blue", "create", "configmap", "x", "-n", gone)
	if r := kubectl(t, "--context", "blue", "delete", "namespace", gone, "--timeout=90s"); r.code != 0 {
		t.Errorf("namespace %s deleted after deactivate: exit %d (still Terminating?)\n%s%s", gone, r.code, r.stderr,
			kubectl(t, "--context", "blue", "get", "namespace", gone, "-o", "jsonpath={.status.conditions}").stdout)
	}

	mustTandem(t, "activate", "--cluster", "blue", "--timeout", "2m", "--journal-dir", journal)
	if got := mustKubectl(t, "--context", "blue", "get", "apiservice", "v1."+group, "-o", "jsonpath={.spec.service.namespace}/{.spec.service.name}"); got != ns+"/api" {
		t.Errorf("APIService v1.%s after activate: service %q, want %s/api", group, got, ns)
	}
	if r := kubectl(t, "--context", "blue", "-n", "tandem-system", "get", "configmap", "tandem-held-apiservices", "--ignore-not-found", "-o", "name"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("the stash is still there after activate: %s", r.stdout)
	}
}

// `sync --standby` of a namespace whose Service backs an aggregated API
// holds the copy of the APIService back in the standby (the standby's
// discovery stays whole) and activate writes it back.
func TestStandbySyncHoldsBackAnAggregatedAPI(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	ns := fmt.Sprintf("e2e-standby-held-%d", time.Now().Unix()%100000)
	const group = "e2e-held.tandem.io"
	apiBackendInBlue(t, ns, group)
	brokenAPIService(t, "blue", group, "v1", ns, "api")

	// plan says what an aggregated API the target lacks does there until
	// its backend answers.
	arriving := func() []preflight.Finding {
		t.Helper()
		pr := tandem(t, "plan", "--source", "blue", "--target", "green", "--only", "webhooks", "-o", "json")
		var rep preflight.Report
		if err := json.Unmarshal([]byte(pr.stdout), &rep); err != nil {
			t.Fatalf("plan --only webhooks: %v\n%s%s", err, pr.stdout, pr.stderr)
		}
		var out []preflight.Finding
		for _, f := range planFind(&rep, "webhooks", "v1."+group, "") {
			if strings.Contains(f.Message, "comes across in the last wave") {
				out = append(out, f)
			}
		}
		return out
	}
	if fs := arriving(); len(fs) != 1 || !strings.Contains(fs[0].Message, "until its backend "+ns+"/api answers in the target, the target's discovery of "+group+"/v1 fails, and its namespace controller deletes no namespace") {
		t.Errorf("plan's finding on APIService v1.%s, which green lacks: %+v", group, fs)
	}

	journal := t.TempDir()
	r := tandem(t, "sync", "--source", "blue", "--target", "green", "--standby", "--namespace", ns, "--journal-dir", journal)
	if r.code != 0 {
		t.Fatalf("sync --standby: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "APIService v1."+group+" held back until activate") {
		t.Errorf("sync --standby did not say it holds back APIService v1.%s:\n%s", group, r.stderr)
	}
	if r := kubectl(t, "--context", "green", "get", "apiservice", "v1."+group, "--ignore-not-found", "-o", "name"); strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("green, standby, has APIService v1.%s: %s", group, r.stdout)
	}
	heldIn(t, "green", "v1."+group, true)
	st, _ := pairStatus(t)
	for _, c := range st.Clusters {
		if c.Context == "green" && !slices.Contains(c.HeldAPIServices, "v1."+group) {
			t.Errorf("status: green holds back %v, want v1.%s among them", c.HeldAPIServices, group)
		}
	}
	// Again: held as it was, nothing else written.
	if r := tandem(t, "sync", "--source", "blue", "--target", "green", "--standby", "--namespace", ns, "--journal-dir", journal); r.code != 0 {
		t.Fatalf("sync --standby again: exit %d\n%s", r.code, r.stderr)
	}
	heldIn(t, "green", "v1."+group, true)
	// A copy in the source's form into the standby is said to be one; the
	// standby form's is not.
	const warned = "warning: green is standby, and this copy writes the source's form"
	if r := tandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", ns, "--dry-run", "--journal-dir", journal); !strings.Contains(r.stderr, warned) {
		t.Errorf("a plain sync --dry-run into standby green did not warn (exit %d):\n%s", r.code, r.stderr)
	}
	if r := tandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", ns, "--standby", "--dry-run", "--journal-dir", journal); strings.Contains(r.stderr, warned) {
		t.Errorf("sync --standby --dry-run warned of the source's form:\n%s", r.stderr)
	}

	mustTandem(t, "activate", "--cluster", "green", "--timeout", "2m", "--journal-dir", journal)
	if got := mustKubectl(t, "--context", "green", "get", "apiservice", "v1."+group, "-o", "jsonpath={.spec.service.namespace}/{.spec.service.name}"); got != ns+"/api" {
		t.Errorf("APIService v1.%s in green after activate: service %q, want %s/api", group, got, ns)
	}
	heldIn(t, "green", "v1."+group, false)
	if fs := arriving(); len(fs) != 0 {
		t.Errorf("plan still says APIService v1.%s comes across, though green has it: %+v", group, fs)
	}
	// Written back as tandem's copy: a plain sync finds it unchanged.
	out, _ := syncJSON(t, journal, 0, "--namespace", ns)
	found := false
	for _, res := range out.Results {
		if res.Kind == "APIService" && res.Name == "v1."+group {
			found = true
			if res.Status != "unchanged" {
				t.Errorf("APIService v1.%s after activate, synced again: %s (%s), want unchanged", group, res.Status, res.Reason)
			}
		}
	}
	if !found {
		t.Errorf("sync --namespace %s did not bring APIService v1.%s along: %+v", ns, group, out.Results)
	}
}

// The mirror in standby form holds back an APIService made in the source
// calling a Service of a parked namespace, and drops it from the stash when
// the source deletes it (--prune).
func TestStandbyMirrorHoldsBackAnAggregatedAPI(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	ns := fmt.Sprintf("e2e-mirror-held-%d", time.Now().Unix()%100000)
	const group = "e2e-mirror-held.tandem.io"
	apiBackendInBlue(t, ns, group)
	journal := t.TempDir()
	if r := tandem(t, "sync", "--source", "blue", "--target", "green", "--standby", "--namespace", ns, "--journal-dir", journal); r.code != 0 {
		t.Fatalf("sync --standby: exit %d\n%s", r.code, r.stderr)
	}

	var run *bgRun
	start := func() (stop func()) {
		waitNoLiveMirror(t, "green")
		run = startTandem(t, "mirror", "--source", "blue", "--target", "green", "--standby", "--prune", "-n", ns,
			"--duration", "5m", "--progress-every", "2s", "-v")
		stopped := false
		stop = func() {
			if !stopped {
				stopped = true
				_ = run.cmd.Process.Signal(syscall.SIGTERM)
				<-run.done
				_ = run.cmd.Wait()
			}
		}
		t.Cleanup(stop)
		run.waitFor(t, "initial pass done", 2*time.Minute)
		return stop
	}
	stop := start()

	brokenAPIService(t, "blue", group, "v1", ns, "api")
	waitHeld(t, "green", "v1."+group, true, "not held in green yet")
	if r := kubectl(t, "--context", "green", "get", "apiservice", "v1."+group, "--ignore-not-found", "-o", "name"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("green, standby, has APIService v1.%s: %s", group, r.stdout)
	}
	// Its backend's namespace exempt (its workloads run in the standby):
	// the APIService is written, and no longer held; and held again when
	// the label goes.
	mustKubectl(t, "--context", "blue", "label", "namespace", ns, "tandem.io/standby-exempt=true")
	eventually(t, time.Minute, func() error {
		if held(t, "green", "v1."+group) {
			return errString("APIService v1." + group + " still held in green, its namespace exempt")
		}
		if r := kubectl(t, "--context", "green", "get", "apiservice", "v1."+group, "-o", "name"); r.code != 0 {
			return errString("APIService v1." + group + " not written to green: " + r.stderr)
		}
		return nil
	})
	mustKubectl(t, "--context", "blue", "label", "namespace", ns, "tandem.io/standby-exempt-")
	waitHeld(t, "green", "v1."+group, true, "not held again in green")
	if r := kubectl(t, "--context", "green", "get", "apiservice", "v1."+group, "--ignore-not-found", "-o", "name"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("green, standby, has APIService v1.%s once held again: %s", group, r.stdout)
	}
	mustKubectl(t, "--context", "blue", "delete", "apiservice", "v1."+group)
	waitHeld(t, "green", "v1."+group, false, "still held in green after its delete in blue")

	// Deleted in blue while no mirror ran: the next one's start finds it.
	brokenAPIService(t, "blue", group, "v1", ns, "api")
	waitHeld(t, "green", "v1."+group, true, "not held in green again")
	stop()
	mustKubectl(t, "--context", "blue", "delete", "apiservice", "v1."+group)
	start()
	eventually(t, time.Minute, func() error {
		if held(t, "green", "v1."+group) {
			run.mu.Lock()
			defer run.mu.Unlock()
			return errString("APIService v1." + group + " still held in green after its delete in blue while no mirror ran; the mirror said:\n" + run.stderr.String())
		}
		return nil
	})
}

// apiBackendInBlue makes namespace ns in blue with a Deployment and Service
// api, the backend of an aggregated API of group; the namespace and the
// group's v1 APIService go from both clusters after the test.
func apiBackendInBlue(t *testing.T, ns, group string) {
	t.Helper()
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "apiservice", "v1."+group, "--ignore-not-found")
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "api", "--image", "registry.example/api:1", "--replicas", "1")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "service", "clusterip", "api", "--tcp", "443:443")
}

// held says whether cluster's stash of held-back APIServices holds name.
func held(t *testing.T, cluster, name string) bool {
	t.Helper()
	r := kubectl(t, "--context", cluster, "-n", "tandem-system", "get", "configmap", "tandem-held-apiservices", "--ignore-not-found",
		"-o", "jsonpath={.data}")
	return strings.Contains(r.stdout, `"`+name+`"`)
}

// waitHeld waits up to a minute until cluster's stash holds name (want) or
// not; what fails says it is still so.
func waitHeld(t *testing.T, cluster, name string, want bool, still string) {
	t.Helper()
	eventually(t, time.Minute, func() error {
		if held(t, cluster, name) != want {
			return errString("APIService " + name + " " + still)
		}
		return nil
	})
}

// heldIn checks whether cluster's stash of held-back APIServices holds name.
func heldIn(t *testing.T, cluster, name string, want bool) {
	t.Helper()
	if got := held(t, cluster, name); got != want {
		t.Errorf("%s's held APIServices: want %s held: %v", cluster, name, want)
	}
}
