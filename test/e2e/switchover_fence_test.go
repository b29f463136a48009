package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A switchover whose lock is deleted in both clusters mid-run stops at once,
// undoes what it began and exits 1 naming the lock; a second switchover
// started while the first runs is refused with the first's identity.
func TestSwitchoverFencedByItsLock(t *testing.T) {
	jdir := t.TempDir()
	pairWithGreenStandby(t, jdir)
	// A plain shift onto the standby is refused: its workloads are parked.
	if r := tandem(t, "shift", "--router", shiftRouter(), "--from", "blue", "--to", "green", "--steps", "100", "--journal-dir", jdir); r.code != 2 || !strings.Contains(r.stderr, "tandem activate --cluster green") {
		t.Fatalf("shift onto the standby: exit %d\n%s", r.code, r.stderr)
	}
	if w := shiftRuntimeWeights(t); w["blue"] != 100 {
		t.Fatalf("a refused shift moved traffic: %v", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lab.bin, "switchover", "--source", "blue", "--target", "green", "--to", "green", "--router", shiftRouter(),
		"--steps", "0,25,50,75,100", "--pause", "5s", "--journal-dir", jdir)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+lab.kubeconfig, "TANDEM_SOURCE=", "TANDEM_TARGET=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, "the shift under way", 3*time.Minute, func() (bool, string) {
		w := shiftRuntimeWeights(t)
		return w["green"] > 0, stderr.String()
	})

	second := tandem(t, "switchover", "--source", "blue", "--target", "green", "--to", "green", "--router", shiftRouter(), "--journal-dir", t.TempDir())
	if second.code != 1 || !strings.Contains(second.stderr, "another switchover is running") || !strings.Contains(second.stderr, "switchover to green") {
		t.Fatalf("a second switchover: exit %d\n%s", second.code, second.stderr)
	}

	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "-n", "tandem-system", "delete", "lease", "tandem-switchover")
	}
	deleted := time.Now()
	var err error
	select {
	case err = <-exited:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the switchover went on after its lock was deleted\n%s", stderr.String())
	}
	took := time.Since(deleted)
	code := cmd.ProcessState.ExitCode()
	if code != 1 || !strings.Contains(stderr.String(), "lock") {
		t.Fatalf("exit %d (%v) after the lock was deleted; stderr:\n%s", code, err, stderr.String())
	}
	t.Logf("stopped and undone %s after the lock was deleted", took.Round(100*time.Millisecond))
	if w := shiftRuntimeWeights(t); w["blue"] != 100 || w["green"] != 0 {
		t.Fatalf("weights after the fenced run: %v", w)
	}
	st, r := pairStatus(t)
	if st.Verdict.Active != "blue" {
		t.Fatalf("after the fenced run: active %q\n%s", st.Verdict.Active, r.stderr)
	}
	for _, c := range st.Clusters {
		if c.Context == "green" && !c.Standby {
			t.Fatal("green is not parked again after the undo")
		}
	}
}
