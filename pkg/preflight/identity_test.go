package preflight

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestIdentityFindings(t *testing.T) {
	sa := func(ns, name string, annotations map[string]any) *unstructured.Unstructured {
		return obj(map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
			"metadata": map[string]any{"namespace": ns, "name": name, "annotations": annotations}})
	}
	accounts := []*unstructured.Unstructured{
		sa("shop", "orders", map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/orders"}),
		sa("shop", "web", nil),
		sa("kube-system", "aws-node", map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/cni"}),
		sa("pay", "ledger", map[string]any{"azure.workload.identity/client-id": "0000-1111"}),
		sa("pay", "empty", map[string]any{"eks.amazonaws.com/role-arn": ""}),
	}
	sas, feds := federated(accounts)
	if len(sas) != 2 || sas[0].GetName() != "orders" || sas[1].GetName() != "ledger" || feds[0].via != "IRSA" || feds[1].via != "Azure workload identity" {
		t.Fatalf("federated: %d accounts %v; want shop/orders (IRSA) and pay/ledger (Azure), not kube-system's nor an empty annotation", len(sas), feds)
	}

	eksA := issuer{URL: "https://oidc.eks.eu-west-1.amazonaws.com/id/A", Keys: []string{"k1"}}
	eksB := issuer{URL: "https://oidc.eks.eu-west-1.amazonaws.com/id/B", Keys: []string{"k2"}}
	sameURLOtherKey := issuer{URL: eksA.URL, Keys: []string{"k2"}}
	sameURLKeyShared := issuer{URL: eksA.URL, Keys: []string{"k1"}}
	for _, c := range []struct {
		name           string
		source, target issuer
		sev            Severity
		want, fix      string
	}{
		{"another issuer", eksA, eksB, Warning, "the source's pods get tokens of issuer " + eksA.URL + ", the target's of " + eksB.URL, "before traffic moves"},
		{"same issuer, other keys", eksA, sameURLOtherKey, Warning, "keys the source does not publish", "publish the target's signing keys at the issuer's URL"},
		{"unreadable", eksA, issuer{Err: errors.New("403")}, Warning, "unknown (403)", "before traffic moves"},
		{"same issuer and keys", eksA, sameURLKeyShared, Info, "the cloud trusts the target's as it trusts the source's", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := identityFindings(sas, feds, c.source, c.target)
			if c.sev == Info {
				if len(fs) != 1 || fs[0].Severity != Info || !strings.Contains(fs[0].Message, c.want) {
					t.Errorf("%+v; want one info finding saying %q", fs, c.want)
				}
				return
			}
			if len(fs) != 2 {
				t.Fatalf("%+v; want a finding per federated ServiceAccount", fs)
			}
			for i, want := range []struct{ obj, msg, fix string }{
				{"ServiceAccount shop/orders", "AWS IAM role arn:aws:iam::111122223333:role/orders", "IAM OIDC provider for the target's issuer"},
				{"ServiceAccount pay/ledger", "Azure identity 0000-1111", "federated identity credential"},
			} {
				f := fs[i]
				if f.Severity != c.sev || f.Object != want.obj || !strings.Contains(f.Message, want.msg) || !strings.Contains(f.Message, c.want) ||
					!strings.Contains(f.Fix, want.fix) || !strings.HasPrefix(f.Fix, c.fix) || !strings.Contains(f.Fix, "system:serviceaccount:"+strings.Replace(strings.TrimPrefix(want.obj, "ServiceAccount "), "/", ":", 1)) {
					t.Errorf("finding %d = %+v; want %s on %s saying %q and %q, fix %q with its subject", i, f, c.sev, want.obj, want.msg, c.want, want.fix)
				}
			}
		})
	}
}

func TestPodIdentity(t *testing.T) {
	ds := func(ns, name string) *unstructured.Unstructured {
		return obj(map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": map[string]any{"namespace": ns, "name": name}})
	}
	if fs := podIdentity([]*unstructured.Unstructured{ds("kube-system", "aws-node"), ds("tools", podIdentityAgent)}); len(fs) != 0 {
		t.Errorf("without the add-on's agent in kube-system: %+v", fs)
	}
	fs := podIdentity([]*unstructured.Unstructured{ds("kube-system", "aws-node"), ds("kube-system", podIdentityAgent)})
	if len(fs) != 1 || fs[0].Severity != Warning || fs[0].Object != "DaemonSet.apps kube-system/"+podIdentityAgent || !strings.Contains(fs[0].Fix, "create-pod-identity-association") {
		t.Errorf("with the agent: %+v; want one warning on it saying the associations must be made for the target", fs)
	}
}
