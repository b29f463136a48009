package e2e

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// A SealedSecret opens only with the sealing keys of the controller that
// sealed it, kept in kube-system where its manifest installs it; sync does
// not copy kube-system, so plan says the target lacks them (an error, exit
// 1) until the target's controller loads the same certificate, under any
// name, from its own namespace.
func TestPlanSaysTheTargetLacksTheSealingKeys(t *testing.T) {
	const (
		ns, keyNS = "e2e-sealed", "e2e-sealed-keys"
		crd       = "sealedsecrets.bitnami.com"
		label     = "sealedsecrets.bitnami.com/sealed-secrets-key"
	)
	cert := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\ne2e sealing certificate\n-----END CERTIFICATE-----\n"))
	cleanup := func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		kubectl(t, "--context", "blue", "-n", "kube-system", "delete", "secret", "e2e-sealing-key", "--ignore-not-found")
		kubectl(t, "--context", "green", "delete", "namespace", keyNS, "--ignore-not-found", "--wait=false")
		kubectl(t, "--context", "blue", "delete", "crd", crd, "--ignore-not-found", "--timeout=60s")
	}
	cleanup()
	t.Cleanup(cleanup)

	kubectlCreate(t, "blue", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+crd+`"},
	  "spec":{"group":"bitnami.com","scope":"Namespaced","names":{"plural":"sealedsecrets","singular":"sealedsecret","kind":"SealedSecret"},
	  "versions":[{"name":"v1alpha1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
	mustKubectl(t, "--context", "blue", "wait", "--for", "condition=Established", "crd/"+crd, "--timeout=60s")
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"db","namespace":"`+ns+`"},
	  "spec":{"encryptedData":{"password":"AgBy3i4OJSWK+PiTySYZZA=="}}}`)
	key := func(ctxName, namespace, name string) {
		kubectlCreate(t, ctxName, `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/tls","metadata":{"name":"`+name+`","namespace":"`+namespace+`",
		  "labels":{"`+label+`":"active"}},"data":{"tls.crt":"`+cert+`","tls.key":"c2VjcmV0"}}`)
	}
	key("blue", "kube-system", "e2e-sealing-key")

	rep := planJSON(t, 1, "--only", "keys")
	fs := planFind(rep, "keys", "SealedSecret.bitnami.com", "")
	if len(fs) != 1 || fs[0].Severity != preflight.Error || !strings.Contains(fs[0].Message, "does not load kube-system/e2e-sealing-key") ||
		!strings.Contains(fs[0].Fix, "-n kube-system -l "+label+"=active") {
		t.Fatalf("keys findings: %+v; want one error naming kube-system/e2e-sealing-key, the fix copying the active keys", fs)
	}
	if strings.Contains(fs[0].Message+fs[0].Fix, "c2VjcmV0") || strings.Contains(fs[0].Message+fs[0].Fix, cert) {
		t.Fatalf("the finding prints a key: %+v", fs[0])
	}

	// The target holds the same certificate under another name, in a
	// namespace its controller does not read (there is none yet: it is
	// taken to come where the source's runs).
	mustKubectl(t, "--context", "green", "create", "namespace", keyNS)
	key("green", keyNS, "restored")
	rep = planJSON(t, 1, "--only", "keys")
	fs = planFind(rep, "keys", "SealedSecret.bitnami.com", "")
	if len(fs) != 1 || fs[0].Severity != preflight.Error || !strings.Contains(fs[0].Message, "in namespace "+keyNS+", which its controller does not read") {
		t.Fatalf("keys findings with the key in green's %s: %+v; want an error saying the controller does not read it there", keyNS, fs)
	}

	// The target's controller runs in that namespace: it loads the key.
	mustKubectl(t, "--context", "green", "-n", keyNS, "create", "deployment", "sealed-secrets-controller", "--image=docker.io/bitnami/sealed-secrets-controller:0.36.6")
	rep = planJSON(t, 0, "--only", "keys")
	fs = planFind(rep, "keys", "SealedSecret.bitnami.com", "")
	if len(fs) != 1 || fs[0].Severity != preflight.Info || !strings.Contains(fs[0].Message, "(namespace "+keyNS+") loads each of the source's 1 sealing keys") {
		t.Fatalf("keys findings with green's controller in %s: %+v; want one info saying it loads the key", keyNS, fs)
	}
}
