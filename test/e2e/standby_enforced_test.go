package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A validating webhook that refuses the standby's probe (a Gatekeeper or
// Kyverno rule a dry run of tandem's does not meet) is not taken for the
// standby policy: the apiserver asks its admission policies before its
// validating webhooks, so deactivate waits until its own policy refuses
// the probe. When deactivate returns, the policy holds: a scale-up is
// refused by it, not by the webhook.
func TestStandbyPolicyIsSeenPastAValidatingWebhook(t *testing.T) {
	labAtRest(t)
	leaveLabAtRest(t)
	ns := fmt.Sprintf("e2e-standby-probe-%d", time.Now().Unix()%100000)
	const hook = "e2e-standby-probe"
	var calls atomic.Int32
	url, ca := serveWebhook(t, func(req *admissionv1.AdmissionRequest) *metav1.Status {
		if req.DryRun != nil && *req.DryRun {
			calls.Add(1)
			return &metav1.Status{Code: http.StatusForbidden, Message: "e2e: no dry runs of Deployments here"}
		}
		return nil
	})
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "validatingwebhookconfiguration", hook, "--ignore-not-found")
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "web", "--image", "nginx", "--replicas", "1")
	cfg, _ := json.Marshal(map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": hook},
		"webhooks": []any{map[string]any{
			"name": hook + ".e2e.example.com", "sideEffects": "None", "admissionReviewVersions": []string{"v1"},
			"failurePolicy": "Fail", "timeoutSeconds": 5, "clientConfig": map[string]any{"url": url, "caBundle": ca},
			"rules": []any{map[string]any{"apiGroups": []string{"apps"}, "apiVersions": []string{"v1"},
				"resources": []string{"deployments"}, "operations": []string{"CREATE", "UPDATE"}}},
			"namespaceSelector": map[string]any{"matchLabels": map[string]string{"kubernetes.io/metadata.name": ns}},
		}},
	})
	applyJSON(t, "blue", string(cfg))

	// Blue (v1.30) holds its standby with a ValidatingAdmissionPolicy.
	r := tandem(t, "deactivate", "--cluster", "blue", "--namespace", ns, "--timeout", "60s", "--journal-dir", t.TempDir())
	if r.code != 0 {
		t.Fatalf("deactivate: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "taken as enforced") {
		t.Errorf("deactivate took the webhook's refusal for the policy:\n%s", r.stderr)
	}
	t.Logf("the webhook refused %d of the probe's dry runs", calls.Load())
	// Right away, without waiting: the policy answers, not the webhook.
	up := kubectl(t, "--context", "blue", "-n", ns, "patch", "deployment", "web", "--dry-run=server", "-p", `{"spec":{"replicas":3}}`)
	if up.code == 0 || !strings.Contains(up.stderr, "cluster is standby (tandem)") {
		t.Fatalf("a scale-up right after deactivate: exit %d, %s; want refused by the standby policy", up.code, up.stderr)
	}
}
