package sanitize

import (
	"strings"
	"testing"
)

func TestLegacyToken(t *testing.T) {
	long := strings.Repeat("a", 55) // "<long>-token-" is 62 characters: cut to 58
	for _, c := range []struct {
		name, sa string
		want     bool
	}{
		{"build-token-x7k2q", "build", true},
		{"build-token", "build", false},
		{"build-token-x7k2q-extra", "build", false},
		{"builder-token-x7k2q", "build", false},
		{long + "-to" + "x7k2q", long, true},
		{long + "-token-x7k2q", long, false},
	} {
		if got := legacyToken(c.name, c.sa); got != c.want {
			t.Errorf("legacyToken(%q, %q) = %v, want %v", c.name, c.sa, got, c.want)
		}
	}
}

func TestSecret(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "opaque secret is copied",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app, uid: u1}
type: Opaque
data: {password: cGFzcw==}
`,
			want: `
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app}
type: Opaque
data: {password: cGFzcw==}
`,
		},
		{
			name: "a service-account token someone made is copied without its token",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: build-token, namespace: app, labels: {kubernetes.io/legacy-token-last-used: "2026-12-01", team: ci}, annotations: {kubernetes.io/service-account.name: build, kubernetes.io/service-account.uid: 6f0e4b3a, team: ci}}
type: kubernetes.io/service-account-token
data: {token: ZXlK, ca.crt: LS0t, namespace: YXBw}
`,
			want: `
apiVersion: v1
kind: Secret
metadata: {name: build-token, namespace: app, labels: {team: ci}, annotations: {kubernetes.io/service-account.name: build, team: ci}}
type: kubernetes.io/service-account-token
`,
			dec: Decision{Notes: []string{"token not copied: the target's token controller issues one for its ServiceAccount build"}},
		},
		{
			name: "the token the controller made for every ServiceAccount before v1.24",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: build-token-x7k2q, namespace: app, annotations: {kubernetes.io/service-account.name: build}}
type: kubernetes.io/service-account-token
`,
			dec: Decision{Skip: true, Reason: "service-account token the source's controller made: the target issues its own"},
		},
		{
			name: "a token naming no ServiceAccount",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: orphan, namespace: app}
type: kubernetes.io/service-account-token
`,
			dec: Decision{Skip: true, Reason: "service-account token naming no ServiceAccount"},
		},
		{
			name: "bootstrap token",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-abcdef, namespace: kube-system}
type: bootstrap.kubernetes.io/token
`,
			dec: Decision{Skip: true, Reason: "bootstrap token: it joins nodes to the source cluster"},
		},
	})
}
