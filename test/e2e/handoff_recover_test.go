package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/volume"
)

// A handoff killed (exit 137, as kill -9) after each of its steps in turn,
// then `--rollback`: every volume is back in blue, Bound to a claim of its
// original name whose uid the PV's claimRef names, the data file intact,
// blue's StatefulSet at its replicas and ready, and nothing the handoff made
// left in green. The next handoff starts afresh from there.
func TestHandoffRollbackOfAnInterruptedHandoffFromEveryStep(t *testing.T) {
	const ns = "e2e-handoff-recover"
	vols := setupVault(t, ns, 2)
	for _, step := range volume.Steps {
		t.Run(step, func(t *testing.T) {
			journal := t.TempDir()
			r := runCmdEnv(t, []string{"TANDEM_HANDOFF_CRASH_AFTER=" + step}, lab.bin, handoffArgs(ns, "--journal-dir", journal)...)
			if r.code != 137 {
				t.Fatalf("crash after %s: exit %d, want 137\n%s%s", step, r.code, r.stdout, r.stderr)
			}
			back := tandem(t, handoffArgs(ns, "--journal-dir", journal, "--rollback")...)
			if back.code != 0 || !strings.Contains(back.stderr, "rolling back interrupted handoff") {
				t.Fatalf("rollback after a crash at %s: exit %d\n%s%s", step, back.code, back.stdout, back.stderr)
			}
			assertBackInBlue(t, ns, vols)
			waitStsReady(t, "blue", ns, 2)
			// The rollback is done: running it again has nothing to undo, and
			// must not take green's own claims for volumes and replace blue's.
			if again := tandem(t, handoffArgs(ns, "--journal-dir", journal, "--rollback")...); again.code != 2 || !strings.Contains(again.stderr, "nothing to roll back") {
				t.Errorf("a second rollback: exit %d, want 2 naming nothing to roll back\n%s%s", again.code, again.stdout, again.stderr)
			}
			assertBackInBlue(t, ns, vols)
		})
		if t.Failed() {
			return
		}
	}
}

// assertBackInBlue checks each volume is Bound in blue to a claim of its
// name, the PV's claimRef naming that claim's uid, with the reclaim policy
// it had before the handoff and its data; and that green holds no claim or PV the handoff made.
func assertBackInBlue(t *testing.T, ns string, vols []handoffVol) {
	t.Helper()
	for _, v := range vols {
		pvc := mustKubectl(t, "--context", "blue", "-n", ns, "get", "pvc", v.claim, "-o", "jsonpath={.status.phase} {.spec.volumeName} {.metadata.uid}")
		f := strings.Fields(pvc)
		if len(f) != 3 || f[0] != "Bound" || f[1] != v.pv {
			t.Errorf("blue: claim %s: phase/volume/uid %q, want Bound to %s", v.claim, pvc, v.pv)
			continue
		}
		pv := mustKubectl(t, "--context", "blue", "get", "pv", v.pv, "-o", "jsonpath={.status.phase} {.spec.claimRef.name} {.spec.claimRef.uid} {.spec.persistentVolumeReclaimPolicy} {.spec.hostPath.path}")
		if want := fmt.Sprintf("Bound %s %s %s %s", v.claim, f[2], v.policy, v.dir); pv != want {
			t.Errorf("blue: PV %s: %q, want %q", v.pv, pv, want)
		}
		data, err := os.ReadFile(filepath.Join(v.dir, vaultFile))
		if err != nil || string(data) != v.token {
			t.Errorf("PV %s: data file %q (%v), want %q", v.pv, data, err, v.token)
		}
		if r := kubectl(t, "--context", "green", "get", "pv", v.pv); r.code == 0 {
			t.Errorf("green: PV %s still there after the rollback:\n%s", v.pv, r.stdout)
		}
		ann := kubectl(t, "--context", "green", "-n", ns, "get", "pvc", v.claim, "-o", `jsonpath={.metadata.annotations.tandem\.io/handoff-run}`).stdout
		if ann != "" {
			t.Errorf("green: claim %s made by handoff %s still there after the rollback", v.claim, ann)
		}
	}
}
