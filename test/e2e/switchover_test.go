package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/switchover"
)

// bgRun is a tandem command running in the background, its stderr scanned.
type bgRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	stdout bytes.Buffer // read it once the command has ended
	done   chan struct{}
	killOn string // a line containing it gets the process killed (-9) at once
}

func startTandem(t *testing.T, args ...string) *bgRun {
	t.Helper()
	return startTandemKillOn(t, "", args...)
}

// startTandemKillOn starts tandem and kills it (-9) the moment a line of its
// stderr contains killOn ("" never): as a crash right after that point would.
func startTandemKillOn(t *testing.T, killOn string, args ...string) *bgRun {
	t.Helper()
	r := &bgRun{done: make(chan struct{}), killOn: killOn}
	r.cmd = exec.Command(lab.bin, args...)
	r.cmd.Env = append(os.Environ(), "KUBECONFIG="+lab.kubeconfig, "TANDEM_SOURCE=", "TANDEM_TARGET=")
	r.cmd.Stdout = &r.stdout
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if r.killOn != "" && strings.Contains(sc.Text(), r.killOn) {
				_ = r.cmd.Process.Signal(syscall.SIGKILL)
			}
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	return r
}

func (r *bgRun) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// waitFor waits until stderr contains s (bounded).
func (r *bgRun) waitFor(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		if strings.Contains(r.log(), s) {
			return nil
		}
		select {
		case <-r.done:
			t.Fatalf("the command ended before saying %q:\n%s", s, r.log())
		default:
		}
		return fmt.Errorf("stderr does not say %q yet", s)
	})
}

// stop ends the command as an operator's Ctrl-C or a pod's termination
// does (SIGTERM), and fails the test unless it ends cleanly.
func (r *bgRun) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-r.done
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("%s after SIGTERM: %v\n%s", strings.Join(r.cmd.Args[1:2], ""), err, r.log())
	}
}

// kill9 kills the process the way a crash would.
func (r *bgRun) kill9(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Wait()
	<-r.done
}

type statusOut struct {
	Clusters []struct {
		Context string `json:"context"`
		Role    string `json:"role"`
		Record  *struct {
			Role  string `json:"role"`
			Epoch int64  `json:"epoch"`
		} `json:"record"`
		Standby   bool `json:"standbyMarker"`
		Workloads struct {
			Desired   int64 `json:"desiredReplicas"`
			Available int64 `json:"availableReplicas"`
		} `json:"workloads"`
		Lock *struct {
			Holder string `json:"holder"`
		} `json:"lock"`
		Mirror          *mirrorState `json:"mirror"` // the mirror writing into it
		HeldAPIServices []string     `json:"heldAPIServices"`
	} `json:"clusters"`
	Verdict struct {
		Active string `json:"active"`
		Epoch  int64  `json:"epoch"`
	} `json:"verdict"`
	Weights  map[string]map[string]int `json:"weights"`
	Warnings []string                  `json:"warnings"`
}

func pairStatus(t *testing.T) (statusOut, result) {
	t.Helper()
	r := tandem(t, "status", "--source", "blue", "--target", "green", "--router", shiftRouter(), "-o", "json")
	var st statusOut
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return st, r
}

// assertActive checks the records agree that active is active, and the router sends it everything.
func assertActive(t *testing.T, active string) statusOut {
	t.Helper()
	st, r := pairStatus(t)
	if r.code != 0 || st.Verdict.Active != active || len(st.Warnings) > 0 {
		t.Fatalf("status: exit %d, active %q (want %q), warnings %v\n%s", r.code, st.Verdict.Active, active, st.Warnings, r.stderr)
	}
	var epochs []int64
	for _, c := range st.Clusters {
		if c.Record == nil {
			t.Fatalf("%s has no record after a switchover", c.Context)
		}
		epochs = append(epochs, c.Record.Epoch)
		wantRole := "standby"
		if c.Context == active {
			wantRole = "active"
		}
		if c.Record.Role != wantRole || c.Standby != (wantRole == "standby") {
			t.Fatalf("%s: record role %s, standby marker %v; want %s", c.Context, c.Record.Role, c.Standby, wantRole)
		}
		if wantRole == "active" && (c.Workloads.Desired == 0 || c.Workloads.Available != c.Workloads.Desired) {
			t.Fatalf("%s is active but its workloads are %d/%d available", c.Context, c.Workloads.Available, c.Workloads.Desired)
		}
	}
	if epochs[0] != epochs[1] {
		t.Fatalf("records at different epochs after a clean switchover: %v", epochs)
	}
	if w := st.Weights["clusters"]; w[active] != 100 || len(w) != 2 {
		t.Fatalf("router weights %v; want all on %s", st.Weights, active)
	}
	return st
}

func TestSwitchover(t *testing.T) {
	jdir := t.TempDir()
	gate := []string{"--router", shiftRouter(), "--gate-http", "http://" + lab.haproxy + "/", "--gate-host", "app.example", "--journal-dir", jdir}
	sw := func(to string, extra ...string) []string {
		return append(append([]string{"switchover", "--source", "blue", "--target", "green", "--to", to}, gate...), extra...)
	}

	// Given green as blue's standby, and the router on blue; the lab is put
	// back at rest afterwards (blue active, green a plain target, no records
	// or locks, blue 100 / green 0), whatever state a failed step left.
	pairWithGreenStandby(t, jdir)

	t.Run("status before any switchover", func(t *testing.T) {
		st, r := pairStatus(t)
		if st.Verdict.Active != "blue" || r.code != 0 {
			t.Fatalf("status: exit %d, active %q, warnings %v", r.code, st.Verdict.Active, st.Warnings)
		}
	})

	t.Run("a switchover pauses the mirror into the standby and leaves it paused", func(t *testing.T) {
		metrics := freePort(t)
		m := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--standby", "-v", "--duration", "5m", "--namespace", "shop", "--metrics-addr", metrics)
		m.waitFor(t, "initial pass done", 2*time.Minute)
		r := tandem(t, sw("green", "--steps", "100", "--pause", "0s")...)
		if r.code != 0 || !strings.Contains(r.stderr, "[pause-mirror] pausing the mirror into green") || !strings.Contains(r.stdout, "stays paused") {
			t.Fatalf("switchover with a live mirror: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		st := mustTandem(t, "mirror", "status", "--target", "green", "-o", "json")
		if !strings.Contains(st, `"paused": true`) || !strings.Contains(st, `"live": true`) {
			t.Fatalf("mirror after the switchover:\n%s", st)
		}
		// blue is the standby now: what changes there must not reach the active green.
		// Once the paused mirror has taken the change in (its event counted), it
		// holds it: the copy, if it were made, would be made then.
		before, err := mirrorEvents(metrics, "configmaps", "add")
		if err != nil {
			t.Fatal(err)
		}
		mustKubectl(t, "--context", "blue", "-n", "shop", "create", "configmap", "e2e-after-switchover", "--from-literal=a=1")
		t.Cleanup(func() { kubectl(t, "--context", "blue", "-n", "shop", "delete", "configmap", "e2e-after-switchover") })
		waitMirrorEvents(t, metrics, "configmaps", "add", before)
		if r := kubectl(t, "--context", "green", "-n", "shop", "get", "configmap", "e2e-after-switchover"); r.code == 0 {
			t.Fatal("the paused mirror copied a change from the standby into the active cluster")
		}
		back := tandem(t, sw("blue", "--steps", "100", "--pause", "0s")...)
		if back.code != 0 || !strings.Contains(back.stdout, "no mirror running into blue") {
			t.Fatalf("switchover back: exit %d\n%s\n%s", back.code, back.stdout, back.stderr)
		}
		if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-m.done
		_ = m.cmd.Wait()
		assertActive(t, "blue")
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"switchover", "--source", "blue", "--target", "green"}, "needs --to"},
			{[]string{"switchover", "--source", "blue", "--target", "green", "--to", "purple"}, "purple"},
			{sw("blue"), "blue is not standby"},
			{sw("green", "--source-unreachable"), "but blue answers"},
			{sw("green", "--steps", "50,140"), "out of range"},
			{[]string{"status", "--source", "blue", "--target", "blue"}, "a pair needs two clusters"},
		} {
			r := tandem(t, c.args...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("tandem %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
			}
		}
	})

	t.Run("a second switchover is refused with the holder's name; kill -9 then re-run resumes", func(t *testing.T) {
		first := startTandem(t, sw("green", "--steps", "0,50,100", "--pause", "20s")...)
		first.waitFor(t, "[shift] shifting traffic", 2*time.Minute)

		second := tandem(t, sw("green", "--steps", "100", "--pause", "0s")...)
		pid := first.cmd.Process.Pid
		if second.code != 1 || !strings.Contains(second.stderr, "another switchover is running") || !strings.Contains(second.stderr, "pid "+strconv.Itoa(pid)) {
			t.Fatalf("second switchover: exit %d\n%s\nwant exit 1 naming pid %d", second.code, second.stderr, pid)
		}
		st, _ := pairStatus(t)
		for _, c := range st.Clusters {
			if c.Lock == nil || !strings.Contains(c.Lock.Holder, "pid "+strconv.Itoa(pid)) {
				t.Fatalf("status does not show the lock held by pid %d in %s", pid, c.Context)
			}
		}

		first.kill9(t)
		r := tandem(t, sw("green", "--steps", "0,50,100", "--pause", "1s")...)
		if r.code != 0 || !strings.Contains(r.stderr, "resuming interrupted switchover") || !strings.Contains(r.stderr, "took over the lock of a crashed run") {
			t.Fatalf("re-run after kill -9: exit %d\n%s", r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "last sync pass") || strings.Contains(r.stderr, "activating green") {
			t.Fatalf("the re-run repeated phases the killed run had finished:\n%s", r.stderr)
		}
		assertActive(t, "green")
	})

	t.Run("kill -9 mid-switchover, then --rollback puts everything back", func(t *testing.T) {
		before, _ := pairStatus(t)
		run := startTandem(t, sw("blue", "--steps", "0,50,100", "--pause", "20s")...)
		run.waitFor(t, "step 2/3 50%: verified", 2*time.Minute)
		run.kill9(t)
		r := tandem(t, sw("blue", "--rollback")...)
		if r.code != 0 || !strings.Contains(r.stderr, "undoing interrupted switchover") {
			t.Fatalf("--rollback: exit %d\n%s", r.code, r.stderr)
		}
		st := assertActive(t, "green")
		if st.Verdict.Epoch != before.Verdict.Epoch {
			t.Fatalf("rollback changed the epoch: %d → %d", before.Verdict.Epoch, st.Verdict.Epoch)
		}
		// Nothing left to roll back or resume.
		if r := tandem(t, sw("blue", "--rollback")...); r.code != 2 || !strings.Contains(r.stderr, "no interrupted switchover") {
			t.Fatalf("second --rollback: exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("kill -9 at every phase: the re-run finishes it, every workload back", func(t *testing.T) {
		to := "blue"
		if st, _ := pairStatus(t); st.Verdict.Active == "blue" {
			to = "green"
		}
		for _, phase := range switchover.Phases {
			run := startTandemKillOn(t, "["+phase+"]", sw(to, "--steps", "0,50,100", "--pause", "3s")...)
			select {
			case <-run.done: // killed at its first line of the phase (or ended)
			case <-time.After(5 * time.Minute):
				t.Fatalf("the switchover to %s neither reached %s nor ended in 5 minutes:\n%s", to, phase, run.log())
			}
			waitErr := run.cmd.Wait()
			if waitErr == nil {
				// It finished between its last line and the kill: nothing was interrupted.
				t.Logf("the switchover to %s ended before the kill at %s", to, phase)
			} else {
				r := tandem(t, sw(to, "--steps", "0,50,100", "--pause", "1s")...)
				if r.code != 0 || !strings.Contains(r.stderr, "resuming interrupted switchover") {
					t.Fatalf("re-run after kill -9 at %s: exit %d\n%s", phase, r.code, r.stderr)
				}
			}
			assertActive(t, to)
			// 0 lost: the new active runs every workload at its recorded replicas.
			eventually(t, 2*time.Minute, func() error {
				st, _ := pairStatus(t)
				for _, c := range st.Clusters {
					if c.Context == to && (c.Workloads.Desired == 0 || c.Workloads.Available < c.Workloads.Desired) {
						return fmt.Errorf("%s after a kill at %s: %d of %d replicas available", to, phase, c.Workloads.Available, c.Workloads.Desired)
					}
				}
				return nil
			})
			if to == "blue" {
				to = "green"
			} else {
				to = "blue"
			}
		}
	})

	t.Run("a failed gate rolls the switchover back", func(t *testing.T) {
		before, _ := pairStatus(t)
		r := tandem(t, sw("blue", "--steps", "0,100", "--pause", "1s", "--gate-command", "exit 3")...)
		if r.code != 1 || !strings.Contains(r.stderr, "switchover failed at shift") || !strings.Contains(r.stderr, "undone: ") {
			t.Fatalf("gate failure: exit %d\n%s", r.code, r.stderr)
		}
		st := assertActive(t, "green")
		if st.Verdict.Epoch != before.Verdict.Epoch {
			t.Fatalf("a rolled-back switchover changed the epoch: %d → %d", before.Verdict.Epoch, st.Verdict.Epoch)
		}
	})

	t.Run("drill under load: 0 failed requests, report written, result in the records", func(t *testing.T) {
		reports := t.TempDir()
		args := append([]string{"drill", "--source", "blue", "--target", "green", "--steps", "0,50,100", "--pause", "1s",
			"--probe", "http://" + lab.haproxy + "/", "--probe-host", "app.example", "--probe-header", "X-Tandem-Cluster", "--report-dir", reports, "-o", "json"}, gate...)
		r := tandem(t, args...)
		var rep struct {
			Passed bool `json:"passed"`
			Legs   []struct {
				From, To  string
				Completed bool
				Phases    []struct{ Phase string }
			} `json:"legs"`
			Probe struct {
				Sent, Failed int64
				ByCluster    map[string]int64
			} `json:"probe"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("drill -o json: %v\n%s\n%s", err, r.stdout, r.stderr)
		}
		if r.code != 0 || !rep.Passed || len(rep.Legs) != 2 || rep.Legs[0].To != "blue" || rep.Legs[1].To != "green" {
			t.Fatalf("drill: exit %d, %+v\n%s", r.code, rep, r.stderr)
		}
		if rep.Probe.Sent < 100 || rep.Probe.Failed != 0 || rep.Probe.ByCluster["blue"] == 0 || rep.Probe.ByCluster["green"] == 0 {
			t.Fatalf("probe during the drill: %+v", rep.Probe)
		}
		mds, _ := filepath.Glob(filepath.Join(reports, "drill-*.md"))
		jsons, _ := filepath.Glob(filepath.Join(reports, "drill-*.json"))
		if len(mds) != 1 || len(jsons) != 1 {
			t.Fatalf("reports written: %v %v", mds, jsons)
		}
		md, _ := os.ReadFile(mds[0])
		if !strings.Contains(string(md), "PASSED") || !strings.Contains(string(md), "| activate |") {
			t.Fatalf("markdown report:\n%s", md)
		}
		out := mustTandem(t, "status", "--source", "blue", "--target", "green")
		if strings.Count(out, " passed") < 2 {
			t.Fatalf("status does not show the last drill for both clusters:\n%s", out)
		}
		assertActive(t, "green")
	})

	t.Run("sync never parks the active cluster", func(t *testing.T) {
		// green is active, blue standby (after the drill).
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"sync", "--source", "blue", "--target", "green", "--standby", "--journal-dir", jdir}, "green is the active cluster"},
			{[]string{"sync", "--source", "blue", "--target", "green", "--journal-dir", jdir}, "blue is standby"},
			// A mirror is a sync that goes on: the same refusals.
			{[]string{"mirror", "--source", "blue", "--target", "green", "--standby", "--duration", "30s"}, "green is the active cluster"},
			{[]string{"mirror", "--source", "blue", "--target", "green", "--duration", "30s"}, "blue is standby"},
		} {
			if r := tandem(t, c.args...); r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("tandem %s: exit %d, want 2 with %q\n%s", strings.Join(c.args, " "), r.code, c.want, r.stderr)
			}
		}
		// A dry run writes nothing: it shows the plan and says it would be refused.
		r := tandem(t, "sync", "--source", "blue", "--target", "green", "--journal-dir", jdir, "--dry-run", "--namespace", "shop")
		if r.code != 0 || !strings.Contains(r.stderr, "without --dry-run this would be refused: blue is standby") {
			t.Errorf("sync --dry-run out of the standby: exit %d, want 0 and the refusal as a warning\n%s", r.code, r.stderr)
		}
		assertActive(t, "green")
	})

	t.Run("runbook names the exact commands for this pair", func(t *testing.T) {
		md := mustTandem(t, "runbook", "--source", "blue", "--target", "green", "-o", "markdown")
		for _, want := range []string{
			"# Runbook: green ⇄ blue",
			"tandem switchover --source green --target blue --to blue --router '" + shiftRouter() + "'",
			"--source-unreachable",
			"tandem deactivate --cluster green",
			"Last drill:",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("runbook lacks %q:\n%s", want, md)
			}
		}
	})

	t.Run("emergency failover skips what needs the unreachable source", func(t *testing.T) {
		// blue stands in for an unreachable cluster through a kubeconfig whose blue context points nowhere.
		cfg := filepath.Join(t.TempDir(), "kubeconfig")
		raw := mustKubectl(t, "config", "view", "--raw", "--flatten")
		blueURL := strings.TrimSpace(mustKubectl(t, "config", "view", "--raw", "-o", "jsonpath={.clusters[?(@.name==\"blue\")].cluster.server}"))
		if blueURL == "" {
			t.Fatal("no blue cluster in the lab kubeconfig")
		}
		if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(raw, blueURL, "https://127.0.0.1:1")), 0o600); err != nil {
			t.Fatal(err)
		}
		// Blue active first (a normal switchover), then it "goes away" and green takes over.
		mustTandem(t, sw("blue", "--steps", "100", "--pause", "0s")...)
		r := tandem(t, append([]string{"--kubeconfig", cfg}, sw("green", "--source-unreachable", "--steps", "100", "--pause", "0s")...)...)
		if r.code != 0 || !strings.Contains(r.stderr, "skipped: source unreachable") {
			t.Fatalf("emergency failover: exit %d\n%s", r.code, r.stderr)
		}
		st, sr := pairStatus(t)
		if st.Verdict.Active != "green" || sr.code != 1 || !strings.Contains(strings.Join(st.Warnings, "\n"), "blue still says active") {
			t.Fatalf("after the failover, with blue back: active %q, exit %d, warnings %v", st.Verdict.Active, sr.code, st.Warnings)
		}
		// When blue is back: park it, as the runbook says.
		mustTandem(t, "deactivate", "--cluster", "blue", "--journal-dir", jdir)
	})
}
