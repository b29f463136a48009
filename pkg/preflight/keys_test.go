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
		controller     string // the target's controller's namespace, "" for none
		want           Severity
		says           []string
	}{
		{"no key in the source", nil, nil, "", Warning, []string{"no key Secret", "sealed-secrets-key=active"}},
		{"the key in kube-system, none in the target", []key{k("kube-system", "sealed-secrets-key7x", "a")}, nil, "", Error,
			[]string{"(namespace kube-system) does not load kube-system/sealed-secrets-key7x", "never appear", "-n kube-system", "with namespace kube-system"}},
		{"the target made its own key", []key{k("kube-system", "sealed-secrets-key7x", "a")}, []key{k("kube-system", "sealed-secrets-keyq2", "b")}, "kube-system", Error,
			[]string{"kube-system/sealed-secrets-key7x"}},
		{"the target's controller loads the key under another name", []key{k("kube-system", "sealed-secrets-key7x", "a")},
			[]key{k("kube-system", "sealed-secrets-keyq2", "b"), k("sealed", "restored", "a")}, "sealed", Info, []string{"(namespace sealed) loads each of the source's 1"}},
		{"the key restored where the target's controller does not read it", []key{k("kube-system", "sealed-secrets-key7x", "a")},
			[]key{k("backup", "restored", "a")}, "kube-system", Error, []string{"kube-system/sealed-secrets-key7x's in namespace backup, which its controller does not read"}},
		{"the controller elsewhere in the target", []key{k("sealed-secrets", "sealed-secrets-key7x", "a")}, nil, "kube-system", Error,
			[]string{"sync copies them into sealed-secrets", "with namespace kube-system"}},
		{"one of two keys missing", []key{k("kube-system", "old", "a"), k("kube-system", "new", "b")}, []key{k("kube-system", "x", "b")}, "", Error,
			[]string{"does not load kube-system/old ("}},
		{"the controller in a namespace sync copies", []key{k("sealed-secrets", "sealed-secrets-key7x", "a")}, nil, "", Info,
			[]string{"sync copies the sealing keys sealed-secrets/sealed-secrets-key7x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := keyFindings(s, 3, c.source, c.target, c.controller)
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
