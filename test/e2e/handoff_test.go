package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/volume"
)

// vaultFile is the data file the tests write into each volume.
const vaultFile = "tandem-e2e-token"

// handoffVol is one claim of the test StatefulSet and what was written into
// it; policy is the reclaim policy its PV must have wherever it ends (the
// source's, `standard`'s Delete, unless the handoff was told --keep-retain).
type handoffVol struct {
	claim, pv, dir, token, policy string
}

// setupVault creates, in blue, namespace ns with a StatefulSet vault of
// replicas pods whose claims are provisioned on `standard`, writes a token
// into each PV's hostPath directory, and syncs the namespace to green.
func setupVault(t *testing.T, ns string, replicas int) []handoffVol {
	t.Helper()
	labAtRest(t) // blue active: sync refuses to copy out of a standby
	vols := createVault(t, ns, replicas)
	mustTandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", ns, "--journal-dir", t.TempDir())
	// sync creates vault running in green: its own empty claims are what clear-target removes.
	waitStsReady(t, "green", ns, replicas)
	return vols
}

// createVault is setupVault without the sync.
func createVault(t *testing.T, ns string, replicas int) []handoffVol {
	t.Helper()
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() { cleanupVault(t, ns) })
	sts := map[string]any{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": map[string]any{"name": "vault", "namespace": ns},
		"spec": map[string]any{
			"serviceName": "vault", "replicas": replicas, "podManagementPolicy": "Parallel",
			"selector": map[string]any{"matchLabels": map[string]string{"app": "vault"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]string{"app": "vault"}},
				"spec": map[string]any{
					"tolerations": []any{map[string]any{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}},
					"containers": []any{map[string]any{"name": "vault", "image": "registry.example/vault:1",
						"volumeMounts": []any{map[string]any{"name": "data", "mountPath": "/data"}}}},
				},
			},
			"volumeClaimTemplates": []any{map[string]any{
				"metadata": map[string]any{"name": "data", "labels": map[string]string{"app": "vault"}},
				"spec": map[string]any{"accessModes": []string{"ReadWriteOnce"}, "storageClassName": "standard",
					"resources": map[string]any{"requests": map[string]string{"storage": "1Gi"}}},
			}},
		},
	}
	b, _ := json.Marshal(sts)
	kubectlCreate(t, "blue", string(b))
	var vols []handoffVol
	for i := 0; i < replicas; i++ {
		claim := fmt.Sprintf("data-vault-%d", i)
		eventually(t, 2*time.Minute, func() error {
			if ph := kubectl(t, "--context", "blue", "-n", ns, "get", "pvc", claim, "-o", "jsonpath={.status.phase}").stdout; ph != "Bound" {
				return fmt.Errorf("claim %s: %q", claim, ph)
			}
			return nil
		})
		pv := mustKubectl(t, "--context", "blue", "-n", ns, "get", "pvc", claim, "-o", "jsonpath={.spec.volumeName}")
		dir := mustKubectl(t, "--context", "blue", "get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}")
		if dir == "" {
			t.Fatalf("PV %s has no hostPath", pv)
		}
		token := fmt.Sprintf("%s %s %d", ns, claim, time.Now().UnixNano())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, vaultFile), []byte(token), 0o644); err != nil {
			t.Fatal(err)
		}
		removeDirLater(t, dir)
		vols = append(vols, handoffVol{claim: claim, pv: pv, dir: dir, token: token, policy: "Delete"})
	}
	waitStsReady(t, "blue", ns, replicas)
	return vols
}

// cleanupVault deletes ns in both clusters and the Retain PVs its claims left.
func cleanupVault(t *testing.T, ns string) {
	for _, c := range []string{"blue", "green"} {
		pvs := kubectl(t, "--context", c, "get", "pv", "-o", `jsonpath={range .items[?(@.spec.claimRef.namespace=="`+ns+`")]}{.metadata.name} {end}`).stdout
		kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		if names := strings.Fields(pvs); len(names) > 0 {
			kubectl(t, append([]string{"--context", c, "delete", "pv", "--ignore-not-found", "--wait=false"}, names...)...)
		}
	}
}

func waitStsReady(t *testing.T, ctxName, ns string, n int) {
	t.Helper()
	eventually(t, 3*time.Minute, func() error {
		ready := kubectl(t, "--context", ctxName, "-n", ns, "get", "statefulset", "vault", "-o", "jsonpath={.spec.replicas}/{.status.readyReplicas}").stdout
		if ready != fmt.Sprintf("%d/%d", n, n) {
			return fmt.Errorf("%s: vault replicas/ready %q, want %d/%d", ctxName, ready, n, n)
		}
		running := kubectl(t, "--context", ctxName, "-n", ns, "get", "pods", "-l", "app=vault", "-o", `jsonpath={range .items[?(@.status.phase=="Running")]}{.metadata.name} {end}`).stdout
		if got := len(strings.Fields(running)); got != n {
			return fmt.Errorf("%s: %d vault pods Running, want %d", ctxName, got, n)
		}
		return nil
	})
}

// assertHandedTo checks that every volume is Bound in `to` to the claim whose
// uid its claimRef names, with its reclaim policy and its data, and gone from
// `from`.
func assertHandedTo(t *testing.T, ns, from, to string, vols []handoffVol, replicas int) {
	t.Helper()
	assertVolumesHandedTo(t, ns, from, to, vols)
	waitStsReady(t, to, ns, replicas)
	if got := mustKubectl(t, "--context", from, "-n", ns, "get", "statefulset", "vault", "-o", "jsonpath={.spec.replicas}"); got != "0" {
		t.Errorf("%s: vault at %s replicas, want 0", from, got)
	}
}

// assertVolumesHandedTo is assertHandedTo without the owner.
func assertVolumesHandedTo(t *testing.T, ns, from, to string, vols []handoffVol) {
	t.Helper()
	for _, v := range vols {
		pvc := mustKubectl(t, "--context", to, "-n", ns, "get", "pvc", v.claim, "-o", "jsonpath={.status.phase} {.spec.volumeName} {.metadata.uid}")
		f := strings.Fields(pvc)
		if len(f) != 3 || f[0] != "Bound" || f[1] != v.pv {
			t.Errorf("%s: claim %s: phase/volume/uid %q, want Bound to %s", to, v.claim, pvc, v.pv)
			continue
		}
		pv := mustKubectl(t, "--context", to, "get", "pv", v.pv, "-o", "jsonpath={.status.phase} {.spec.claimRef.uid} {.spec.persistentVolumeReclaimPolicy} {.spec.hostPath.path}")
		if want := fmt.Sprintf("Bound %s %s %s", f[2], v.policy, v.dir); pv != want {
			t.Errorf("%s: PV %s: %q, want %q", to, v.pv, pv, want)
		}
		if ann := kubectl(t, "--context", to, "get", "pv", v.pv, "-o", `jsonpath={.metadata.annotations.pv\.kubernetes\.io/bound-by-controller}`).stdout; ann == "yes" {
			t.Errorf("%s: PV %s: bound-by-controller %q: it was bound by name, not pre-bound", to, v.pv, ann)
		}
		data, err := os.ReadFile(filepath.Join(v.dir, vaultFile))
		if err != nil || string(data) != v.token {
			t.Errorf("PV %s: data file %q (%v), want %q", v.pv, data, err, v.token)
		}
		if r := kubectl(t, "--context", from, "-n", ns, "get", "pvc", v.claim); r.code == 0 || !strings.Contains(r.stderr, "NotFound") {
			t.Errorf("%s: claim %s still there: %s%s", from, v.claim, r.stdout, r.stderr)
		}
		if r := kubectl(t, "--context", from, "get", "pv", v.pv); r.code == 0 || !strings.Contains(r.stderr, "NotFound") {
			t.Errorf("%s: PV %s still there: %s%s", from, v.pv, r.stdout, r.stderr)
		}
	}
}

// handoffReport is `tandem handoff -o json`.
type handoffReport struct {
	Run       string `json:"run"`
	Completed bool   `json:"completed"`
	Seconds   float64
	Volumes   []struct {
		Name    string  `json:"name"`
		Seconds float64 `json:"seconds"`
	} `json:"volumes"`
}

// handoffArgs hand vault's volumes from blue to green, replacing the empty
// claims green's own StatefulSet provisioned for itself.
func handoffArgs(ns string, extra ...string) []string {
	return append([]string{"handoff", "--source", "blue", "--target", "green", "--namespace", ns, "--statefulset", "vault", "-o", "json", "--replace-target-claims"}, extra...)
}

func runHandoff(t *testing.T, args []string) handoffReport {
	t.Helper()
	r := tandem(t, args...)
	if r.code != 0 {
		t.Fatalf("tandem %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	t.Logf("tandem %s:\n%s", strings.Join(args, " "), r.stderr)
	out := r.stdout
	var rep handoffReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("handoff -o json: %v\n%s", err, out)
	}
	if !rep.Completed {
		t.Fatalf("handoff not completed: %s", out)
	}
	for _, v := range rep.Volumes {
		t.Logf("%s: %.2fs", v.Name, v.Seconds)
	}
	t.Logf("run %s: %d volumes in %.2fs", rep.Run, len(rep.Volumes), rep.Seconds)
	return rep
}

// The volumes of a StatefulSet move to green with their data, pre-bound so
// that a claim naming the PV cannot take it, and move back with --rollback.
func TestHandoffMovesVolumesAndRollsBack(t *testing.T) {
	const ns = "e2e-handoff"
	vols := setupVault(t, ns, 2)
	journal := t.TempDir()

	// A thief in green names the first PV before the handoff.
	thief := fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"thief","namespace":%q},
		"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"standard","volumeName":%q,"resources":{"requests":{"storage":"1Gi"}}}}`, ns, vols[0].pv)
	kubectlCreate(t, "green", thief)

	// Green's StatefulSet made claims of the same names (bound to Delete PVs):
	// without --replace-target-claims the handoff refuses before any change.
	r := tandem(t, "handoff", "--source", "blue", "--target", "green", "--namespace", ns, "--statefulset", "vault", "--journal-dir", journal, "-o", "table")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "claim "+ns+"/"+vols[1].claim+" already exists in the target and no handoff made it") || !strings.Contains(r.stdout+r.stderr, "--replace-target-claims") {
		t.Fatalf("handoff onto claims it did not make: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := mustKubectl(t, "--context", "blue", "get", "pv", vols[1].pv, "-o", "jsonpath={.spec.persistentVolumeReclaimPolicy}"); got != "Delete" {
		t.Fatalf("blue PV %s reclaim policy %q: a refused handoff changed it", vols[1].pv, got)
	}
	// The lab's volumes are hostPath directories with no node affinity:
	// their data reaches green only because both clusters run on one
	// machine. The handoff says so, and goes on.
	if want := "warning: " + ns + "/" + vols[1].claim + ": PV " + vols[1].pv + " is a hostPath volume ("; !strings.Contains(r.stderr, want) {
		t.Errorf("handoff of hostPath volumes without node affinity: no %q in stderr:\n%s", want, r.stderr)
	}

	dry := mustTandem(t, handoffArgs(ns, "--journal-dir", journal, "--dry-run", "-o", "table")...)
	if !strings.Contains(dry, "dry run: nothing changed") || !strings.Contains(dry, vols[1].pv) {
		t.Errorf("dry run output:\n%s", dry)
	}
	runHandoff(t, handoffArgs(ns, "--journal-dir", journal))
	assertHandedTo(t, ns, "blue", "green", vols, 2)
	got := mustKubectl(t, "--context", "green", "-n", ns, "get", "pvc", "thief", "-o", "jsonpath={.status.phase}/{.spec.volumeName}")
	if got != "Pending/"+vols[0].pv {
		t.Errorf("thief claim: phase/volumeName %q, want Pending/%s", got, vols[0].pv)
	}
	if ref := mustKubectl(t, "--context", "green", "get", "pv", vols[0].pv, "-o", "jsonpath={.spec.claimRef.name}"); ref != vols[0].claim {
		t.Errorf("PV %s claimed by %q, want %s", vols[0].pv, ref, vols[0].claim)
	}

	// A second run has nothing to do and changes nothing.
	again := tandem(t, handoffArgs(ns, "--journal-dir", journal)...)
	if again.code != 2 || !strings.Contains(again.stderr, "already moved its volumes to green") {
		t.Errorf("second handoff: exit %d, want 2 saying the last run already moved the volumes\n%s%s", again.code, again.stdout, again.stderr)
	}
	// Someone scales blue's vault up again: it makes new, empty claims of the
	// same names there. A handoff run again — --replace-target-claims given —
	// must not replace green's claims: they hold the data, on PVs that are
	// Delete again.
	uids := func() string {
		return mustKubectl(t, "--context", "green", "-n", ns, "get", "pvc", "-l", "app=vault", "-o", `jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}/{.status.phase} {end}`)
	}
	before := uids()
	mustKubectl(t, "--context", "blue", "-n", ns, "scale", "statefulset", "vault", "--replicas", "2")
	waitStsReady(t, "blue", ns, 2)
	fresh := tandem(t, handoffArgs(ns, "--journal-dir", journal)...)
	if fresh.code != 1 || !strings.Contains(fresh.stdout+fresh.stderr, "was made by handoff run") {
		t.Errorf("handoff onto claims an earlier handoff made: exit %d, want 1 naming the earlier handoff's claim\n%s%s", fresh.code, fresh.stdout, fresh.stderr)
	}
	if after := uids(); after != before {
		t.Errorf("green's claims changed by a refused handoff: %q, were %q", after, before)
	}
	mustKubectl(t, "--context", "blue", "-n", ns, "scale", "statefulset", "vault", "--replicas", "0")
	for _, v := range vols {
		mustKubectl(t, "--context", "blue", "-n", ns, "delete", "pvc", v.claim, "--wait=true", "--timeout=2m")
	}

	runHandoff(t, handoffArgs(ns, "--journal-dir", journal, "--rollback"))
	assertHandedTo(t, ns, "green", "blue", vols, 2)
}

// A crash (exit 137, as kill -9) inside each step in turn (it acted, its done
// record is not written) and then after it: every re-run resumes where the
// last one stopped, acts again where needed, and the handoff completes with
// nothing lost and the replicas recorded before the first crash.
func TestHandoffResumesAfterCrashAtEachStep(t *testing.T) {
	const ns = "e2e-handoff-crash"
	vols := setupVault(t, ns, 2)
	journal := t.TempDir()
	// One volume at a time, so each step name is the next step to run.
	args := handoffArgs(ns, "--journal-dir", journal, "--parallel", "1")
	for _, step := range volume.Steps {
		for _, at := range []string{step + ":acted", step} {
			r := runCmdEnv(t, []string{"TANDEM_HANDOFF_CRASH_AFTER=" + at}, lab.bin, args...)
			if r.code != 137 || !strings.Contains(r.stderr, "TANDEM_HANDOFF_CRASH_AFTER="+at+": exiting 137") {
				t.Fatalf("crash at %s: exit %d, want 137\n%s%s", at, r.code, r.stdout, r.stderr)
			}
		}
		if step == "create-pvc" {
			// A thief in the middle of the handoff: the claim exists, its PV not yet.
			kubectlCreate(t, "green", fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"thief","namespace":%q},
				"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"standard","volumeName":%q,"resources":{"requests":{"storage":"1Gi"}}}}`, ns, vols[1].pv))
		}
	}
	runHandoff(t, args)
	assertHandedTo(t, ns, "blue", "green", vols, 2)
	if got := mustKubectl(t, "--context", "green", "-n", ns, "get", "pvc", "thief", "-o", "jsonpath={.status.phase}/{.spec.volumeName}"); got != "Pending/"+vols[1].pv {
		t.Errorf("thief claim: phase/volumeName %q, want Pending/%s", got, vols[1].pv)
	}
}

// Every blocker is reported before anything changes: here the owner is
// missing in green (no sync), the PV's name is taken there, a pod no
// controller owns, one of a ReplicaSet of its own and one of an operator's
// own kind mount the claim in blue, vault deletes its claims when it scales down, and the selection
// takes one of vault's two claims. A finished Job's pod is no blocker. Then
// volumes green has no driver or driver Secret for.
func TestHandoffReportsAllBlockersFirst(t *testing.T) {
	const ns = "e2e-handoff-block"
	vols := createVault(t, ns, 2)
	squatter := fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":%q},"spec":{"capacity":{"storage":"1Gi"},
		"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","storageClassName":"standard",
		"hostPath":{"path":"/tmp/tandem-e2e-squatter"},"claimRef":{"namespace":"other","name":"other"}}}`, vols[0].pv)
	kubectlCreate(t, "green", squatter)
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "delete", "pv", vols[0].pv, "--ignore-not-found", "--wait=false")
	})
	mount := func(claim string) string {
		return fmt.Sprintf(`"tolerations":[{"key":"kwok.x-k8s.io/node","operator":"Exists","effect":"NoSchedule"}],
		"containers":[{"name":"c","image":"registry.example/c:1","volumeMounts":[{"name":"d","mountPath":"/d"}]}],
		"volumes":[{"name":"d","persistentVolumeClaim":{"claimName":%q}}]`, claim)
	}
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bare","namespace":%q},"spec":{%s}}`, ns, mount(vols[0].claim)))
	// A ReplicaSet of its own keeps its pod mounting the claim: scaling vault does not stop it.
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"side","namespace":%q},"spec":{"replicas":1,
		"selector":{"matchLabels":{"app":"side"}},"template":{"metadata":{"labels":{"app":"side"}},"spec":{%s}}}}`, ns, mount(vols[0].claim)))
	// A pod an operator's own workload controls (a StrimziPodSet's, here a
	// Lease as such a kind): it has no replicas the handoff could set.
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"brokers","namespace":%q},"spec":{}}`, ns))
	leaseUID := mustKubectl(t, "--context", "blue", "-n", ns, "get", "lease", "brokers", "-o", "jsonpath={.metadata.uid}")
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"broker-0","namespace":%q,
		"ownerReferences":[{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","name":"brokers","uid":%q,"controller":true}]},"spec":{%s}}`, ns, leaseUID, mount(vols[0].claim)))
	// A Job's pod that has finished mounts nothing: no blocker.
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"backup","namespace":%q},"spec":{
		"template":{"spec":{"restartPolicy":"Never",%s}}}}`, ns, mount(vols[0].claim)))
	eventually(t, 2*time.Minute, func() error {
		got := kubectl(t, "--context", "blue", "-n", ns, "get", "pods", "-l", "job-name=backup", "-o", "jsonpath={.items[*].status.phase}").stdout
		side := kubectl(t, "--context", "blue", "-n", ns, "get", "pods", "-l", "app=side", "-o", "jsonpath={.items[*].status.phase}").stdout
		if got != "Succeeded" || side != "Running" {
			return fmt.Errorf("backup's pod %q, side's %q: want Succeeded, Running", got, side)
		}
		return nil
	})
	// Stopping vault would delete its claims.
	mustKubectl(t, "--context", "blue", "-n", ns, "patch", "statefulset", "vault", "-p", `{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete"}}}`)
	// One claim of the two: vault would start in green with the other empty.
	// --snapshot csi of a hostPath volume: a snapshot that cannot be taken
	// is a blocker too (the handoff would stop with the source down).
	r := tandem(t, "handoff", "--source", "blue", "--target", "green", "--namespace", ns, "--pvc", vols[0].claim,
		"--replace-target-claims", "--snapshot", "csi", "--journal-dir", t.TempDir(), "-o", "table")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"StatefulSet " + ns + "/vault does not exist in the target", "PV name " + vols[0].pv + " is already taken in the target",
		"pod bare mounts the claim and has no controller", "its controller, ReplicaSet side, is not one the handoff scales down",
		"pod broker-0 mounts the claim and its controller, Lease brokers, is not one the handoff scales down",
		"stop it first by its operator's own means",
		"StatefulSet " + ns + "/vault deletes its claims when it scales down",
		"StatefulSet " + ns + "/vault also mounts claim " + vols[1].claim + ", which the selection leaves out",
		"PV " + vols[0].pv + " is not a CSI volume: --snapshot csi cannot snapshot it",
		"nothing was changed"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "backup") {
		t.Errorf("the finished Job's pod is named as a blocker:\n%s%s", r.stdout, r.stderr)
	}
	if got := mustKubectl(t, "--context", "blue", "get", "pv", vols[0].pv, "-o", "jsonpath={.spec.persistentVolumeReclaimPolicy}"); got != "Delete" {
		t.Errorf("blue PV %s reclaim policy %q: a blocked handoff changed it", vols[0].pv, got)
	}
	waitStsReady(t, "blue", ns, 2)

	// Volumes green could not mount: an in-tree GCE disk (served by its CSI
	// driver since CSI migration) and a CSI volume whose driver is given a
	// Secret green does not have.
	for name, source := range map[string]string{
		"gce": `"gcePersistentDisk":{"pdName":"disk-1"}`,
		"csi": `"csi":{"driver":"secrets.csi.e2e.tandem.io","volumeHandle":"h1","nodePublishSecretRef":{"name":"creds","namespace":"` + ns + `"}}`,
	} {
		kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"%[1]s-%[2]s"},"spec":{"capacity":{"storage":"1Gi"},
			"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","storageClassName":"","claimRef":{"namespace":%[1]q,"name":%[2]q},%[3]s}}`, ns, name, source))
		kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":%[2]q,"namespace":%[1]q,"labels":{"e2e-driver":"yes"}},
			"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"","volumeName":"%[1]s-%[2]s","resources":{"requests":{"storage":"1Gi"}}}}`, ns, name))
	}
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds","namespace":%q},"stringData":{"key":"v"}}`, ns))
	eventually(t, time.Minute, func() error {
		if got := kubectl(t, "--context", "blue", "-n", ns, "get", "pvc", "-l", "e2e-driver=yes", "-o", "jsonpath={.items[*].status.phase}").stdout; got != "Bound Bound" {
			return fmt.Errorf("claims gce, csi: %q, want Bound Bound", got)
		}
		return nil
	})
	r = tandem(t, "handoff", "--source", "blue", "--target", "green", "--namespace", ns, "-l", "e2e-driver=yes", "--journal-dir", t.TempDir(), "-o", "table")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"the target has no CSIDriver pd.csi.storage.gke.io (the PV's in-tree gcePersistentDisk volume is served by it",
		"the target has no CSIDriver secrets.csi.e2e.tandem.io",
		"the PV's CSI nodePublishSecretRef names Secret " + ns + "/creds, which the target does not have"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}

// Twenty volumes at once, selected by label, left Retain (--keep-retain): the
// time per volume, for the record.
func TestHandoffTwentyVolumes(t *testing.T) {
	const ns = "e2e-handoff-20"
	vols := setupVault(t, ns, 20)
	for i := range vols {
		vols[i].policy = "Retain"
	}
	rep := runHandoff(t, []string{"handoff", "--source", "blue", "--target", "green", "--namespace", ns, "-l", "app=vault",
		"--parallel", "20", "-o", "json", "--journal-dir", t.TempDir(), "--replace-target-claims", "--keep-retain"})
	assertHandedTo(t, ns, "blue", "green", vols, 20)
	t.Logf("20 volumes handed over in %.2fs (%.3fs per volume)", rep.Seconds, rep.Seconds/20)
}

// A standalone claim of a Deployment (--pvc) moves the same way; the
// Deployment is scaled down in blue and back up in green.
func TestHandoffStandalonePVCOfDeployment(t *testing.T) {
	const ns = "e2e-handoff-deploy"
	labAtRest(t) // blue active: sync refuses to copy out of a standby
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() { cleanupVault(t, ns) })
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"files","namespace":%q},
		"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"standard","resources":{"requests":{"storage":"1Gi"}}}}`, ns))
	kubectlCreate(t, "blue", fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":%q},"spec":{
		"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{
		"tolerations":[{"key":"kwok.x-k8s.io/node","operator":"Exists","effect":"NoSchedule"}],
		"containers":[{"name":"web","image":"registry.example/web:1","volumeMounts":[{"name":"files","mountPath":"/files"}]}],
		"volumes":[{"name":"files","persistentVolumeClaim":{"claimName":"files"}}]}}}}`, ns))
	eventually(t, 2*time.Minute, func() error {
		if ph := kubectl(t, "--context", "blue", "-n", ns, "get", "pvc", "files", "-o", "jsonpath={.status.phase}").stdout; ph != "Bound" {
			return fmt.Errorf("claim files: %q", ph)
		}
		return nil
	})
	pv := mustKubectl(t, "--context", "blue", "-n", ns, "get", "pvc", "files", "-o", "jsonpath={.spec.volumeName}")
	dir := mustKubectl(t, "--context", "blue", "get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}")
	v := handoffVol{claim: "files", pv: pv, dir: dir, token: fmt.Sprintf("%s files %d", ns, time.Now().UnixNano()), policy: "Delete"}
	removeDirLater(t, dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, vaultFile), []byte(v.token), 0o644); err != nil {
		t.Fatal(err)
	}
	waitDeployReady(t, "blue", ns, 1)
	mustTandem(t, "sync", "--source", "blue", "--target", "green", "--namespace", ns, "--journal-dir", t.TempDir())

	runHandoff(t, []string{"handoff", "--source", "blue", "--target", "green", "--namespace", ns, "--pvc", "files", "-o", "json", "--journal-dir", t.TempDir(), "--replace-target-claims"})
	assertVolumesHandedTo(t, ns, "blue", "green", []handoffVol{v})
	waitDeployReady(t, "green", ns, 1)
	if got := mustKubectl(t, "--context", "blue", "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "0" {
		t.Errorf("blue: web at %s replicas, want 0", got)
	}
}

func waitDeployReady(t *testing.T, ctxName, ns string, n int) {
	t.Helper()
	eventually(t, 3*time.Minute, func() error {
		got := kubectl(t, "--context", ctxName, "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}/{.status.readyReplicas}").stdout
		if got != fmt.Sprintf("%d/%d", n, n) {
			return fmt.Errorf("%s: web replicas/ready %q, want %d/%d", ctxName, got, n, n)
		}
		return nil
	})
}

// removeDirLater removes a test volume's hostPath directory (the PVs are
// Retain, so nothing else does) when it is under /tmp, as the lab's are.
func removeDirLater(t *testing.T, dir string) {
	t.Cleanup(func() {
		if strings.HasPrefix(filepath.Clean(dir), "/tmp/") {
			_ = os.RemoveAll(dir)
		}
	})
}
