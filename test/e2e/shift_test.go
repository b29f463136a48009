package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/haproxy"
	"github.com/tandem-io/tandem/pkg/traffic/providertest"
)

// shiftReport is the part of `tandem shift -o json` the tests read.
type shiftReport struct {
	Steps []struct {
		Percent    int                           `json:"percent"`
		PauseStart time.Time                     `json:"pauseStart"`
		PauseEnd   time.Time                     `json:"pauseEnd"`
		Failed     string                        `json:"failed"`
		Passed     bool                          `json:"passed"`
		Skipped    bool                          `json:"skipped"`
		Observed   map[string]map[string]float64 `json:"observed"`
	} `json:"steps"`
	Smoke []struct {
		Gate string `json:"gate"`
		Err  string `json:"error"`
	} `json:"smoke"`
	Completed  bool `json:"completed"`
	RolledBack bool `json:"rolledBack"`
	Rollback   *struct {
		Started    time.Time     `json:"started"`
		Verified   time.Duration `json:"verified"`
		VerifiedOK bool          `json:"verifiedOK"`
	} `json:"rollback"`
}

// shiftSample is one request of the load generator.
type shiftSample struct {
	sent, answered time.Time
	status         int
	cluster        string
	err            error
}

func (s shiftSample) failed() bool { return s.err != nil || s.status != http.StatusOK }

// shiftLoad sends rate requests per second to addr with Host host until stop is
// called or limit passes, whichever comes first, and keeps every answer: the
// probe drills use (traffic.Probe), with every request kept.
type shiftLoad struct {
	mu      sync.Mutex
	samples []shiftSample
	probe   *traffic.Probe
}

func startShiftLoad(addr, host string, rate int, limit time.Duration) *shiftLoad {
	lg := &shiftLoad{}
	lg.probe = &traffic.Probe{URL: "http://" + addr + "/", Host: host, Rate: rate, Max: limit, Timeout: 5 * time.Second,
		ClusterHeader: "X-Tandem-Cluster", OnAnswer: func(a traffic.Answer) {
			lg.mu.Lock()
			lg.samples = append(lg.samples, shiftSample{sent: a.Sent, answered: a.Answered, status: a.Status, cluster: a.Cluster, err: a.Err})
			lg.mu.Unlock()
		}}
	lg.probe.Start(context.Background())
	return lg
}

// waitAnswered waits, at most limit, until n requests sent after since have
// their answer (or error); it says whether they have.
func (lg *shiftLoad) waitAnswered(since time.Time, n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		lg.mu.Lock()
		got := 0
		for _, s := range lg.samples {
			if s.sent.After(since) {
				got++
			}
		}
		lg.mu.Unlock()
		if got >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// stop ends the load and returns every shiftSample.
func (lg *shiftLoad) stop() []shiftSample {
	lg.probe.Stop()
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return append([]shiftSample(nil), lg.samples...)
}

func shiftRouter() string {
	return "haproxy://" + lab.socket + "?backend=clusters&state=" + filepath.Join(lab.dir, "haproxy.state")
}

// shiftRuntimeWeights reads the lab's weights through the runtime API.
func shiftRuntimeWeights(t *testing.T) map[string]int {
	t.Helper()
	states, err := haproxy.Runtime{Socket: lab.socket}.Servers(context.Background(), "clusters")
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]int{}
	for _, s := range states {
		w[s.Server] = s.Weight
	}
	return w
}

// shiftStatusWeights reads the weights through `tandem shift status -o json`.
func shiftStatusWeights(t *testing.T) map[string]int {
	t.Helper()
	var st struct {
		Weights map[string]map[string]int `json:"weights"`
	}
	out := mustTandem(t, "shift", "status", "--router", shiftRouter(), "-o", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("shift status: %v\n%s", err, out)
	}
	return st.Weights["clusters"]
}

// shiftGreenApp gives green the app.example app in a namespace of its own and
// waits until green's ingress answers for it. The rule is Exact "/", so it
// wins over a Prefix "/" Ingress for app.example that another test synced in.
func shiftGreenApp(t *testing.T, ns string) (greenAddr string) {
	t.Helper()
	mustKubectl(t, "--context", "green", "create", "namespace", ns)
	t.Cleanup(func() { kubectl(t, "--context", "green", "delete", "namespace", ns, "--wait=false") })
	mustKubectl(t, "--context", "green", "-n", ns, "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "--replicas=2")
	mustKubectl(t, "--context", "green", "-n", ns, "expose", "deployment", "web", "--port=80")
	mustKubectl(t, "--context", "green", "-n", ns, "create", "ingress", "web", "--rule=app.example/=web:80")
	states, err := haproxy.Runtime{Socket: lab.socket}.Servers(context.Background(), "clusters")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Server == "green" {
			greenAddr = fmt.Sprintf("%s:%d", s.Address, s.Port)
		}
	}
	eventually(t, 60*time.Second, func() error {
		code, cluster, err := get(greenAddr, "app.example")
		if err != nil {
			return err
		}
		if code != 200 || cluster != "green" {
			return fmt.Errorf("green's ingress %s: %d from %q", greenAddr, code, cluster)
		}
		return nil
	})
	return greenAddr
}

// shiftRun is a running `tandem shift -o json`.
type shiftRun struct {
	cmd     *exec.Cmd
	stdout  bytes.Buffer
	stderr  strings.Builder
	scanned chan struct{}
}

// startShift runs `tandem shift` with journal dir jdir and calls onLine for
// each line of its stderr (with the run, so a test can kill it).
func startShift(t *testing.T, jdir string, onLine func(r *shiftRun, line string), args ...string) *shiftRun {
	t.Helper()
	r := &shiftRun{scanned: make(chan struct{})}
	r.cmd = exec.Command(lab.bin, append([]string{"shift", "--router", shiftRouter(), "--from", "blue", "--to", "green",
		"--journal-dir", jdir, "-o", "json"}, args...)...)
	r.cmd.Stdout = &r.stdout
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.scanned)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.stderr.WriteString(sc.Text() + "\n")
			onLine(r, sc.Text())
		}
	}()
	return r
}

// wait returns the exit code, bounded to 2 minutes.
func (r *shiftRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.scanned:
	case <-time.After(2 * time.Minute):
		_ = r.cmd.Process.Kill()
		t.Fatalf("tandem shift still running after 2 minutes:\n%s", r.stderr.String())
	}
	err := r.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (r *shiftRun) report(t *testing.T) shiftReport {
	t.Helper()
	var rep shiftReport
	if err := json.Unmarshal(r.stdout.Bytes(), &rep); err != nil {
		t.Fatalf("shift -o json: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout.String(), r.stderr.String())
	}
	return rep
}

func shiftSetWeights(t *testing.T, blue, green int) {
	t.Helper()
	rt := haproxy.Runtime{Socket: lab.socket}
	for _, err := range []error{rt.SetWeight(context.Background(), "clusters", "blue", blue), rt.SetWeight(context.Background(), "clusters", "green", green)} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func noLines(*shiftRun, string) {}

// Given green serves app.example too, a shift under load moves the share step
// by step and loses no request; a green that fails its smoke test gets no
// weight; a killed shift resumes where it stopped; a green that breaks at
// 25 % is rolled back to blue.
func TestShift(t *testing.T) {
	// Blue active and serving app.example, with all the traffic; blue 100 /
	// green 0 again afterwards, as the lab at rest has it.
	labAtRest(t)
	t.Cleanup(func() { shiftSetWeights(t, 100, 0) })
	green := shiftGreenApp(t, "e2e-shift")
	gate := []string{"--gate-http", "http://" + lab.haproxy + "/", "--gate-host", "app.example", "--gate-interval", "100ms"}

	t.Run("follows weights with no failed request", func(t *testing.T) {
		shiftSetWeights(t, 100, 0)
		lg := startShiftLoad(lab.haproxy, "app.example", 200, 2*time.Minute)
		r := startShift(t, t.TempDir(), noLines, append([]string{"--steps", "25,50,75,100", "--pause", "2s", "--smoke", "http://" + green + "/"}, gate...)...)
		code := r.wait(t)
		samples := lg.stop()
		rep := r.report(t)
		if code != 0 || !rep.Completed {
			t.Fatalf("shift: exit %d, completed %v\n%s", code, rep.Completed, r.stderr.String())
		}
		if !strings.Contains(r.stderr.String(), "smoke test http http://"+green+"/ (Host app.example) passed") {
			t.Errorf("no smoke test reported:\n%s", r.stderr.String())
		}
		failed := len(slices.DeleteFunc(slices.Clone(samples), func(s shiftSample) bool { return !s.failed() }))
		t.Logf("%d requests, %d failed", len(samples), failed)
		if failed != 0 {
			t.Errorf("%d of %d requests failed during the shift, want 0", failed, len(samples))
		}
		if len(rep.Steps) != 4 {
			t.Fatalf("%d steps reported, want 4", len(rep.Steps))
		}
		for _, st := range rep.Steps {
			n, g := 0, 0
			for _, s := range samples {
				if s.sent.After(st.PauseStart) && s.answered.Before(st.PauseEnd) && !s.failed() {
					n++
					if s.cluster == "green" {
						g++
					}
				}
			}
			if n < 100 {
				t.Errorf("step %d%%: only %d requests in the pause", st.Percent, n)
				continue
			}
			share := 100 * float64(g) / float64(n)
			observed := st.Observed["clusters"]["green"]
			t.Logf("step %d%%: green share %.1f%% of %d requests; HAProxy's own count (shift report) %.1f%%", st.Percent, share, n, observed)
			if observed < float64(st.Percent)-5 || observed > float64(st.Percent)+5 {
				t.Errorf("step %d%%: observed share in the report %.1f%%, want within ±5 points", st.Percent, observed)
			}
			if share < float64(st.Percent)-5 || share > float64(st.Percent)+5 {
				t.Errorf("step %d%%: green share %.1f%%, want within ±5 points", st.Percent, share)
			}
		}
		if w := shiftStatusWeights(t); w["blue"] != 0 || w["green"] != 100 {
			t.Errorf("shift status after the shift: %v, want blue 0 green 100", w)
		}
	})

	t.Run("failed smoke test changes no weight", func(t *testing.T) {
		shiftSetWeights(t, 100, 0)
		r := startShift(t, t.TempDir(), noLines, append([]string{"--steps", "50,100", "--pause", "1s", "--smoke", "http://" + green + "/", "--smoke-host", "nothing.example"}, gate...)...)
		if code := r.wait(t); code != 1 {
			t.Fatalf("exit %d, want 1\n%s", code, r.stderr.String())
		}
		if rep := r.report(t); len(rep.Steps) != 0 || len(rep.Smoke) != 1 {
			t.Errorf("report %+v, want one failed smoke test and no step", rep)
		}
		if w := shiftRuntimeWeights(t); w["blue"] != 100 || w["green"] != 0 {
			t.Errorf("weights %v after a failed smoke test, want blue 100 green 0", w)
		}
	})

	t.Run("resumes after kill -9", func(t *testing.T) {
		shiftSetWeights(t, 100, 0)
		jdir := t.TempDir()
		args := append([]string{"--steps", "25,50,75,100", "--pause", "1s"}, gate...)
		var once sync.Once
		r := startShift(t, jdir, func(r *shiftRun, line string) {
			if strings.Contains(line, "step 2/4 50%: done") {
				once.Do(func() { _ = r.cmd.Process.Kill() })
			}
		}, args...)
		if code := r.wait(t); code != -1 {
			t.Fatalf("first run: exit %d, want killed (-1)\n%s", code, r.stderr.String())
		}
		// The kill lands after step 50 % is journaled done, maybe after step 75 % began.
		if w := shiftRuntimeWeights(t); w["green"] != 50 && w["green"] != 75 {
			t.Fatalf("weights after the kill %v, want green 50 (or 75)", w)
		}
		r2 := startShift(t, jdir, noLines, args...)
		if code := r2.wait(t); code != 0 {
			t.Fatalf("re-run: exit %d\n%s", code, r2.stderr.String())
		}
		rep := r2.report(t)
		if !strings.Contains(r2.stderr.String(), "resuming interrupted shift") {
			t.Errorf("re-run did not say it resumes:\n%s", r2.stderr.String())
		}
		var skipped []int
		for _, st := range rep.Steps {
			if st.Skipped {
				skipped = append(skipped, st.Percent)
			}
		}
		if !rep.Completed || fmt.Sprint(skipped) != "[25 50]" {
			t.Errorf("re-run: completed %v, skipped steps %v, want [25 50]\n%s", rep.Completed, skipped, r2.stderr.String())
		}
		if strings.Contains(r2.stderr.String(), "step 1/4") || strings.Contains(r2.stderr.String(), "step 2/4") {
			t.Errorf("re-run ran a finished step again:\n%s", r2.stderr.String())
		}
		if w := shiftRuntimeWeights(t); w["blue"] != 0 || w["green"] != 100 {
			t.Errorf("weights %v, want green 100", w)
		}
		// --rollback from the finished state: blue 100 again, as the router reports it.
		mustTandem(t, "shift", "--router", shiftRouter(), "--from", "blue", "--to", "green", "--rollback", "--journal-dir", jdir)
		if w := shiftStatusWeights(t); w["blue"] != 100 || w["green"] != 0 {
			t.Errorf("after --rollback: %v, want blue 100 green 0", w)
		}
	})

	t.Run("rolls back when green breaks at 25 percent", func(t *testing.T) {
		shiftSetWeights(t, 100, 0)
		lg := startShiftLoad(lab.haproxy, "app.example", 200, 2*time.Minute)
		broke := make(chan error, 1)
		var once sync.Once
		r := startShift(t, t.TempDir(), func(_ *shiftRun, line string) {
			if strings.Contains(line, "step 1/4 25%: pause") {
				once.Do(func() {
					go func() {
						out, err := exec.Command(lab.kubectl, "--kubeconfig", lab.kubeconfig, "--context", "green", "-n", "e2e-shift",
							"scale", "deployment", "web", "--replicas=0").CombinedOutput()
						if err != nil {
							err = fmt.Errorf("%v: %s", err, out)
						}
						broke <- err
					}()
				})
			}
		}, append([]string{"--steps", "25,50,75,100", "--pause", "15s"}, gate...)...)
		code := r.wait(t)
		// The load after the rollback, to see blue alone: requests sent once the
		// rollback was verified, and answered.
		var early shiftReport
		if json.Unmarshal(r.stdout.Bytes(), &early) == nil && early.Rollback != nil {
			lg.waitAnswered(early.Rollback.Started.Add(early.Rollback.Verified), 50, 30*time.Second)
		}
		samples := lg.stop()
		stderr := r.stderr.String()
		select {
		case err := <-broke:
			if err != nil {
				t.Fatalf("scale green to 0: %v", err)
			}
		default:
			t.Fatalf("the shift never reached the 25%% pause:\n%s", stderr)
		}
		rep := r.report(t)
		if code != 1 || !rep.RolledBack || rep.Rollback == nil || !rep.Rollback.VerifiedOK {
			t.Fatalf("shift: exit %d, report %+v, want exit 1 and a verified rollback\n%s", code, rep, stderr)
		}
		if len(rep.Steps) != 1 || rep.Steps[0].Percent != 25 || rep.Steps[0].Failed == "" {
			t.Errorf("steps %+v, want the 25%% step failed", rep.Steps)
		}
		if w := shiftRuntimeWeights(t); w["blue"] != 100 || w["green"] != 0 {
			t.Errorf("runtime API weights %v, want blue 100 green 0", w)
		}
		if w := shiftStatusWeights(t); w["blue"] != 100 || w["green"] != 0 {
			t.Errorf("shift status %v, want blue 100 green 0", w)
		}
		verified := rep.Rollback.Started.Add(rep.Rollback.Verified)
		var firstFail, lastGreen time.Time
		failed, afterBlue := 0, 0
		for _, s := range samples {
			if s.failed() && (firstFail.IsZero() || s.sent.Before(firstFail)) {
				firstFail = s.sent
			}
			if s.failed() {
				failed++
			}
			if s.cluster == "green" && s.answered.After(lastGreen) {
				lastGreen = s.answered
			}
			// Once the rollback is verified, every new request goes to blue and succeeds.
			if s.sent.After(verified) {
				afterBlue++
				if s.failed() || s.cluster != "blue" {
					t.Errorf("request sent %s after the verified rollback: status %d from %q (%v)", s.sent.Sub(verified), s.status, s.cluster, s.err)
				}
			}
		}
		if firstFail.IsZero() {
			// The gate can catch the break before any user request reaches broken green:
			// then the gate itself must have seen green's 503s.
			if !strings.Contains(stderr, "status 503") {
				t.Fatalf("no request failed and the gate saw no 503: the break did not happen\n%s", stderr)
			}
			t.Logf("the gate caught the break before any user request failed; rollback set+verified in %s", rep.Rollback.Verified.Round(time.Millisecond))
			return
		}
		if afterBlue == 0 {
			t.Errorf("no request sent after the verified rollback")
		}
		t.Logf("users saw %d failed requests of %d; first failed request → last answer from green: %s; rollback set+verified in %s",
			failed, len(samples), lastGreen.Sub(firstFail).Round(time.Millisecond), rep.Rollback.Verified.Round(time.Millisecond))
	})
}

// Bad weights, bad steps and unknown routers: one line, exit 2.
func TestShiftBadInput(t *testing.T) {
	labAtRest(t) // blue 100 / green 0: what bad input must leave unchanged
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown scheme", []string{"shift", "--router", "route66:///x", "--steps", "10,100"}, "unknown router scheme"},
		{"step over 100", []string{"shift", "--router", shiftRouter(), "--steps", "10,140"}, "out of range"},
		{"negative step", []string{"shift", "--router", shiftRouter(), "--steps", "-5,100"}, "out of range"},
		{"decreasing", []string{"shift", "--router", shiftRouter(), "--steps", "50,25"}, "must increase"},
		{"no backend", []string{"shift", "--router", "haproxy://" + lab.socket, "--steps", "100"}, "no backend"},
		{"unknown cluster", []string{"shift", "--router", shiftRouter(), "--from", "blue", "--to", "purple", "--steps", "100"}, "no cluster \"purple\""},
		// At rest neither cluster has a record: tandem does not guess the direction.
		{"no direction", []string{"shift", "--router", shiftRouter(), "--steps", "100"}, "--from and --to not given"},
		{"status unknown scheme", []string{"shift", "status", "--router", "alb2://x"}, "unknown router scheme"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := tandem(t, c.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q: want one line containing %q", r.stderr, c.want)
			}
		})
	}
	if w := shiftRuntimeWeights(t); w["blue"] != 100 || w["green"] != 0 {
		t.Errorf("bad input changed the weights: %v", w)
	}
}

// The haproxy Router passes the conformance suite against the lab's own HAProxy.
func TestShiftHAProxyConformanceOnLab(t *testing.T) {
	labAtRest(t)
	t.Cleanup(func() { shiftSetWeights(t, 100, 0) })
	providertest.Run(t, func(t *testing.T) traffic.Router {
		cfg, err := haproxy.ParseURL(shiftRouter())
		if err != nil {
			t.Fatal(err)
		}
		return haproxy.New(cfg)
	}, []string{"clusters"}, []string{"blue", "green"})
}
