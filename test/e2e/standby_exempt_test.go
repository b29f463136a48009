package e2e

import (
	"strings"
	"testing"
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

// What is labelled tandem.io/standby-exempt=true, or lives in a namespace
// that is, runs in the standby (README): sync --standby copies it as it
// is, as the standby policy and deactivate leave it alone.
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
	for _, w := range []struct{ ns, name string }{{ns, "runs"}, {agents, "agent"}} {
		if row, ok := out.find("Deployment", w.ns, w.name); !ok || !strings.Contains(strings.Join(row.Notes, ";"), "standby: exempt") {
			t.Errorf("sync row of %s/%s: %+v, want a note that it is exempt", w.ns, w.name, row)
		}
	}
	for _, w := range []struct {
		ns, name   string
		replicas   float64
		annotation string
	}{{ns, "runs", 2, ""}, {agents, "agent", 1, ""}, {ns, "held", 0, "2"}} {
		o := objJSON(t, "green", w.ns, "deployment/"+w.name)
		if r, a := field(o, "spec", "replicas"), annotation(o, "tandem.io/replicas"); r != w.replicas || a != w.annotation {
			t.Errorf("green deployment %s/%s: replicas %v, tandem.io/replicas %q; want %v, %q", w.ns, w.name, r, a, w.replicas, w.annotation)
		}
	}
}
