package preflight

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// A SealedSecret opens only with the sealing keys of the controller that
// sealed it: the target must hold them, or sync must copy them.
func TestKeyFindings(t *testing.T) {
	s := sealings[0]
	k := func(ns, name, cert string) key {
		return key{namespace: ns, name: name, cert: sha256.Sum256([]byte(cert))}
	}
	for _, c := range []struct {
		name           string
		source, target []key
		want           Severity
		says           []string
	}{
		{"no key in the source", nil, nil, Warning, []string{"no Secret labelled sealedsecrets.bitnami.com/sealed-secrets-key"}},
		{"the key in kube-system, none in the target", []key{k("kube-system", "sealed-secrets-key7x", "a")}, nil, Error,
			[]string{"kube-system/sealed-secrets-key7x", "never appear"}},
		{"the target made its own key", []key{k("kube-system", "sealed-secrets-key7x", "a")}, []key{k("kube-system", "sealed-secrets-keyq2", "b")}, Error,
			[]string{"kube-system/sealed-secrets-key7x"}},
		{"the target holds the key under another name", []key{k("kube-system", "sealed-secrets-key7x", "a")},
			[]key{k("kube-system", "sealed-secrets-keyq2", "b"), k("sealed", "restored", "a")}, Info, []string{"holds each of the source's 1"}},
		{"one of two keys missing", []key{k("kube-system", "old", "a"), k("kube-system", "new", "b")}, []key{k("kube-system", "x", "b")}, Error,
			[]string{"kube-system/old", "-n kube-system"}},
		{"the controller in a namespace sync copies", []key{k("sealed-secrets", "sealed-secrets-key7x", "a")}, nil, Info,
			[]string{"sync copies the sealing keys sealed-secrets/sealed-secrets-key7x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := keyFindings(s, 3, c.source, c.target)
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1: %+v", len(fs), fs)
			}
			f := fs[0]
			if f.Severity != c.want {
				t.Errorf("severity %s, want %s: %s", f.Severity, c.want, f.Message)
			}
			for _, w := range c.says {
				if !strings.Contains(f.Message+" "+f.Fix, w) {
					t.Errorf("%q does not say %q", f.Message+" "+f.Fix, w)
				}
			}
		})
	}
}
