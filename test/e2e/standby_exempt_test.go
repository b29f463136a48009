package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

const exemptManifests = `apiVersion: v1
kind: Namespace
metadata: {name: e2e-exempt}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: runs, namespace: e2e-exempt, labels: {tandem.io/standby-exempt: "true"}}
spec:
  replicas: 2
  selector: {matchLabels: {app: runs}}
  template:
    metadata: {labels: {app: runs}}
    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: held, namespace: e2e-exempt}
spec:
  replicas: 2
  selector: {matchLabels: {app: held}}
  template:
    metadata: {labels: {app: held}}
    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: e2e-exempt-agents, labels: {tandem.io/standby-exempt: "true"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: agent, namespace: e2e-exempt-agents}
spec:
  replicas: 1
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
`

// What lives in a namespace labelled tandem.io/standby-exempt=true in the
// source runs in the standby (README): sync --standby copies it as it is,
// as the standby policy and deactivate leave the namespace alone. An object
// labelled by itself is held all the same (standby.Decide says why).
func TestStandbyCopiesWhatIsExemptAsItIs(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	journal := t.TempDir()
	const ns, agents = "e2e-exempt", "e2e-exempt-agents"
	t.Cleanup(func() {
		tandem(t, "activate", "--cluster", "green", "--timeout", "30s", "--journal-dir", journal)
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, agents, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "exempt.yaml", exemptManifests))
	out, _ := syncJSON(t, journal, 0, "--standby", "--namespace", ns+","+agents)
	if row, ok := out.find("Deployment", agents, "agent"); !ok || !strings.Contains(strings.Join(row.Notes, ";"), "standby: exempt") {
		t.Errorf("sync row of %s/agent: %+v, want a note that it is exempt", agents, row)
	}
	for _, w := range []struct {
		ns, name   string
		replicas   float64
		annotation string
	}{{ns, "runs", 0, "2"}, {agents, "agent", 1, ""}, {ns, "held", 0, "2"}} {
		o := objJSON(t, "green", w.ns, "deployment/"+w.name)
		if r, a := field(o, "spec", "replicas"), annotation(o, "tandem.io/replicas"); r != w.replicas || a != w.annotation {
			t.Errorf("green deployment %s/%s: replicas %v, tandem.io/replicas %q; want %v, %q", w.ns, w.name, r, a, w.replicas, w.annotation)
		}
	}

	// A mirror into the standby: the namespace labelled exempt in blue
	// later, what it holds is written again as it is.
	waitNoLiveMirror(t, "green")
	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--standby", "-n", ns+","+agents,
		"--duration", "5m", "--progress-every", "2s", "-v")
	run.waitFor(t, "initial pass done", 2*time.Minute)
	mustKubectl(t, "--context", "blue", "label", "namespace", ns, "tandem.io/standby-exempt=true")
	eventually(t, 60*time.Second, func() error {
		o := objJSON(t, "green", ns, "deployment/held")
		if r, a := field(o, "spec", "replicas"), annotation(o, "tandem.io/replicas"); r != float64(2) || a != "" {
			return fmt.Errorf("green's held: replicas %v, tandem.io/replicas %q", r, a)
		}
		return nil
	})
	if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-run.done
	_ = run.cmd.Wait()
}
