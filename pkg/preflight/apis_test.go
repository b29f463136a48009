package preflight

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// helmSecret builds a release Secret the way Helm v3 stores it (JSON → gzip
// → base64 as the Secret value) and as the API returns it (base64 again).
func helmSecret(t *testing.T, ns, name, manifest string, gz bool) *unstructured.Unstructured {
	t.Helper()
	rel, err := json.Marshal(map[string]any{"name": name, "namespace": ns, "version": 3, "manifest": manifest,
		"info": map[string]any{"status": "deployed"}})
	if err != nil {
		t.Fatal(err)
	}
	payload := rel
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(rel)
		_ = zw.Close()
		payload = b.Bytes()
	}
	helmValue := base64.StdEncoding.EncodeToString(payload)
	s := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": HelmReleaseType,
		"metadata": map[string]any{"name": "sh.helm.release.v1." + name + ".v3", "namespace": ns},
		"data":     map[string]any{"release": base64.StdEncoding.EncodeToString([]byte(helmValue))},
	}}
	return s
}

const chart = `---
# Source: app/templates/ingress.yaml
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: other
---
# a comment-only document
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
---
apiVersion: rbac.authorization.k8s.io/v1beta1
kind: ClusterRole
metadata:
  name: web
`

func TestHelmSecretUsages(t *testing.T) {
	cases := []struct {
		name string
		gz   bool
	}{{"gzipped (Helm v3)", true}, {"plain JSON (old Helm 3)", false}}
	want := []Usage{
		{GroupVersion: schema.GroupVersion{Group: "extensions", Version: "v1beta1"}, Kind: "Ingress", Object: "Ingress.extensions apps/web (in Secret apps/sh.helm.release.v1.web.v3)", Evidence: EvidenceHelm, Detail: "apps/web"},
		{GroupVersion: schema.GroupVersion{Group: "policy", Version: "v1beta1"}, Kind: "PodDisruptionBudget", Object: "PodDisruptionBudget.policy other/web (in Secret apps/sh.helm.release.v1.web.v3)", Evidence: EvidenceHelm, Detail: "apps/web"},
		{GroupVersion: schema.GroupVersion{Group: "apps", Version: "v1"}, Kind: "Deployment", Object: "Deployment.apps apps/web (in Secret apps/sh.helm.release.v1.web.v3)", Evidence: EvidenceHelm, Detail: "apps/web"},
		{GroupVersion: schema.GroupVersion{Group: "rbac.authorization.k8s.io", Version: "v1beta1"}, Kind: "ClusterRole", Object: "ClusterRole.rbac.authorization.k8s.io web (in Secret apps/sh.helm.release.v1.web.v3)", Evidence: EvidenceHelm, Detail: "apps/web"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := HelmSecretUsages(helmSecret(t, "apps", "web", chart, c.gz), func(gk schema.GroupKind) bool { return gk.Kind != "ClusterRole" })
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("usages (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeHelmReleaseRejectsGarbage(t *testing.T) {
	cases := []struct{ name, text string }{
		{"not base64", "!!!"},
		{"not json", base64.StdEncoding.EncodeToString([]byte("hello"))},
		{"broken gzip", base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 0x08, 0x00})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := DecodeHelmRelease(c.text); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestManagedFieldsAndLastApplied(t *testing.T) {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("flowcontrol.apiserver.k8s.io/v1")
	o.SetKind("FlowSchema")
	o.SetName("batch")
	o.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kubectl", APIVersion: "flowcontrol.apiserver.k8s.io/v1beta3"},
		{Manager: "kube-apiserver", APIVersion: "flowcontrol.apiserver.k8s.io/v1", Subresource: "status"},
	})
	o.SetAnnotations(map[string]string{LastAppliedAnnotation: `{"apiVersion":"flowcontrol.apiserver.k8s.io/v1beta2","kind":"FlowSchema"}`})
	got := ManagedFieldsUsages(o)
	la, ok := LastAppliedUsage(o)
	if !ok {
		t.Fatal("no last-applied usage")
	}
	got = append(got, la)
	obj := "FlowSchema.flowcontrol.apiserver.k8s.io batch"
	want := []Usage{
		{GroupVersion: schema.GroupVersion{Group: "flowcontrol.apiserver.k8s.io", Version: "v1beta3"}, Kind: "FlowSchema", Object: obj, Evidence: EvidenceManagedFields, Detail: "kubectl"},
		{GroupVersion: schema.GroupVersion{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}, Kind: "FlowSchema", Object: obj, Evidence: EvidenceManagedFields, Detail: "kube-apiserver (status)"},
		{GroupVersion: schema.GroupVersion{Group: "flowcontrol.apiserver.k8s.io", Version: "v1beta2"}, Kind: "FlowSchema", Object: obj, Evidence: EvidenceLastApplied},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("usages (-want +got):\n%s", d)
	}
	o.SetAnnotations(map[string]string{LastAppliedAnnotation: "not json"})
	if _, ok := LastAppliedUsage(o); ok {
		t.Error("garbage annotation gave a usage")
	}
}

func TestParseDeprecatedMetrics(t *testing.T) {
	text := `# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested
# TYPE apiserver_requested_deprecated_apis gauge
apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.32",resource="flowschemas",subresource="",version="v1beta3"} 1
apiserver_requested_deprecated_apis{group="",removed_release="",resource="componentstatuses",subresource="",version="v1"} 1
apiserver_request_total{code="200"} 5
`
	want := []MetricUsage{
		{Group: "flowcontrol.apiserver.k8s.io", Version: "v1beta3", Resource: "flowschemas", RemovedRelease: "1.32"},
		{Group: "", Version: "v1", Resource: "componentstatuses"},
	}
	got, err := ParseDeprecatedMetrics(text)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestParseDeprecatedMetricsEdges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		want    []MetricUsage
		wantErr bool
	}{
		{"not requested (0) is skipped, untyped counts, escapes are read",
			`apiserver_requested_deprecated_apis{group="a.io",resource="xs",version="v1beta1"} 0
apiserver_requested_deprecated_apis{group="b.io",resource="y\"s",version="v1"} 1
`,
			[]MetricUsage{{Group: "b.io", Resource: `y"s`, Version: "v1"}}, false},
		{"no such series", "apiserver_request_total{code=\"200\"} 5\n", nil, false},
		{"garbage after the series keeps what came before",
			`# TYPE apiserver_requested_deprecated_apis gauge
apiserver_requested_deprecated_apis{group="a.io",resource="xs",version="v1beta1"} 1
this is { not prometheus
`,
			[]MetricUsage{{Group: "a.io", Resource: "xs", Version: "v1beta1"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDeprecatedMetrics(tc.text)
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func target() *Served {
	s := NewServed()
	s.Add(schema.GroupVersion{Group: "networking.k8s.io", Version: "v1"}, "Ingress", true)
	s.Add(schema.GroupVersion{Group: "policy", Version: "v1"}, "PodDisruptionBudget", true)
	s.Add(schema.GroupVersion{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}, "FlowSchema", true)
	s.Add(schema.GroupVersion{Group: "apps", Version: "v1"}, "Deployment", true)
	s.Add(schema.GroupVersion{Group: "example.com", Version: "v1"}, "Widget", true)
	return s
}

func TestReplacement(t *testing.T) {
	cases := []struct {
		gv   string
		kind string
		want string
	}{
		{"extensions/v1beta1", "Ingress", "networking.k8s.io/v1"},
		{"extensions/v1beta1", "Deployment", "apps/v1"},
		{"policy/v1beta1", "PodDisruptionBudget", "policy/v1"},
		{"flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "flowcontrol.apiserver.k8s.io/v1"},
		{"policy/v1beta1", "PodSecurityPolicy", ""},
		{"other.io/v1alpha1", "Widget", "example.com/v1"},
		{"gone.io/v1", "Gadget", ""},
	}
	for _, c := range cases {
		t.Run(c.gv+" "+c.kind, func(t *testing.T) {
			gv, _ := schema.ParseGroupVersion(c.gv)
			got, why := Replacement(gv, c.kind, target())
			if got != c.want {
				t.Errorf("got %q (%s), want %q", got, why, c.want)
			}
			if why == "" {
				t.Error("no reason given")
			}
		})
	}
}

func TestUnservedSkipsServedAndDedupes(t *testing.T) {
	v1beta3 := schema.GroupVersion{Group: "flowcontrol.apiserver.k8s.io", Version: "v1beta3"}
	usages := []Usage{
		{GroupVersion: schema.GroupVersion{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}, Kind: "FlowSchema", Object: "fs", Evidence: EvidenceManagedFields, Detail: "a"},
		{GroupVersion: v1beta3, Kind: "FlowSchema", Object: "fs", Evidence: EvidenceManagedFields, Detail: "a"},
		{GroupVersion: v1beta3, Kind: "FlowSchema", Object: "fs", Evidence: EvidenceManagedFields, Detail: "b"},
		{GroupVersion: v1beta3, Kind: "FlowSchema", Object: "fs", Evidence: EvidenceLastApplied},
		{GroupVersion: v1beta3, Resource: "flowschemas", Object: "apiserver", Evidence: EvidenceMetrics, Detail: "removed in 1.32"},
		// Served by the source at this version only: every reader calls it.
		{GroupVersion: v1beta3, Kind: "PriorityLevelConfiguration", Resource: "prioritylevelconfigurations", Object: "apiserver", Evidence: EvidenceMetrics, Detail: "removed in 1.32", Sole: true},
		// The same, with objects of it in the source: they cannot be copied.
		{GroupVersion: schema.GroupVersion{Group: "policy", Version: "v1beta1"}, Kind: "PodSecurityPolicy", Resource: "podsecuritypolicies", Object: "apiserver", Evidence: EvidenceMetrics, Detail: "removed in 1.25", Sole: true, Objects: 3},
	}
	got := Unserved(usages, target())
	if len(got) != 5 {
		t.Fatalf("%d findings, want 5: %+v", len(got), got)
	}
	want := []struct {
		sev      Severity
		evidence string
		msg      string
	}{
		{Warning, EvidenceManagedFields, "field manager: a, b"},
		{Error, EvidenceLastApplied, "last applied with kubectl as flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema"},
		{Error, EvidenceMetrics, "(removed in 1.32)"},
		{Info, EvidenceMetrics, "the source serves PriorityLevelConfiguration only at flowcontrol.apiserver.k8s.io/v1beta3 (removed in 1.32)"},
		{Error, EvidenceMetrics, "the source holds 3 PodSecurityPolicy objects, served only at policy/v1beta1 (removed in 1.25)"},
	}
	for i, w := range want {
		if got[i].Severity != w.sev || got[i].Evidence != w.evidence || !bytes.Contains([]byte(got[i].Message), []byte(w.msg)) {
			t.Errorf("finding %d = %+v, want %s %s %q", i, got[i], w.sev, w.evidence, w.msg)
		}
	}
	if got[1].Fix != "use flowcontrol.apiserver.k8s.io/v1 FlowSchema instead (served by the target)" {
		t.Errorf("fix %q", got[1].Fix)
	}
}

// The source's control plane writing at a version the target does not
// serve is not a client that moves: no finding; a user's client is one.
func TestControlPlaneManagersAreNotClientsThatMove(t *testing.T) {
	for detail, want := range map[string]bool{
		"kube-controller-manager":          true,
		"kube-apiserver (status)":          true,
		"kubelet":                          true,
		"kubectl":                          false,
		"kube-controller-manager-operator": false,
		"helm (status)":                    false,
		"":                                 false,
	} {
		if got := ControlPlaneManager(detail); got != want {
			t.Errorf("ControlPlaneManager(%q) = %v, want %v", detail, got, want)
		}
	}
}

// What the source's control plane wrote at a version the target does not
// serve is no evidence; what a user's client wrote is.
func TestSeenLeavesTheControlPlanesUsagesOut(t *testing.T) {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("certificates.k8s.io/v1")
	o.SetKind("ClusterTrustBundle")
	o.SetName("bundle")
	o.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kube-controller-manager", APIVersion: "certificates.k8s.io/v1"},
		{Manager: "cert-tool", APIVersion: "certificates.k8s.io/v1"},
	})
	s := newSeen()
	s.observe(o, NewServed(), false)
	if len(s.usages) != 1 || s.usages[0].Detail != "cert-tool" {
		t.Fatalf("usages %+v, want cert-tool's alone", s.usages)
	}
}
