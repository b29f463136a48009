package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/internal/awstest"
)

// EBS takes a snapshot's point in time at CreateSnapshot: a handoff with
// --snapshot ebs goes on while the snapshot is pending (the lab's endpoint
// completes them after 30 s; a first snapshot of a large volume takes hours)
// and says so; with --wait-snapshots it waits until they are completed.
func TestHandoffEBSGoesOnWhileSnapshotsArePending(t *testing.T) {
	const ns, driver = "e2e-ebs", "ebs.csi.aws.com"
	labAtRest(t)
	for _, c := range []string{"blue", "green"} {
		if r := kubectl(t, "--context", c, "get", "csidriver", driver); r.code != 0 {
			kubectlCreate(t, c, `{"apiVersion":"storage.k8s.io/v1","kind":"CSIDriver","metadata":{"name":"`+driver+`"},"spec":{"attachRequired":true}}`)
			t.Cleanup(func() { kubectl(t, "--context", c, "delete", "csidriver", driver) })
		}
	}
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false")
			kubectl(t, "--context", c, "delete", "pv", "e2e-ebs-fast", "e2e-ebs-wait", "--wait=false")
		}
	})
	for _, name := range []string{"fast", "wait"} {
		var vol struct{ VolumeId string }
		out, stderr, code := awstest.CLI(t, lab.aws, "ec2", "create-volume", "--availability-zone", "eu-west-1a", "--size", "100", "--volume-type", "gp3")
		if code != 0 || json.Unmarshal([]byte(out), &vol) != nil {
			t.Fatalf("ec2 create-volume: exit %d %s %s", code, out, stderr)
		}
		kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"e2e-ebs-`+name+`"},"spec":{"capacity":{"storage":"100Gi"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Delete","storageClassName":"","claimRef":{"namespace":"`+ns+`","name":"`+name+`"},"csi":{"driver":"`+driver+`","volumeHandle":"`+vol.VolumeId+`","fsType":"ext4"}}}`)
		kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"`+name+`","namespace":"`+ns+`"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"","volumeName":"e2e-ebs-`+name+`","resources":{"requests":{"storage":"100Gi"}}}}`)
	}
	eventually(t, time.Minute, func() error {
		for _, name := range []string{"fast", "wait"} {
			if ph := kubectl(t, "--context", "blue", "-n", ns, "get", "pvc", name, "-o", "jsonpath={.status.phase}").stdout; ph != "Bound" {
				return fmt.Errorf("claim %s is %q", name, ph)
			}
		}
		return nil
	})
	mustTandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", ns, "--journal-dir", t.TempDir())
	handoff := func(pvc string, extra ...string) (result, time.Duration) {
		start := time.Now()
		r := tandem(t, append([]string{"handoff", "--source", "blue", "--target", "green", "--namespace", ns, "--pvc", pvc, "--journal-dir", t.TempDir(),
			"--replace-target-claims", "--snapshot", "ebs", "--aws-endpoint", lab.aws, "--aws-region", "eu-west-1"}, extra...)...)
		return r, time.Since(start)
	}

	r, took := handoff("fast")
	if r.code != 0 {
		t.Fatalf("handoff: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if took > 20*time.Second || !strings.Contains(r.stderr+r.stdout, "pending") {
		t.Fatalf("handoff --snapshot ebs took %s (the snapshot completes after 30 s), want it to go on while pending and say so:\n%s\n%s", took, r.stdout, r.stderr)
	}
	t.Logf("handoff with a pending snapshot: %s", took.Round(100*time.Millisecond))

	r, took = handoff("wait", "--wait-snapshots")
	if r.code != 0 {
		t.Fatalf("handoff --wait-snapshots: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if took < 25*time.Second || !strings.Contains(r.stderr, "completed") {
		t.Fatalf("handoff --wait-snapshots took %s, want it to wait for the snapshot (30 s) and say completed:\n%s", took, r.stderr)
	}
	t.Logf("handoff waiting for the snapshot: %s", took.Round(100*time.Millisecond))
	for _, name := range []string{"fast", "wait"} {
		eventually(t, time.Minute, func() error {
			if ph := kubectl(t, "--context", "green", "get", "pv", "e2e-ebs-"+name, "-o", "jsonpath={.status.phase} {.spec.claimRef.name}").stdout; ph != "Bound "+name {
				return fmt.Errorf("PV e2e-ebs-%s in green: %q", name, ph)
			}
			return nil
		})
	}
}
