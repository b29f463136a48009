package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rolloutCRD is a custom workload kind with a /scale subresource at
// .spec.replicas, shaped like Argo Rollouts' (group argoproj.io, kind Rollout).
const rolloutCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: rollouts.argoproj.io}
spec:
  group: argoproj.io
  scope: Namespaced
  names: {plural: rollouts, singular: rollout, kind: Rollout, listKind: RolloutList}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer, format: int32}
              template: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// A custom workload kind with a /scale subresource (found by discovery) is
// held like a Deployment: synced at 0 with its replicas recorded, a new one
// kept at 0 (or refused), `kubectl scale` refused, and activate puts the
// recorded replicas back.
func TestStandbyHoldsCustomScaleKinds(t *testing.T) {
	ns := fmt.Sprintf("e2e-rollout-%d", time.Now().Unix()%100000)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, ns+"-later", "--ignore-not-found", "--wait=true", "--timeout=120s")
			kubectl(t, "--context", c, "delete", "crd", "rollouts.argoproj.io", "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "crd.yaml", rolloutCRD))
	eventually(t, 30*time.Second, func() error {
		if r := kubectl(t, "--context", "blue", "get", "rollouts", "-A"); r.code != 0 {
			return fmt.Errorf("rollouts not served yet: %s", r.stderr)
		}
		return nil
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	rollout := func(ns string, replicas int) string {
		return writeManifest(t, "rollout.yaml", fmt.Sprintf(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"web","namespace":%q},"spec":{"replicas":%d,"template":{}}}`, ns, replicas))
	}
	mustKubectl(t, "--context", "blue", "apply", "-f", rollout(ns, 3))

	journal := t.TempDir()
	pairWithGreenStandby(t, journal)
	r := objJSON(t, "green", ns, "rollout/web")
	if field(r, "spec", "replicas") != float64(0) || annotation(r, "tandem.io/replicas") != "3" {
		t.Fatalf("Rollout in standby green: replicas %v, tandem.io/replicas %q; want 0 and \"3\"", field(r, "spec", "replicas"), annotation(r, "tandem.io/replicas"))
	}

	// kubectl scale through /scale is refused; a Rollout made later stays at 0 (or is refused).
	eventually(t, 30*time.Second, func() error {
		sr := kubectl(t, "--context", "green", "-n", ns, "scale", "rollout", "web", "--replicas", "2", "--dry-run=server")
		if sr.code == 0 || !strings.Contains(sr.stderr, "cluster is standby") {
			return fmt.Errorf("kubectl scale rollout in standby green: exit %d %s", sr.code, sr.stderr)
		}
		return nil
	})
	mustKubectl(t, "--context", "green", "create", "namespace", ns+"-later")
	// The apiserver needs a moment before admission policies can use a new CRD's schema ("There can be a delay…").
	var nr result
	eventually(t, time.Minute, func() error {
		if nr = kubectl(t, "--context", "green", "apply", "-f", rollout(ns+"-later", 2)); nr.code != 0 && strings.Contains(nr.stderr, "There can be a delay") {
			return fmt.Errorf("%s", nr.stderr)
		}
		return nil
	})
	if standbyPolicyKind(t, "green") == "MutatingAdmissionPolicy" {
		if nr.code != 0 {
			t.Fatalf("a Rollout created in standby green (mutating policy): exit %d\n%s", nr.code, nr.stderr)
		}
		o := objJSON(t, "green", ns+"-later", "rollout/web")
		if field(o, "spec", "replicas") != float64(0) || annotation(o, "tandem.io/replicas") != "2" {
			t.Fatalf("a Rollout created in standby green: replicas %v, tandem.io/replicas %q; want 0 and \"2\"", field(o, "spec", "replicas"), annotation(o, "tandem.io/replicas"))
		}
	} else if nr.code == 0 || !strings.Contains(nr.stderr, "cluster is standby") {
		t.Fatalf("a Rollout of 2 replicas created in standby green (validating policy): exit %d\n%s", nr.code, nr.stderr)
	}

	// activate puts the recorded replicas back.
	mustTandem(t, "activate", "--cluster", "green", "--journal-dir", journal, "--timeout", "2m")
	if r := objJSON(t, "green", ns, "rollout/web"); field(r, "spec", "replicas") != float64(3) {
		t.Fatalf("Rollout in green after activate: replicas %v, want 3", field(r, "spec", "replicas"))
	}
}

// A standby mirror running when a custom workload kind comes to the source
// (an operator installed while green stands by) watches the new kind and
// holds its objects at 0 from the first one: its pods must not run in the
// standby.
func TestStandbyMirrorHoldsAScaleKindMadeSince(t *testing.T) {
	ns := fmt.Sprintf("e2e-late-rollout-%d", time.Now().Unix()%100000)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s")
			kubectl(t, "--context", c, "delete", "crd", "rollouts.argoproj.io", "--ignore-not-found")
		}
	})
	for _, c := range []string{"blue", "green"} {
		kubectl(t, "--context", c, "delete", "crd", "rollouts.argoproj.io", "--ignore-not-found")
	}
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	pairWithGreenStandby(t, t.TempDir())

	waitNoLiveMirror(t, "green")
	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--standby", "-n", ns,
		"--duration", "5m", "--progress-every", "2s", "-v")
	defer func() {
		_ = run.cmd.Process.Signal(syscall.SIGTERM)
		<-run.done
		_ = run.cmd.Wait()
	}()
	run.waitFor(t, "initial pass done", 2*time.Minute)

	mustKubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "crd.yaml", rolloutCRD))
	eventually(t, 30*time.Second, func() error {
		if r := kubectl(t, "--context", "blue", "apply", "-f", writeManifest(t, "rollout.yaml",
			`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"web","namespace":"`+ns+`"},"spec":{"replicas":3,"template":{}}}`)); r.code != 0 {
			return fmt.Errorf("rollouts not served yet: %s", r.stderr)
		}
		return nil
	})
	eventually(t, 90*time.Second, func() error {
		r := kubectl(t, "--context", "green", "-n", ns, "get", "rollouts.argoproj.io", "web", "-o", "json")
		if r.code != 0 {
			return fmt.Errorf("Rollout not in green yet: %s", r.stderr)
		}
		o := objJSON(t, "green", ns, "rollout/web")
		if field(o, "spec", "replicas") != float64(0) || annotation(o, "tandem.io/replicas") != "3" {
			t.Fatalf("Rollout mirrored into standby green: replicas %v, tandem.io/replicas %q; want 0 and \"3\"", field(o, "spec", "replicas"), annotation(o, "tandem.io/replicas"))
		}
		return nil
	})
	// Green's standby policy was made before the kind existed there: the
	// mirror says so, and how to add it.
	if !strings.Contains(run.log(), "Rollout.argoproj.io is a scalable kind new to blue") || !strings.Contains(run.log(), "tandem deactivate --cluster green") {
		t.Errorf("the mirror did not say green's standby policy predates the new kind:\n%s", run.log())
	}
}
