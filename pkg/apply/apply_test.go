package apply

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		{"no causes", conflictErr(), false},
		{"not a conflict", errors.New("boom"), false},
		{"invalid", apierrors.NewBadRequest("x"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := conflictsOnlyWithTandem(c.err); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
