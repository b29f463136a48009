package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The target's faults a sync rides out — each the row of docs/faults.md of
// the same name: the sync finishes with exit 0, green holds exactly blue's
// objects (0 lost), each created once (0 duplicated), and the report says
// which writes took more than one attempt.
func TestSyncRidesOutTargetFaults(t *testing.T) {
	labAtRest(t) // blue active (sync refuses to copy out of a standby), green a plain target
	const n = 600
	// --qps paces the writes (about 12 s of them) so that each fault lands mid-sync.
	paced := []string{"--qps", "50", "--burst", "1", "--workers", "4"}

	t.Run("target apiserver killed and restarted", func(t *testing.T) {
		ns := fmt.Sprintf("e2e-fault-restart-%d", time.Now().Unix()%100000)
		seedConfigMaps(t, ns, n, "fault")
		r := startSync(t, append([]string{"--namespace", ns}, paced...)...)
		r.waitWriting(t, ns, 50)
		restartAPIServer(t, "green")
		code, out := r.wait(t)
		if code != 0 {
			t.Fatalf("sync across green's restart: exit %d\n%s%s", code, failedRows(out), r.stderr.String())
		}
		assertNoneLost(t, ns, n, out)
		if retriedRows(out) == 0 {
			t.Errorf("no row says it took more than one attempt: the restart was not seen\n%s", r.stderr.String())
		}
	})

	t.Run("target apiserver frozen 20s", func(t *testing.T) {
		ns := fmt.Sprintf("e2e-fault-freeze-%d", time.Now().Unix()%100000)
		seedConfigMaps(t, ns, n, "fault")
		r := startSync(t, append([]string{"--namespace", ns}, paced...)...)
		r.waitWriting(t, ns, 50)
		pid := apiserverPID(t, "green")
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		thawed := false
		thaw := func() {
			if !thawed {
				thawed = true
				_ = syscall.Kill(pid, syscall.SIGCONT)
			}
		}
		t.Cleanup(thaw) // never leave the lab's apiserver stopped
		time.Sleep(20 * time.Second)
		thaw()
		code, out := r.wait(t)
		if code != 0 {
			t.Fatalf("sync across a 20 s freeze of green's apiserver: exit %d\n%s%s", code, failedRows(out), r.stderr.String())
		}
		assertNoneLost(t, ns, n, out)
	})

	t.Run("a webhook in the target timing out", func(t *testing.T) {
		ns := fmt.Sprintf("e2e-fault-webhook-%d", time.Now().Unix()%100000)
		seedConfigMaps(t, ns, n, "fault")
		// The backend hangs (a pod restarting behind its Service) until released.
		release := make(chan struct{})
		var released atomic.Bool
		var hung atomic.Int32
		url, ca := serveWebhook(t, func(*admissionv1.AdmissionRequest) *metav1.Status {
			if !released.Load() {
				hung.Add(1)
				select {
				case <-release:
				case <-time.After(30 * time.Second):
				}
			}
			return nil
		})
		t.Cleanup(func() {
			if released.CompareAndSwap(false, true) {
				close(release)
			}
		})
		hook := webhookConfig("e2e-fault-timeout", url, ca, 2, ns)
		t.Cleanup(func() {
			kubectl(t, "--context", "green", "delete", "validatingwebhookconfiguration", "e2e-fault-timeout", "--ignore-not-found")
		})
		applyJSON(t, "green", hook)
		r := startSync(t, "--namespace", ns, "--workers", "4")
		eventually(t, time.Minute, func() error {
			if hung.Load() < 4 {
				return fmt.Errorf("%d requests reached the hung webhook", hung.Load())
			}
			return nil
		})
		time.Sleep(8 * time.Second) // several timeouts of 2 s each
		released.Store(true)
		close(release)
		code, out := r.wait(t)
		if code != 0 {
			t.Fatalf("sync across a webhook timing out: exit %d\n%s%s", code, failedRows(out), r.stderr.String())
		}
		assertNoneLost(t, ns, n, out)
		if retriedRows(out) == 0 {
			t.Errorf("no row says it took more than one attempt though %d requests hung", hung.Load())
		}
	})

	t.Run("APF throttles tandem with 429s", func(t *testing.T) {
		ns := fmt.Sprintf("e2e-fault-apf-%d", time.Now().Unix()%100000)
		seedConfigMaps(t, ns, n, "fault")
		// tandem runs as a user of its own (--as), whom a FlowSchema gives
		// the smallest priority level, rejecting (429) what does not fit.
		const user = "e2e-throttled"
		apf := `apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: e2e-throttled}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: {type: Reject}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: e2e-throttled}
spec:
  priorityLevelConfiguration: {name: e2e-throttled}
  matchingPrecedence: 100
  distinguisherMethod: {type: ByUser}
  rules:
  - subjects: [{kind: User, user: {name: ` + user + `}}]
    resourceRules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true}]
    nonResourceRules: [{verbs: ["*"], nonResourceURLs: ["*"]}]
`
		rbac := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-throttled}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ` + user + `}]
`
		t.Cleanup(func() {
			kubectl(t, "--context", "green", "delete", "flowschema,prioritylevelconfiguration", "e2e-throttled", "--ignore-not-found")
			for _, c := range []string{"blue", "green"} {
				kubectl(t, "--context", c, "delete", "clusterrolebinding", "e2e-throttled", "--ignore-not-found")
			}
		})
		for _, c := range []string{"blue", "green"} {
			mustKubectl(t, "--context", c, "apply", "-f", writeManifest(t, "rbac.yaml", rbac))
		}
		mustKubectl(t, "--context", "green", "apply", "-f", writeManifest(t, "apf.yaml", apf))
		const rejected = "apiserver_flowcontrol_rejected_requests_total"
		before := metricSum(t, "green", rejected, `priority_level="e2e-throttled"`)
		r := startSync(t, "--namespace", ns, "--workers", "32", "--qps", "-1", "--as", user, "--as-group", "system:authenticated")
		code, out := r.wait(t)
		if code != 0 {
			t.Fatalf("sync throttled by APF: exit %d\n%s%s", code, failedRows(out), r.stderr.String())
		}
		assertNoneLost(t, ns, n, out)
		if after := metricSum(t, "green", rejected, `priority_level="e2e-throttled"`); after <= before {
			t.Errorf("green's APF rejected %v requests of the sync (before %v): the test did not throttle it", after-before, before)
		} else {
			t.Logf("green's APF rejected %v requests of the sync; %d rows took more than one attempt", after-before, retriedRows(out))
		}
	})
}

// A webhook that stays down is a failure the user must see: the objects
// behind it are reported failed with the webhook's error after the retries,
// exit 1, the rest is written — and a re-run once it is back writes what is
// missing, each object once.
func TestSyncReportsAWebhookThatStaysDown(t *testing.T) {
	labAtRest(t)
	ns := fmt.Sprintf("e2e-fault-down-%d", time.Now().Unix()%100000)
	seedConfigMaps(t, ns, 3, "fault")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "secret", "generic", "beside", "--from-literal=k=v")
	var down atomic.Bool
	down.Store(true)
	url, ca := serveWebhook(t, func(*admissionv1.AdmissionRequest) *metav1.Status {
		if down.Load() {
			time.Sleep(3 * time.Second) // past the webhook's timeout
		}
		return nil
	})
	hook := webhookConfig("e2e-fault-down", url, ca, 1, ns)
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "delete", "validatingwebhookconfiguration", "e2e-fault-down", "--ignore-not-found")
	})
	applyJSON(t, "green", hook)
	jd := t.TempDir()
	out, r := syncJSON(t, jd, 1, "--namespace", ns)
	failed := 0
	for _, row := range out.with("failed") {
		if row.Kind == "ConfigMap" && strings.Contains(row.Reason, "e2e-fault-down.e2e.example.com") {
			failed++
		}
	}
	if failed != 3 {
		t.Errorf("%d ConfigMaps reported failed naming the webhook, want 3\n%s", failed, r.stdout)
	}
	if row, ok := out.find("Secret", ns, "beside"); !ok || row.Status != "created" {
		t.Errorf("the Secret beside them: %+v, want created", row)
	}
	down.Store(false)
	second, _ := syncJSON(t, jd, 0, "--namespace", ns)
	assertNoneLost(t, ns, 3, second)
}

// webhookConfig is a ValidatingWebhookConfiguration named name (its webhook
// name+".e2e.example.com") that checks ConfigMaps written in ns at url, failing
// closed after timeout seconds.
func webhookConfig(name, url string, ca []byte, timeout int, ns string) string {
	hook, _ := json.Marshal(map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": name},
		"webhooks": []any{map[string]any{
			"name": name + ".e2e.example.com", "sideEffects": "None", "admissionReviewVersions": []string{"v1"},
			"failurePolicy": "Fail", "timeoutSeconds": timeout, "clientConfig": map[string]any{"url": url, "caBundle": ca},
			"rules": []any{map[string]any{"apiGroups": []string{""}, "apiVersions": []string{"v1"},
				"resources": []string{"configmaps"}, "operations": []string{"CREATE", "UPDATE"}}},
			"namespaceSelector": map[string]any{"matchLabels": map[string]string{"kubernetes.io/metadata.name": ns}},
		}},
	})
	return string(hook)
}

// SIGTERM (or Ctrl-C) mid-sync: tandem stops, says it was interrupted and
// how to finish, exits 130; the same command run again resumes and leaves
// every object in the target.
func TestSyncInterruptedBySIGTERM(t *testing.T) {
	labAtRest(t)
	const n = 300
	ns := fmt.Sprintf("e2e-sigterm-%d", time.Now().Unix()%100000)
	seedConfigMaps(t, ns, n, "sigterm")
	jd := t.TempDir()
	cmd := exec.Command(lab.bin, syncArgs(jd, "--namespace", ns, "--workers", "2", "--qps", "50", "--burst", "1")...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+lab.kubeconfig, "TANDEM_SOURCE=", "TANDEM_TARGET=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	eventually(t, 2*time.Minute, func() error {
		select {
		case err := <-done:
			t.Fatalf("sync ended (%v) before its first ConfigMap was in green\n%s", err, stderr.String())
		default:
		}
		if len(strings.Fields(kubectl(t, "--context", "green", "-n", ns, "get", "configmaps", "-l", "e2e=sigterm", "-o", "name").stdout)) == 0 {
			return fmt.Errorf("no ConfigMap in green yet")
		}
		return nil
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatalf("sync still running a minute after SIGTERM\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("sync after SIGTERM: %v, want exit 130\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "error: interrupted:") || !strings.Contains(last, "run again resumes") {
		t.Errorf("last line after SIGTERM: %q, want it to say interrupted and how to resume", last)
	}
	_, r := syncJSON(t, jd, 0, "--namespace", ns)
	if !strings.Contains(r.stderr, "resuming interrupted sync") {
		t.Errorf("re-run does not say it resumes; stderr:\n%s", r.stderr)
	}
	if got := len(strings.Fields(kubectl(t, "--context", "green", "-n", ns, "get", "configmaps", "-l", "e2e=sigterm", "-o", "name").stdout)); got != n {
		t.Errorf("green has %d of the %d ConfigMaps after the re-run", got, n)
	}
}

// A resource of the source that cannot be read (here: a user who may view
// but not read Secrets) is not copied, and the sync says so: a warning
// naming it, the rest copied, exit 3 — not a success that left it behind.
func TestSyncSaysWhatItCouldNotRead(t *testing.T) {
	labAtRest(t)
	ns := fmt.Sprintf("e2e-unread-%d", time.Now().Unix()%100000)
	const user = "e2e-viewer"
	binding := func(clusterRole string) string {
		return `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"e2e-unread-` + clusterRole + `"},
"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"` + clusterRole + `"},
"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"` + user + `"}]}`
	}
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "clusterrolebinding", "e2e-unread-view", "e2e-unread-e2e-unread-crds", "--ignore-not-found")
		kubectl(t, "--context", "blue", "delete", "clusterrole", "e2e-unread-crds", "--ignore-not-found")
		kubectl(t, "--context", "green", "delete", "clusterrolebinding", "e2e-unread-cluster-admin", "--ignore-not-found")
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	// In blue the user sees everything but Secrets (the built-in view
	// role); in green it may write.
	kubectlCreate(t, "blue", binding("view"))
	kubectlCreate(t, "blue", `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"e2e-unread-crds"},
"rules":[{"apiGroups":["apiextensions.k8s.io"],"resources":["customresourcedefinitions"],"verbs":["get","list","watch"]}]}`)
	kubectlCreate(t, "blue", binding("e2e-unread-crds")) // sync reads CRDs whatever it copies
	kubectlCreate(t, "green", binding("cluster-admin"))
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "settings", "--from-literal", "a=b")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "secret", "generic", "password", "--from-literal", "p=q")

	r := tandem(t, syncArgs(t.TempDir(), "--namespace", ns, "--include-kinds", "Namespace,ConfigMap,Secret", "--as", user)...)
	if r.code != 3 {
		t.Fatalf("sync as a user who cannot read Secrets: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "warning: source: list Secret") || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("no warning names the Secrets that could not be listed:\n%s", r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	// Only the Secrets count: what the user cannot list of the kinds
	// --include-kinds leaves out (ClusterRoles, Roles…) is not copied anyway.
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "error: incomplete: 1 of the source's") || !strings.Contains(last, "run the same command again") {
		t.Errorf("last line %q: want it to say one read of the source failed and what to do", last)
	}
	if got := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "settings", "-o", "name"); got.code != 0 {
		t.Errorf("the ConfigMap was not copied beside the unread Secrets: %s", got.stderr)
	}
	if got := kubectl(t, "--context", "green", "-n", ns, "get", "secret", "password", "-o", "name"); got.code == 0 {
		t.Errorf("green has the Secret the user could not read")
	}
}

// A policy on namespaces in the target (Gatekeeper's or Kyverno's kind:
// here a ValidatingAdmissionPolicy refusing any namespace without an
// owner label) refuses even the create of a namespace that exists, since
// admission comes before the apiserver finds it there. tandem's own
// namespace, there already, is read, not created again: the mirror starts.
func TestStateNamespaceUnderANamespacePolicy(t *testing.T) {
	labAtRest(t)
	ns := fmt.Sprintf("e2e-nspolicy-%d", time.Now().Unix()%100000)
	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "create", "namespace", ns)
	}
	kubectl(t, "--context", "green", "create", "namespace", "tandem-system") // there already, or now
	policy := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: e2e-ns-owner}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["namespaces"]}]
  validations:
  - expression: "has(object.metadata.labels) && 'e2e-owner' in object.metadata.labels"
    message: "namespaces need an e2e-owner label"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: e2e-ns-owner}
spec: {policyName: e2e-ns-owner, validationActions: [Deny]}
`
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", "e2e-ns-owner", "--ignore-not-found")
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "green", "apply", "-f", writeManifest(t, "policy.yaml", policy))
	eventually(t, time.Minute, func() error {
		r := kubectl(t, "--context", "green", "create", "namespace", "tandem-system", "--dry-run=server")
		if !strings.Contains(r.stderr, "e2e-owner") {
			return fmt.Errorf("the policy does not refuse yet: %s%s", r.stdout, r.stderr)
		}
		return nil
	})
	r := tandem(t, "mirror", "--source", "blue", "--target", "green", "--namespace", ns, "--duration", "3s")
	if r.code != 0 {
		t.Fatalf("mirror into a target whose namespace policy refuses creates: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "mirror stopped:") {
		t.Errorf("the mirror did not run to its --duration:\n%s", r.stderr)
	}
}
