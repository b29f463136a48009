package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A StatefulSet's volumeClaimTemplates is an atomic list: one field to
// server-side apply. Blue (v1.30) writes its claim template's empty
// creationTimestamp as null, green (v1.37) leaves it out. Copied from green
// into blue, where a deploy tool applied the same StatefulSet, the list says
// the same but conflicted with that tool's ownership of it — a switchover's
// reverse mirror met this on every StatefulSet. tandem now sends the
// target's own form of the list when only that differs.
func TestSyncStatefulSetClaimTemplatesAcrossVersions(t *testing.T) {
	labAtRest(t)
	ns := fmt.Sprintf("e2e-skew-%d", time.Now().Unix()%100000)
	sts := `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: skew, namespace: ` + ns + `}
spec:
  replicas: 0
  serviceName: skew
  selector: {matchLabels: {app: skew}}
  template:
    metadata: {labels: {app: skew}}
    spec: {containers: [{name: c, image: registry.example/c:1}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	file := writeManifest(t, "skew.yaml", sts)
	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "create", "namespace", ns)
		mustKubectl(t, "--context", c, "apply", "--server-side", "--field-manager=deployer", "-f", file)
	}
	forms := map[string]string{}
	for _, c := range []string{"blue", "green"} {
		forms[c] = mustKubectl(t, "--context", c, "-n", ns, "get", "statefulset", "skew", "-o", "jsonpath={.spec.volumeClaimTemplates[0].metadata}")
	}
	if forms["blue"] == forms["green"] {
		t.Fatalf("both clusters write the claim template's metadata as %s: the versions' difference this test is about is gone", forms["blue"])
	}
	r := tandem(t, "sync", "--source", "green", "--target", "blue", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "updated  StatefulSet.apps") {
		t.Fatalf("sync green → blue of a StatefulSet a deploy tool applied in blue: exit %d, want the StatefulSet updated, no conflict\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := mustKubectl(t, "--context", "blue", "-n", ns, "get", "statefulset", "skew", "-o", "jsonpath={.spec.volumeClaimTemplates[0].metadata}"); got != forms["blue"] {
		t.Errorf("blue's claim template's metadata is %s after the sync, want it as blue writes it: %s", got, forms["blue"])
	}
}
