package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// The lab at rest is how TestMain's fresh lab starts, and what every test may
// assume at its start whatever ran before it (go test -shuffle=on):
//
//   - blue active: no standby marker, its workloads running;
//   - green a plain target: no standby marker, policy or parked workload;
//   - no role record (tandem-system/tandem-role) and no switchover lock
//     (tandem-system/tandem-switchover) in either cluster;
//   - HAProxy at blue 100 / green 0;
//   - blue's default node pool in service (not cordoned, not tainted).
//
// Green may hold copies of blue's namespaces that earlier syncs made (active,
// like the rest of green): no test assumes they are absent.

// labAtRest puts the lab at rest at the start of a test that depends on roles,
// weights or blue's nodes; when it already is, it only reads.
func labAtRest(t *testing.T) {
	t.Helper()
	if !putAtRest(t) {
		t.FailNow()
	}
}

// leaveLabAtRest puts the lab back at rest after a test that changes roles,
// weights, locks or drains (a failed test too), after the test's own cleanups.
func leaveLabAtRest(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { putAtRest(t) })
}

// pairWithGreenStandby is where a switchover starts from: the lab at rest,
// then green parked as blue's standby (every namespace it has deactivated,
// and a full standby sync from blue), records agreeing that blue is active,
// no mirror running. The lab is put back at rest after the test.
func pairWithGreenStandby(t *testing.T, journal string) {
	t.Helper()
	labAtRest(t)
	leaveLabAtRest(t)
	// A namespace being deleted cannot run the pods that activating it later waits for.
	waitNoTerminating(t)
	mustTandem(t, "deactivate", "--cluster", "green", "--journal-dir", journal)
	if r := tandem(t, "sync", "--source", "blue", "--target", "green", "--standby", "--journal-dir", journal); r.code > 1 {
		t.Fatalf("sync --standby: exit %d\n%s", r.code, r.stderr)
	}
	st, r := pairStatus(t)
	if st.Verdict.Active != "blue" || r.code != 0 {
		t.Fatalf("green standby of blue: status exit %d, active %q, warnings %v\n%s", r.code, st.Verdict.Active, st.Warnings, r.stderr)
	}
}

// putAtRest does what it takes to put the lab at rest, through the CLI as a
// user would (hack/demo.sh does the same at its start), and says whether it
// is. Failures are test errors, not fatal, so that as a cleanup it does every
// step it can.
func putAtRest(t *testing.T) bool {
	t.Helper()
	journal, err := os.MkdirTemp("", "tandem-e2e-rest-")
	if err != nil {
		t.Error(err)
		return false
	}
	defer os.RemoveAll(journal)
	ok := true
	run := func(what string, args ...string) {
		t.Helper()
		if r := tandem(t, args...); r.code != 0 {
			t.Errorf("putting the lab at rest: %s: tandem %s: exit %d\n%s%s", what, strings.Join(args, " "), r.code, r.stdout, r.stderr)
			ok = false
		}
	}
	kube := func(what string, args ...string) {
		t.Helper()
		if r := kubectl(t, args...); r.code != 0 {
			t.Errorf("putting the lab at rest: %s: kubectl %s: exit %d\n%s", what, strings.Join(args, " "), r.code, r.stderr)
			ok = false
		}
	}

	st, _ := pairStatus(t)
	changed := false
	// No mirror: one a test killed keeps its lease until it runs out; a pause
	// a switchover asked of one stays asked (the paused acknowledgement of a
	// mirror that is gone means nothing: the next one starts unpaused).
	for _, c := range st.Clusters {
		if m := c.Mirror; m != nil && (m.Live || m.Pausing) {
			waitNoLiveMirror(t, c.Context)
			if m.Pausing {
				run("mirror resume "+c.Context, "mirror", "resume", "--target", c.Context)
			}
			changed = true
		}
	}
	// A lock left by a run that was killed (its process is gone: every test
	// kills what it starts) would refuse the next switchover or drill.
	for _, c := range st.Clusters {
		if c.Lock != nil {
			kube("switchover lock", "--context", c.Context, "-n", "tandem-system", "delete", "lease", "tandem-switchover", "--ignore-not-found")
			changed = true
		}
	}
	// Both clusters active: activate restores every parked workload exactly.
	var parked []string
	for _, c := range st.Clusters {
		if c.Standby {
			parked = append(parked, c.Context)
		}
	}
	if len(parked) > 0 {
		waitNoTerminating(t)
		for _, c := range parked {
			run("activate "+c, "activate", "--cluster", c, "--journal-dir", journal)
		}
		changed = true
	}
	// No records: the next test's roles follow from the standby markers alone,
	// as on a fresh lab (activate above wrote one).
	for _, c := range st.Clusters {
		if c.Record != nil || len(parked) > 0 {
			kube("role record", "--context", c.Context, "-n", "tandem-system", "delete", "configmap", "tandem-role", "--ignore-not-found")
			changed = true
		}
	}
	// All traffic on blue, as the router reports it (the state file follows too).
	if w := st.Weights["clusters"]; w["blue"] != 100 || w["green"] != 0 || len(w) != 2 {
		run("weights blue 100 / green 0", "shift", "--router", shiftRouter(), "--from", "blue", "--to", "green", "--rollback", "--journal-dir", journal)
		changed = true
	}
	// Blue's old pool back in service after a drain.
	nodes := kubectl(t, "--context", "blue", "get", "nodes", "-l", "tandem.io/pool=default",
		"-o", `jsonpath={range .items[*]}{.spec.unschedulable} {.spec.taints[*].key}{"\n"}{end}`).stdout
	if strings.Contains(nodes, "true") || strings.Contains(nodes, "migration") {
		run("undrain blue's default pool", "drain", "--cluster", "blue", "--nodes", "tandem.io/pool=default", "--undo", "--journal-dir", journal)
		changed = true
	}
	if !changed {
		return ok
	}
	if err := atRest(t); err != nil {
		t.Errorf("the lab is not at rest after putting it there: %v", err)
		return false
	}
	return ok
}

// atRest says how the lab differs from at rest (nil: it does not).
func atRest(t *testing.T) error {
	t.Helper()
	st, _ := pairStatus(t)
	var diffs []string
	for _, c := range st.Clusters {
		if c.Standby {
			diffs = append(diffs, c.Context+" carries the standby marker")
		}
		if c.Record != nil {
			diffs = append(diffs, fmt.Sprintf("%s has a record (%s at epoch %d)", c.Context, c.Record.Role, c.Record.Epoch))
		}
		if c.Lock != nil {
			diffs = append(diffs, fmt.Sprintf("%s has a switchover lock (%s)", c.Context, c.Lock.Holder))
		}
		if m := c.Mirror; m != nil && (m.Live || m.Pausing) {
			diffs = append(diffs, fmt.Sprintf("the mirror into %s is live %v, pause asked %v (%s)", c.Context, m.Live, m.Pausing, m.Holder))
		}
	}
	if w := shiftRuntimeWeights(t); w["blue"] != 100 || w["green"] != 0 {
		diffs = append(diffs, fmt.Sprintf("HAProxy weights %v", w))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s", strings.Join(diffs, "; "))
	}
	return nil
}

// mirrorState is the part of `tandem mirror status -o json` the tests read.
type mirrorState struct {
	Holder  string `json:"holder"`
	Live    bool   `json:"live"`
	Paused  bool   `json:"paused"`
	Pausing bool   `json:"pauseRequested"`
	Stats   struct {
		Events int64 `json:"events"`
	} `json:"stats"`
}

// readMirrorState reads the mirror lease of target (nil: no mirror ever ran into it).
func readMirrorState(t *testing.T, target string) *mirrorState {
	t.Helper()
	out := mustTandem(t, "mirror", "status", "--target", target, "-o", "json")
	var st *mirrorState
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("mirror status -o json: %v\n%s", err, out)
	}
	return st
}

// waitNoLiveMirror waits until no mirror holds target's lease: a mirror a
// test killed (-9) keeps it until the lease runs out.
func waitNoLiveMirror(t *testing.T, target string) {
	t.Helper()
	eventually(t, time.Minute, func() error {
		if st := readMirrorState(t, target); st != nil && st.Live {
			return fmt.Errorf("a mirror into %s is live: %s", target, st.Holder)
		}
		return nil
	})
}

// mirrorEvents is a counter of the mirror's /metrics at addr: the events of
// resource and type from the source cluster blue it has taken in (counted
// when they arrive, paused or not).
func mirrorEvents(addr, resource, typ string) (float64, error) {
	resp, err := httpClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "tandem_mirror_events_total{") {
			continue
		}
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, "tandem_mirror_events_total{"), "} ")
		if !ok || !strings.Contains(labels, `cluster="blue"`) || !strings.Contains(labels, `resource="`+resource+`"`) || !strings.Contains(labels, `type="`+typ+`"`) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(value, &v); err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		return v, nil
	}
	return 0, nil // none counted yet
}

// waitMirrorEvents waits until the mirror at addr has taken in more than
// before events of resource and type: the change made since has reached it.
func waitMirrorEvents(t *testing.T, addr, resource, typ string, before float64) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		n, err := mirrorEvents(addr, resource, typ)
		if err != nil {
			return err
		}
		if n <= before {
			return fmt.Errorf("the mirror has taken in %v %s %s events, not yet more than %v", n, resource, typ, before)
		}
		return nil
	})
}
