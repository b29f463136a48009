package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// runTandem runs the command tree with args, as Main does, without a cluster.
func runTandem(t *testing.T, args ...string) (*Global, error) {
	t.Helper()
	g := &Global{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	root := NewRoot(g, "tandem")
	root.SetArgs(args)
	return g, root.ExecuteContext(context.Background())
}

func TestClientFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want cluster.ClientOptions
	}{
		{"by default no client-side limit", nil, cluster.ClientOptions{QPS: -1, Burst: 1000}},
		{"limits", []string{"--qps", "50", "--burst", "80"}, cluster.ClientOptions{QPS: 50, Burst: 80}},
		{"no limiter", []string{"--qps=-1"}, cluster.ClientOptions{QPS: -1, Burst: 1000}},
		{"timeout with a unit", []string{"--request-timeout", "2m"}, cluster.ClientOptions{QPS: -1, Burst: 1000, Timeout: 2 * time.Minute}},
		{"timeout in seconds, as kubectl", []string{"--request-timeout", "30"}, cluster.ClientOptions{QPS: -1, Burst: 1000, Timeout: 30 * time.Second}},
		{"impersonation", []string{"--as", "alice", "--as-group", "ops", "--as-group", "audit"},
			cluster.ClientOptions{QPS: -1, Burst: 1000, Impersonate: "alice", ImpersonateGroups: []string{"ops", "audit"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := runTandem(t, append([]string{"version"}, tt.args...)...)
			if err != nil {
				t.Fatalf("tandem version %v: %v", tt.args, err)
			}
			got, err := g.client.options()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientFlagsBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the one line
	}{
		{[]string{"--qps", "0"}, "--qps 0"},
		{[]string{"--qps", "fast"}, "--qps"},
		{[]string{"--qps", "50", "--burst", "0"}, "--burst 0"},
		{[]string{"--burst", "-5", "--qps", "-1"}, "--burst -5"},
		{[]string{"--request-timeout", "soon"}, "--request-timeout"},
		{[]string{"--request-timeout", "-5s"}, "--request-timeout"},
		{[]string{"--as-group", "ops"}, "--as-group needs --as"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runTandem(t, append([]string{"version"}, tt.args...)...)
			if code := exitCode(err); code != ExitBadInput {
				t.Fatalf("exit code %d (%v), want %d", code, err, ExitBadInput)
			}
			msg := message(err)
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tt.want) {
				t.Errorf("message %q: want one line containing %q", msg, tt.want)
			}
		})
	}
}

// A Global built without NewRoot (as other tests do) connects with the defaults.
func TestClientOptionsWithoutFlags(t *testing.T) {
	g := &Global{}
	got, err := g.clientOptions("blue")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cluster.DefaultClientOptions(), got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}
