package cluster

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
)

func TestClientOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts ClientOptions
		ok   bool
	}{
		{"defaults", DefaultClientOptions(), true},
		{"no limiter", ClientOptions{QPS: -1}, true},
		{"timeout and impersonation", ClientOptions{QPS: 50, Burst: 100, Timeout: 30 * time.Second, Impersonate: "alice", ImpersonateGroups: []string{"ops"}}, true},
		{"qps zero", ClientOptions{QPS: 0, Burst: 10}, false},
		{"qps NaN", ClientOptions{QPS: float32(math.NaN()), Burst: 10}, false},
		{"qps Inf", ClientOptions{QPS: float32(math.Inf(1)), Burst: 10}, false},
		{"burst zero", ClientOptions{QPS: 5, Burst: 0}, false},
		{"burst negative", ClientOptions{QPS: -1, Burst: -3}, false},
		{"negative timeout", ClientOptions{QPS: 5, Burst: 5, Timeout: -time.Second}, false},
		{"group without user", ClientOptions{QPS: 5, Burst: 5, ImpersonateGroups: []string{"ops"}}, false},
		{"empty group", ClientOptions{QPS: 5, Burst: 5, Impersonate: "alice", ImpersonateGroups: []string{""}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrBadInput) {
				t.Fatalf("Validate() = %v, want bad input", err)
			}
		})
	}
}

// By default there is no client-side limit (a negative QPS: client-go
// makes no limiter): the apiserver's priority and fairness paces tandem.
func TestDefaultClientOptionsSetNoClientSideLimit(t *testing.T) {
	rc := &rest.Config{Timeout: time.Minute, WarningHandler: rest.WarningLogger{}}
	DefaultClientOptions().apply(rc)
	if rc.QPS >= 0 || rc.Timeout != 0 {
		t.Errorf("QPS, Timeout = %v, %v; want a negative QPS (no limiter) and no timeout", rc.QPS, rc.Timeout)
	}
	if _, ok := rc.WarningHandler.(rest.NoWarnings); !ok {
		t.Errorf("WarningHandler = %T, want rest.NoWarnings without a collector", rc.WarningHandler)
	}
}

func TestApplyImpersonation(t *testing.T) {
	kubeconfigs := rest.ImpersonationConfig{UserName: "from-kubeconfig"}
	tests := []struct {
		name string
		opts ClientOptions
		want rest.ImpersonationConfig
	}{
		{"flags unset keep the kubeconfig's", ClientOptions{QPS: 1, Burst: 1}, kubeconfigs},
		{"flags replace it", ClientOptions{QPS: 1, Burst: 1, Impersonate: "system:serviceaccount:ops:migrator", ImpersonateGroups: []string{"a", "b"}},
			rest.ImpersonationConfig{UserName: "system:serviceaccount:ops:migrator", Groups: []string{"a", "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &rest.Config{Impersonate: kubeconfigs}
			tt.opts.apply(rc)
			if diff := cmp.Diff(tt.want, rc.Impersonate); diff != "" {
				t.Errorf("Impersonate (-want +got):\n%s", diff)
			}
		})
	}
}
