package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// snapshotCRDs are minimal v1 CRDs of the CSI snapshot API (the lab has no
// snapshot controller; the test plays it).
func snapshotCRD(kind, plural string, namespaced bool) string {
	scope := "Cluster"
	if namespaced {
		scope = "Namespaced"
	}
	return fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"%s.snapshot.storage.k8s.io","annotations":{"api-approved.kubernetes.io":"https://github.com/kubernetes-csi/external-snapshotter/pull/814"}},
"spec":{"group":"snapshot.storage.k8s.io","scope":"%s","names":{"kind":"%s","plural":"%s","singular":"%s"},
"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`, plural, scope, kind, plural, strings.ToLower(kind))
}

// The handoff of a CSI volume snapshots it first (--snapshot auto picks csi:
// the source serves the snapshot API and has a class for the driver).
func TestHandoffTakesCSISnapshotFirst(t *testing.T) {
	const ns, driver = "e2e-csi", "hostpath.csi.k8s.io"
	labAtRest(t) // blue active: sync refuses to copy out of a standby
	kubectlCreate(t, "blue", snapshotCRD("VolumeSnapshot", "volumesnapshots", true))
	kubectlCreate(t, "blue", snapshotCRD("VolumeSnapshotClass", "volumesnapshotclasses", false))
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "crd", "volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotclasses.snapshot.storage.k8s.io", "--wait=false")
	})
	eventually(t, 30*time.Second, func() error {
		if r := kubectl(t, "--context", "blue", "get", "volumesnapshotclasses"); r.code != 0 {
			return fmt.Errorf("the snapshot API is not served yet: %s", r.stderr)
		}
		return nil
	})
	kubectlCreate(t, "blue", `{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass","metadata":{"name":"csi-e2e","annotations":{"snapshot.storage.kubernetes.io/is-default-class":"true"}},"driver":"`+driver+`","deletionPolicy":"Retain"}`)
	for _, c := range []string{"blue", "green"} {
		if r := kubectl(t, "--context", c, "get", "csidriver", driver); r.code != 0 {
			kubectlCreate(t, c, `{"apiVersion":"storage.k8s.io/v1","kind":"CSIDriver","metadata":{"name":"`+driver+`"},"spec":{"attachRequired":false}}`)
			t.Cleanup(func() { kubectl(t, "--context", c, "delete", "csidriver", driver) })
		}
	}
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false")
			kubectl(t, "--context", c, "delete", "pv", "e2e-csi-pv", "--wait=false")
		}
	})
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"e2e-csi-pv"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","storageClassName":"","claimRef":{"namespace":"`+ns+`","name":"data"},"csi":{"driver":"`+driver+`","volumeHandle":"e2e-vol-1"}}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"`+ns+`"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"","volumeName":"e2e-csi-pv","resources":{"requests":{"storage":"1Gi"}}}}`)
	eventually(t, time.Minute, func() error {
		if ph := kubectl(t, "--context", "blue", "-n", ns, "get", "pvc", "data", "-o", "jsonpath={.status.phase}").stdout; ph != "Bound" {
			return fmt.Errorf("claim data is %q", ph)
		}
		return nil
	})
	mustTandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", ns, "--journal-dir", t.TempDir())

	// The snapshot controller, played: every new VolumeSnapshot becomes readyToUse.
	// It reports through played (never t) and has ended before the test does.
	ctx, cancel := context.WithCancel(context.Background())
	played := make(chan error, 1)
	defer func() {
		cancel()
		if err := <-played; err != nil {
			t.Errorf("the played snapshot controller: %v", err)
		}
	}()
	go func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			r, err := kubectlResult("--context", "blue", "-n", ns, "get", "volumesnapshots", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}")
			if err != nil {
				played <- err
				return
			}
			for _, name := range strings.Fields(r.stdout) {
				if _, err := kubectlResult("--context", "blue", "-n", ns, "patch", "volumesnapshot", name, "--subresource", "status", "--type", "merge",
					"-p", `{"status":{"readyToUse":true,"boundVolumeSnapshotContentName":"snapcontent-`+name+`"}}`); err != nil {
					played <- err
					return
				}
			}
			select {
			case <-ctx.Done():
				played <- nil
				return
			case <-tick.C:
			}
		}
	}()

	r := tandem(t, "handoff", "--source", "blue", "--target", "green", "--namespace", ns, "--pvc", "data", "--journal-dir", t.TempDir(), "-o", "json", "--replace-target-claims")
	if r.code != 0 {
		t.Fatalf("handoff: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "no snapshot is taken") {
		t.Fatalf("auto chose no snapshot for a CSI volume with a class:\n%s", r.stderr)
	}
	var snaps struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct {
				VolumeSnapshotClassName string `json:"volumeSnapshotClassName"`
				Source                  struct {
					PersistentVolumeClaimName string `json:"persistentVolumeClaimName"`
				}
			}
			Status struct {
				ReadyToUse bool `json:"readyToUse"`
			}
		}
	}
	if err := json.Unmarshal([]byte(mustKubectl(t, "--context", "blue", "-n", ns, "get", "volumesnapshots", "-o", "json")), &snaps); err != nil {
		t.Fatal(err)
	}
	if len(snaps.Items) != 1 || snaps.Items[0].Spec.VolumeSnapshotClassName != "csi-e2e" || snaps.Items[0].Spec.Source.PersistentVolumeClaimName != "data" || !snaps.Items[0].Status.ReadyToUse {
		t.Fatalf("snapshots in blue: %+v", snaps.Items)
	}
	if !strings.Contains(r.stdout, snaps.Items[0].Metadata.Name) {
		t.Errorf("the report does not name the snapshot %s:\n%s", snaps.Items[0].Metadata.Name, r.stdout)
	}
	eventually(t, time.Minute, func() error {
		ph := kubectl(t, "--context", "green", "get", "pv", "e2e-csi-pv", "-o", "jsonpath={.status.phase} {.spec.claimRef.name}").stdout
		if ph != "Bound data" {
			return fmt.Errorf("PV in green: %q", ph)
		}
		return nil
	})
}
