package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A mirror whose lease in the target is deleted stops writing at once and
// exits with an error naming the lease.
func TestMirrorFencedByItsLease(t *testing.T) {
	labAtRest(t)
	waitNoLiveMirror(t, "green")
	ns := fmt.Sprintf("e2e-mfence-%d", time.Now().Unix()%100000)
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
		}
	})
	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--namespace", ns, "--duration", "5m", "-v")
	run.waitFor(t, "initial pass done", 2*time.Minute)
	mustKubectl(t, "--context", "green", "-n", "tandem-system", "delete", "lease", "tandem-mirror")
	select {
	case <-run.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the mirror went on after its lease was deleted:\n%s", run.log())
	}
	if err := run.cmd.Wait(); err == nil || !strings.Contains(run.log(), "mirror lease") {
		t.Fatalf("mirror after its lease was deleted: %v\n%s", err, run.log())
	}
}
