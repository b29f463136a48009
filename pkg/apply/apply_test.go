package apply

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func conflictErr(msgs ...string) error {
	st := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 409, Reason: metav1.StatusReasonConflict,
		Details: &metav1.StatusDetails{}}}
	for _, m := range msgs {
		st.ErrStatus.Details.Causes = append(st.ErrStatus.Details.Causes, metav1.StatusCause{Type: metav1.CauseTypeFieldManagerConflict, Message: m, Field: ".spec.replicas"})
	}
	return st
}

func TestConflictsOnlyWithTandem(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"only tandem", conflictErr(`conflict with "tandem" using apps/v1`), true},
		{"tandem and kubectl", conflictErr(`conflict with "tandem" using apps/v1`, `conflict with "kubectl-client-side-apply" using apps/v1`), false},
		{"a manager whose name starts with tandem", conflictErr(`conflict with "tandem-lab-seed" using v1`), false},
		{"tandem's create and tandem", conflictErr(`conflict with "tandem-create" using v1`, `conflict with "tandem" using v1`), true},
		{"no causes", conflictErr(), false},
		{"not a conflict", errors.New("boom"), false},
		{"invalid", apierrors.NewBadRequest("x"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ConflictsOnlyWithTandem(c.err); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// A failure that outlasted a whole retry budget is not retried again in the
// same run: one class per webhook (whatever it guards), per unreachable
// target, else per kind and status.
func TestExhaustedFailuresAreNotRetriedAgain(t *testing.T) {
	e := exhausted{}
	cm, secret := schema.GroupKind{Kind: "ConfigMap"}, schema.GroupKind{Kind: "Secret"}
	hook := func(name string) error {
		return apierrors.NewInternalError(fmt.Errorf(`Internal error occurred: failed calling webhook %q: context deadline exceeded`, name))
	}
	refused := fmt.Errorf("apply: %w", &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}})
	e.add(cm, hook("a.example.com"))
	e.add(cm, refused)
	for _, tc := range []struct {
		gk   schema.GroupKind
		err  error
		want bool
	}{
		{secret, hook("a.example.com"), true},
		{cm, hook("b.example.com"), false},
		{secret, refused, true},
		{cm, apierrors.NewTooManyRequests("busy", 1), false},
	} {
		if got := e.has(tc.gk, tc.err); got != tc.want {
			t.Errorf("has(%s, %v) = %v, want %v", tc.gk, tc.err, got, tc.want)
		}
	}
	// A Secret written: the target answers again, and the webhook that
	// failed ConfigMaps is left as it was.
	e.succeeded(secret)
	if e.has(cm, refused) {
		t.Error("a write went through, yet the target is still taken for unreachable")
	}
	if !e.has(cm, hook("a.example.com")) {
		t.Error("a Secret written cleared the webhook that failed ConfigMaps")
	}
	// A ConfigMap written: the webhook that failed ConfigMaps is back.
	e.succeeded(cm)
	if e.has(secret, hook("a.example.com")) {
		t.Error("a ConfigMap went through the webhook that failed ConfigMaps, yet it is still taken for down")
	}
}
