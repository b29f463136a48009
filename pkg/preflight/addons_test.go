package preflight

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestCompareAddons(t *testing.T) {
	source := map[string]addon{
		"Deployment ingress-nginx/controller":  {ref: "Deployment.apps ingress-nginx/controller", images: map[string]string{"controller": "registry.k8s.io/ingress-nginx/controller:v1.9.4"}, copied: true},
		"DaemonSet kube-system/aws-node":       {ref: "DaemonSet.apps kube-system/aws-node", images: map[string]string{"aws-node": "amazon-k8s-cni:v1.18.0"}},
		"DaemonSet kube-system/kube-proxy":     {ref: "DaemonSet.apps kube-system/kube-proxy", images: map[string]string{"kube-proxy": "registry.k8s.io/kube-proxy:v1.30.14"}},
		"Deployment cert-manager/cert-manager": {ref: "Deployment.apps cert-manager/cert-manager", images: map[string]string{"cm": "quay.io/jetstack/cert-manager-controller:v1.14.0"}},
	}
	target := map[string]addon{
		"DaemonSet kube-system/kube-proxy":     {ref: "DaemonSet.apps kube-system/kube-proxy", images: map[string]string{"kube-proxy": "registry.k8s.io/kube-proxy:v1.37.2"}},
		"Deployment cert-manager/cert-manager": {ref: "Deployment.apps cert-manager/cert-manager", images: map[string]string{"cm": "quay.io/jetstack/cert-manager-controller:v1.14.0"}},
		"Deployment kube-system/coredns":       {ref: "Deployment.apps kube-system/coredns", images: map[string]string{"coredns": "registry.k8s.io/coredns/coredns:v1.12.0"}},
	}
	fs := compareAddons(source, target)
	if len(fs) != 4 {
		t.Fatalf("findings %+v, want 4", fs)
	}
	want := []struct {
		sev  Severity
		obj  string
		text string
		fix  string
	}{
		// kube-system is not copied: whoever installs add-ons there must.
		{Warning, "kube-system/aws-node", "source only", "sync does not copy"},
		{Info, "kube-system/kube-proxy", "v1.30.14 → v1.37.2", ""},
		// Outside the system namespaces sync copies it as it runs in the source.
		{Warning, "ingress-nginx/controller", "source only", "sync copies it"},
		{Info, "kube-system/coredns", "target only", ""},
	}
	for i, w := range want {
		if fs[i].Severity != w.sev || !strings.Contains(fs[i].Object, w.obj) || !strings.Contains(fs[i].Message, w.text) || !strings.Contains(fs[i].Fix, w.fix) {
			t.Errorf("finding %d = %+v, want %s on %s mentioning %q, fix %q", i, fs[i], w.sev, w.obj, w.text, w.fix)
		}
	}
}

func TestAddonNamespace(t *testing.T) {
	for ns, want := range map[string]bool{"kube-system": true, "kube-flannel": true, "ingress-nginx": true, "cert-manager": true, "istio-system": true,
		"kube-public": false, "kube-node-lease": false, "shop": false, "payments": false} {
		if got := addonNamespace(ns); got != want {
			t.Errorf("addonNamespace(%q) = %v", ns, got)
		}
	}
	if tagOf("nginx") != "latest" || tagOf("registry:5000/a/b:1.2") != "1.2" || tagOf("a/b@sha256:abc") != "sha256:abc" {
		t.Error("tagOf")
	}
}

func TestWarningCollector(t *testing.T) {
	w := &warningCollector{}
	w.HandleWarningHeader(299, "-", "policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1 PodDisruptionBudget")
	w.HandleWarningHeader(299, "-", "")
	w.HandleWarningHeader(199, "-", "not a warning code")
	got := w.take()
	if len(got) != 1 || !strings.Contains(got[0], "use policy/v1") || len(w.take()) != 0 {
		t.Fatalf("collected %q", got)
	}
	if d := dedupe([]string{"a", "a", "b"}); len(d) != 2 {
		t.Fatalf("dedupe: %q", d)
	}
}

// ExternalDNS outside the system namespaces is not copied either: the
// target needs its own, with an owner id of its own.
func TestAddonsExternalDNSIsTheTargetsOwn(t *testing.T) {
	source := addonsOf([]*unstructured.Unstructured{obj(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("external-dns", "external-dns", nil, nil),
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "external-dns", "image": "registry.k8s.io/external-dns/external-dns:v0.15.1", "args": []any{"--txt-owner-id=eks-blue"}}}}}}})})
	a := source["Deployment external-dns/external-dns"]
	if !a.externalDNS || a.copied {
		t.Fatalf("addon %+v: want ExternalDNS, not copied", a)
	}
	fs := compareAddons(source, nil)
	if len(fs) != 1 || fs[0].Severity != Warning || !strings.Contains(fs[0].Fix, "sync does not copy ExternalDNS") || !strings.Contains(fs[0].Fix, "--txt-owner-id") {
		t.Errorf("findings %+v", fs)
	}
}
