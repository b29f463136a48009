package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/preflight"
)

// planHelmSecret builds a Helm v3 release Secret exactly as the Helm SDK
// stores one: the release as JSON, gzipped, base64-encoded into data.release
// (which the API base64-encodes once more, as with every Secret value).
func planHelmSecret(t *testing.T, ns, name, manifest string) string {
	t.Helper()
	rel, err := json.Marshal(map[string]any{
		"name": name, "namespace": ns, "version": 1,
		"info":     map[string]any{"status": "deployed", "description": "Install complete"},
		"chart":    map[string]any{"metadata": map[string]any{"name": "legacy", "version": "0.1.0", "apiVersion": "v2"}},
		"manifest": manifest,
	})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(rel); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	helmValue := base64.StdEncoding.EncodeToString(gz.Bytes())
	secret := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
		"metadata": map[string]any{"name": "sh.helm.release.v1." + name + ".v1", "namespace": ns,
			"labels": map[string]string{"owner": "helm", "name": name, "status": "deployed", "version": "1"}},
		"data": map[string]string{"release": base64.StdEncoding.EncodeToString([]byte(helmValue))},
	}
	b, err := json.Marshal(secret)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const planLegacyChart = `---
# Source: legacy/templates/pdb.yaml
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: legacy-pdb
  namespace: e2e-plan
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: legacy
---
# Source: legacy/templates/flowschema.yaml
apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
kind: FlowSchema
metadata:
  name: legacy-fs
spec:
  priorityLevelConfiguration:
    name: global-default
  matchingPrecedence: 9000
`

// planCreate creates (not applies: apply would rewrite last-applied) an object.
func planCreate(t *testing.T, ctxName, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "obj.json")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "--context", ctxName, "create", "-f", f)
}

// planFixtures creates, in blue, what plan must flag, and in green a webhook
// without endpoints; everything is removed in t.Cleanup.
func planFixtures(t *testing.T) {
	t.Helper()
	// Cleanups run last-in first-out: the green webhook goes first.
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", "e2e-plan", "--ignore-not-found", "--wait=false")
			kubectl(t, "--context", c, "delete", "crd", "widgets.e2e.example.com", "--ignore-not-found", "--wait=false")
		}
		kubectl(t, "--context", "green", "delete", "namespace", "e2e-plan-hook", "--ignore-not-found", "--wait=false")
	})
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "delete", "validatingwebhookconfiguration", "e2e-plan-no-endpoints", "--ignore-not-found")
	})

	mustKubectl(t, "--context", "blue", "create", "namespace", "e2e-plan")
	planCreate(t, "blue", planHelmSecret(t, "e2e-plan", "e2e-legacy", planLegacyChart))
	// An Ingress first applied as extensions/v1beta1, long since upgraded in
	// place. (kubectl create would rewrite the annotation; annotate sets it as is.)
	planCreate(t, "blue", `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"legacy-web","namespace":"e2e-plan"},
"spec":{"defaultBackend":{"service":{"name":"web","port":{"number":80}}}}}`)
	mustKubectl(t, "--context", "blue", "-n", "e2e-plan", "annotate", "--overwrite", "ingress", "legacy-web",
		`kubectl.kubernetes.io/last-applied-configuration={"apiVersion":"extensions/v1beta1","kind":"Ingress","metadata":{"name":"legacy-web","namespace":"e2e-plan"},"spec":{"backend":{"serviceName":"web","servicePort":80}}}`)
	planCreate(t, "blue", `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"orphan","namespace":"e2e-plan"},
"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"e2e-missing","resources":{"requests":{"storage":"1Gi"}}}}`)
	planCreate(t, "blue", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.e2e.example.com"},
"spec":{"group":"e2e.example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
	mustKubectl(t, "--context", "blue", "wait", "--for", "condition=established", "--timeout=60s", "crd/widgets.e2e.example.com")
	planCreate(t, "blue", `{"apiVersion":"e2e.example.com/v1","kind":"Widget","metadata":{"name":"one","namespace":"e2e-plan"},"spec":{"size":1}}`)

	// Green: a fail-closed webhook whose Service has no endpoints. It matches
	// only a group nothing creates, so it cannot disturb other tests' syncs.
	mustKubectl(t, "--context", "green", "create", "namespace", "e2e-plan-hook")
	planCreate(t, "green", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"nothing","namespace":"e2e-plan-hook"},"spec":{"ports":[{"port":443}]}}`)
	planCreate(t, "green", `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"e2e-plan-no-endpoints"},
"webhooks":[{"name":"nothing.webhook.e2e.example.com","sideEffects":"None","admissionReviewVersions":["v1"],"failurePolicy":"Fail",
"clientConfig":{"service":{"namespace":"e2e-plan-hook","name":"nothing","path":"/validate"}},
"rules":[{"apiGroups":["webhook.e2e.example.com"],"apiVersions":["v1"],"resources":["nothings"],"operations":["CREATE"]}]}]}`)
}

// planFind returns the findings of check whose object contains object (and evidence, if given).
func planFind(rep *preflight.Report, check, object, evidence string) []preflight.Finding {
	var out []preflight.Finding
	for _, f := range rep.Findings {
		if f.Check == check && strings.Contains(f.Object, object) && (evidence == "" || f.Evidence == evidence) {
			out = append(out, f)
		}
	}
	return out
}

// Given blue with objects written through APIs green does not serve (live,
// Helm release, last-applied), a CRD only in blue, a class referenced only
// in blue, a PDB allowing no disruption, and a webhook without endpoints in
// green, plan flags each with the right severity, evidence and fix, exit 1.
func TestPlanFlagsBlockers(t *testing.T) {
	labAtRest(t) // blue's workloads running, as the pdb findings assume
	planFixtures(t)
	r := tandem(t, "plan", "--source", "blue", "--target", "green", "-o", "json")
	if r.code != 1 {
		t.Fatalf("plan: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, r.stdout)
	}
	cases := []struct {
		name, check, object, evidence string
		severity                      preflight.Severity
		want                          string // in Fix (or Message for pdb)
	}{
		{"live FlowSchema v1beta3", "apis", "FlowSchema.flowcontrol.apiserver.k8s.io shop-batch", "managedFields", preflight.Warning, "use flowcontrol.apiserver.k8s.io/v1 FlowSchema"},
		{"live PriorityLevelConfiguration v1beta3", "apis", "PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io shop-batch", "managedFields", preflight.Warning, "use flowcontrol.apiserver.k8s.io/v1 PriorityLevelConfiguration"},
		{"live VAP v1beta1", "apis", "ValidatingAdmissionPolicy.admissionregistration.k8s.io shop-forbidden-deployments", "managedFields", preflight.Warning, "use admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy"},
		{"live VAP binding v1beta1", "apis", "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io shop-forbidden-deployments", "managedFields", preflight.Warning, "use admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding"},
		{"helm PDB policy/v1beta1", "apis", "PodDisruptionBudget.policy e2e-plan/legacy-pdb", "helm", preflight.Error, "use policy/v1 PodDisruptionBudget"},
		{"helm FlowSchema v1beta3", "apis", "FlowSchema.flowcontrol.apiserver.k8s.io legacy-fs", "helm", preflight.Error, "use flowcontrol.apiserver.k8s.io/v1 FlowSchema"},
		{"last-applied extensions Ingress", "apis", "Ingress.networking.k8s.io e2e-plan/legacy-web", "last-applied", preflight.Error, "use networking.k8s.io/v1 Ingress"},
		{"metrics flowcontrol v1beta3", "apis", "apiserver blue", "metrics", preflight.Error, "flowcontrol.apiserver.k8s.io/v1 "},
		{"CRD only in blue", "crds", "CustomResourceDefinition.apiextensions.k8s.io widgets.e2e.example.com", "", preflight.Error, "install the operator"},
		{"StorageClass nowhere", "classes", "StorageClass.storage.k8s.io e2e-missing", "", preflight.Error, "create StorageClass e2e-missing"},
		{"webhook without endpoints", "webhooks", "ValidatingWebhookConfiguration.admissionregistration.k8s.io e2e-plan-no-endpoints", "", preflight.Error, "e2e-plan-hook/nothing"},
		{"PDB maxUnavailable 0", "pdb", "PodDisruptionBudget.policy payments/payments-api", "", preflight.Warning, "Deployment payments/payments-api (maxUnavailable 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := planFind(&rep, c.check, c.object, c.evidence)
			var hit *preflight.Finding
			for i := range fs {
				if strings.Contains(fs[i].Fix+" "+fs[i].Message, c.want) {
					hit = &fs[i]
				}
			}
			if hit == nil {
				t.Fatalf("no %s finding on %q (evidence %q) mentioning %q; found %+v", c.check, c.object, c.evidence, c.want, fs)
			}
			if hit.Severity != c.severity {
				t.Errorf("severity %s, want %s: %+v", hit.Severity, c.severity, *hit)
			}
		})
	}
	// The lab's ranges are disjoint (blue 10.96/16 + 10.244/16, green 10.112/16 + 10.245/16).
	if fs := planFind(&rep, "cidr", "", ""); len(fs) != 0 {
		t.Errorf("cidr findings on the lab's disjoint ranges: %+v", fs)
	}
	if len(rep.Checks) != len(preflight.Names()) {
		t.Errorf("checks run: %+v, want all of %v", rep.Checks, preflight.Names())
	}
	for _, c := range rep.Checks {
		if c.Failed != "" {
			t.Errorf("check %s failed: %s", c.Name, c.Failed)
		}
	}
	t.Logf("plan over %d objects: %d findings", rep.Objects, len(rep.Findings))
}

// A selection without error findings exits 0, and the table says what was checked.
func TestPlanNoErrorsExitsZeroAndSaysWhatWasChecked(t *testing.T) {
	labAtRest(t) // blue's workloads running, as the pdb findings assume
	r := tandem(t, "plan", "--source", "blue", "--target", "green", "--checks", "pdb,stateful")
	if r.code != 0 {
		t.Fatalf("plan --checks pdb,stateful: exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"WARNING (", "payments/payments-api", "checked:", "pdb", "stateful", "PodDisruptionBudgets", "no errors"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
}

// Bad input exits 2 with one line naming the problem.
func TestPlanBadInputExitsTwo(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown check", []string{"plan", "--source", "blue", "--target", "green", "--checks", "apis,nope"}, `unknown check "nope"`},
		{"same cluster", []string{"plan", "--source", "blue", "--target", "blue"}, "same cluster"},
		{"no target", []string{"plan", "--source", "blue"}, "no target cluster"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := tandem(t, c.args...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, c.want)
			}
		})
	}
}

// planWriteCounter counts requests that are not reads, and apart from them
// the server-side dry runs (dryRun=All: the apiserver persists nothing).
type planWriteCounter struct {
	reads   atomic.Int64
	writes  atomic.Int64
	seen    sync.Map // method+path of each write
	dryRuns sync.Map // method+path of each dry run
}

// planCounting is one wrapped transport (each client of a Conn gets its own).
type planCounting struct {
	next http.RoundTripper
	wc   *planWriteCounter
}

func (c planCounting) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.wc.reads.Add(1)
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		if req.URL.Query().Get("dryRun") == "All" {
			c.wc.dryRuns.Store(req.Method+" "+req.URL.Path, true)
			break
		}
		fallthrough
	default:
		c.wc.writes.Add(1)
		c.wc.seen.Store(req.Method+" "+req.URL.Path, true)
	}
	return c.next.RoundTrip(req)
}

// planCountingConn connects to a lab context through a transport that counts writes.
func planCountingConn(t *testing.T, name string, wc *planWriteCounter) *cluster.Conn {
	t.Helper()
	c, err := cluster.Connect(lab.kubeconfig, name)
	if err != nil {
		t.Fatal(err)
	}
	rc := rest.CopyConfig(c.Config)
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return planCounting{next: rt, wc: wc} }
	conn, err := cluster.NewConn(name, rc)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// Plan is read-only: every check runs over both clusters and not one request
// that writes reaches either apiserver (its server-side dry runs of CRDs in
// the target persist nothing).
func TestPlanIsReadOnly(t *testing.T) {
	ctx := context.Background()
	// A CRD only blue has: plan tries it in green with a dry run.
	const crd = "gauges.e2e-readonly.example.io"
	kubectlCreate(t, "blue", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+crd+`"},
	  "spec":{"group":"e2e-readonly.example.io","scope":"Namespaced","names":{"plural":"gauges","kind":"Gauge"},
	  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
	t.Cleanup(func() { kubectl(t, "--context", "blue", "delete", "crd", crd, "--ignore-not-found") })
	var src, dst planWriteCounter
	source, target := planCountingConn(t, "blue", &src), planCountingConn(t, "green", &dst)
	env, err := preflight.Load(ctx, source, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := preflight.Run(ctx, env, preflight.Checks())
	for _, c := range rep.Checks {
		if c.Failed != "" {
			t.Errorf("check %s failed: %s", c.Name, c.Failed)
		}
	}
	for name, wc := range map[string]*planWriteCounter{"blue": &src, "green": &dst} {
		if wc.reads.Load() == 0 {
			t.Errorf("%s: no reads counted: the counter is not in the path", name)
		}
		if n := wc.writes.Load(); n != 0 {
			var ws []string
			wc.seen.Range(func(k, _ any) bool { ws = append(ws, k.(string)); return true })
			t.Errorf("%s: %d write requests: %v", name, n, ws)
		}
		// Its only dry runs: the CRDs the target lacks or has otherwise (crds.go).
		if _, tried := wc.dryRuns.Load("POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions"); name == "green" && !tried {
			t.Errorf("green: no dry run of %s, which only blue has", crd)
		}
		wc.dryRuns.Range(func(k, _ any) bool {
			if !strings.Contains(k.(string), "/apis/apiextensions.k8s.io/v1/customresourcedefinitions") {
				t.Errorf("%s: a dry run of something else than a CRD: %s", name, k)
			}
			return true
		})
		t.Logf("%s: %d reads, %d writes", name, wc.reads.Load(), wc.writes.Load())
	}
}
