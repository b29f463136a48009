package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

func TestRetryable(t *testing.T) {
	dial := func(errno syscall.Errno) error {
		return fmt.Errorf("apply: %w", &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", dial(syscall.ECONNREFUSED), true},
		{"connection reset", dial(syscall.ECONNRESET), true},
		{"too many requests", apierrors.NewTooManyRequests("busy", 1), true},
		{"internal error", apierrors.NewInternalError(errors.New("etcd")), true},
		{"service unavailable", apierrors.NewServiceUnavailable("starting"), true},
		{"not found", apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x"), false},
		// A resource the server does not serve answers a bare "404 page not
		// found": apimachinery marks it an unexpected server response.
		{"404 without a Status", apierrors.NewGenericServerResponse(404, "LIST", schema.GroupResource{Group: "example.com", Resource: "backups"}, "", "404 page not found", 0, true), false},
		{"502 from a proxy without a Status", apierrors.NewGenericServerResponse(502, "LIST", schema.GroupResource{Resource: "pods"}, "", "<html>bad gateway</html>", 0, true), true},
		{"conflict", apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "x", errors.New(`conflict with "kubectl"`)), false},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "x", errors.New("RBAC")), false},
		// What kube-apiserver's admission plugins answer until their informers sync after a start.
		{"admission starting", apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "cm-1", errors.New("not yet ready to handle request")), true},
		{"admission starting, wrapped", fmt.Errorf("create: %w (attempt 2)", apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "cm-1", errors.New("not yet ready to handle request"))), true},
		{"forbidden mentioning it mid-message", apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "cm-1", errors.New(`not yet ready to handle request: denied by policy "p"`)), false},
		{"other network error", dial(syscall.EHOSTUNREACH), false},
		// A CI run's sync across an apiserver's restart: the connection's
		// write failed, and net/http closed it under its other requests.
		{"http2 connection force closed", fmt.Errorf("create: %w", &url.Error{Op: "Post", URL: "https://127.0.0.1:6443/api/v1/namespaces/a/configmaps", Err: errors.New("http2: client connection force closed via ClientConn.Close")}), true},
		{"http2 connection lost", &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api", Err: errors.New("http2: client connection lost")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// Retry makes every attempt Steps allows, its delays staying at the cap
// once they reach it (wait.Backoff alone would stop there), and stops at
// once on an error that cannot pass or when ctx ends.
func TestRetry(t *testing.T) {
	b := wait.Backoff{Duration: time.Millisecond, Factor: 2, Cap: 2 * time.Millisecond, Steps: 6}
	unavailable := apierrors.NewServiceUnavailable("restarting")
	calls := 0
	n, err := Retry(context.Background(), b, Retryable, func() error { calls++; return unavailable })
	if n != 6 || calls != 6 || !apierrors.IsServiceUnavailable(err) {
		t.Errorf("always failing: %d attempts (%d calls), %v; want 6 and the last error", n, calls, err)
	}
	calls = 0
	n, err = Retry(context.Background(), b, Retryable, func() error {
		if calls++; calls < 5 {
			return unavailable
		}
		return nil
	})
	if n != 5 || err != nil {
		t.Errorf("failing 4 times: %d attempts, %v; want 5 and success", n, err)
	}
	n, err = Retry(context.Background(), b, Retryable, func() error { return apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x") })
	if n != 1 || !apierrors.IsNotFound(err) {
		t.Errorf("not found: %d attempts, %v; want 1", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, _ = Retry(ctx, wait.Backoff{Duration: time.Hour, Steps: 3}, Retryable, func() error { cancel(); return unavailable })
	if n != 1 {
		t.Errorf("ctx ended during the first attempt: %d attempts, want 1", n)
	}
}
