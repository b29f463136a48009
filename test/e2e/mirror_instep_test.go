package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A mirror whose writes fail keeps count of the objects the target is not
// in step with. One refused by a webhook that is down (a failure that can
// pass) is tried again after the initial pass, and is copied once the
// webhook is gone; one a policy refuses for good stays out of step, and the
// mirror says so when it stops: listed, in -o json, exit 1.
func TestMirrorSaysWhatIsNotInStep(t *testing.T) {
	labAtRest(t)
	waitNoLiveMirror(t, "green")
	ns := fmt.Sprintf("e2e-instep-%d", time.Now().Unix()%100000)
	webhook := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: %[1]s-down}
webhooks:
- name: down.e2e.tandem.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 2
  clientConfig: {url: "https://127.0.0.1:1/validate"}
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[1]s}}
  objectSelector: {matchLabels: {e2e-held: "yes"}}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}]
`, ns)
	policy := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: %[1]s-refuse}
spec:
  failurePolicy: Fail
  matchConstraints:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[1]s}}
    resourceRules: [{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["configmaps"]}]
  validations:
  - expression: "object.metadata.name != 'refused'"
    message: "e2e refuses this ConfigMap"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: %[1]s-refuse}
spec: {policyName: %[1]s-refuse, validationActions: [Deny]}
`, ns)
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "delete", "validatingwebhookconfiguration", ns+"-down", "--ignore-not-found")
		kubectl(t, "--context", "green", "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", ns+"-refuse", "--ignore-not-found")
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "create", "namespace", ns)
	}
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "plain", "--from-literal=v=1")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "held", "--from-literal=v=1")
	mustKubectl(t, "--context", "blue", "-n", ns, "label", "configmap", "held", "e2e-held=yes")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "refused", "--from-literal=v=1")
	mustKubectl(t, "--context", "green", "apply", "-f", writeManifest(t, "down.yaml", webhook))
	mustKubectl(t, "--context", "green", "apply", "-f", writeManifest(t, "refuse.yaml", policy))
	eventually(t, time.Minute, func() error {
		r := kubectl(t, "--context", "green", "-n", ns, "create", "configmap", "refused", "--dry-run=server")
		if !strings.Contains(r.stderr, "e2e refuses") {
			return fmt.Errorf("the policy does not refuse yet: %s%s", r.stdout, r.stderr)
		}
		return nil
	})

	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--namespace", ns, "-o", "json",
		"--duration", "5m", "--progress-every", "2s", "-v")
	// The held ConfigMap's write is tried for the initial pass's whole
	// retry budget (≈ 40 s) before the pass hands it to the mirror's queue.
	run.waitFor(t, "initial pass done", 3*time.Minute)
	if got := configMaps(t, "green", ns); got["plain"] == "" || got["held"] != "" || got["refused"] != "" {
		t.Fatalf("after the initial pass green holds %v: want plain only", keys(got))
	}
	// Counted once out of step for 30 s (a change waiting a moment is not news).
	eventually(t, 75*time.Second, func() error {
		var st struct {
			Stats struct {
				OutOfStep int `json:"outOfStep"`
			} `json:"stats"`
		}
		out := mustTandem(t, "mirror", "status", "--target", "green", "-o", "json")
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			return fmt.Errorf("mirror status -o json: %v\n%s", err, out)
		}
		if st.Stats.OutOfStep != 2 {
			return fmt.Errorf("mirror status says %d objects not in step, want 2 (held, refused):\n%s", st.Stats.OutOfStep, out)
		}
		return nil
	})

	st := tandem(t, "status", "--source", "blue", "--target", "green")
	if !strings.Contains(st.stdout+st.stderr, "green: the mirror from blue has 2 objects not in step") || st.code != 1 {
		t.Errorf("tandem status: exit %d, want 1 and a warning on the objects not in step:\n%s%s", st.code, st.stdout, st.stderr)
	}

	// The webhook goes: the held ConfigMap comes without a change in blue.
	mustKubectl(t, "--context", "green", "delete", "validatingwebhookconfiguration", ns+"-down")
	eventually(t, 90*time.Second, func() error {
		if got := configMaps(t, "green", ns); got["held"] == "" {
			return fmt.Errorf("held is not in green yet (%v)", keys(got))
		}
		return nil
	})

	if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-run.done
	err := run.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("mirror stopped with an object not in step: %v, want exit 1\n%s", err, run.log())
	}
	log := run.log()
	if lines := strings.Split(strings.TrimSpace(log), "\n"); !strings.HasPrefix(lines[len(lines)-1], "error: not in step: 1 objects of blue are not in step in green") {
		t.Errorf("last line %q: want one saying what is not in step", lines[len(lines)-1])
	}
	if !strings.Contains(log, "not in step: configmaps "+ns+"/refused: ") || !strings.Contains(log, "e2e refuses") || strings.Contains(log, "not in step: configmaps "+ns+"/held") {
		t.Errorf("the stop does not name refused alone, with the policy's message:\n%s", log)
	}
	var res struct {
		OutOfStep int `json:"outOfStep"`
		NotInStep []struct {
			Object, Why string
		} `json:"notInStep"`
	}
	if err := json.Unmarshal(run.stdout.Bytes(), &res); err != nil {
		t.Fatalf("-o json: %v\n%s", err, run.stdout.String())
	}
	if res.OutOfStep != 1 || len(res.NotInStep) != 1 || res.NotInStep[0].Object != "configmaps "+ns+"/refused" {
		t.Errorf("-o json: %d not in step, %+v; want configmaps %s/refused alone", res.OutOfStep, res.NotInStep, ns)
	}
}
