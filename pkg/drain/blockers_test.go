package drain

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A budget that counts a pod as disrupted while the pod is not being
// deleted (an eviction recorded, then lost with its killed client) is named
// with the pod and when Kubernetes stops counting it; a pod really on its
// way out, or a record of a pod already gone, is not.
func TestStaleDisruptionsNamesEvictionsThatDidNotDelete(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 24, 51, 0, time.UTC)
	now := metav1.NewTime(at)
	pdb := &policyv1.PodDisruptionBudget{Status: policyv1.PodDisruptionBudgetStatus{DisruptedPods: map[string]metav1.Time{
		"web-stuck": now, "web-going": now, "web-gone": now,
	}}}
	pods := []corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "web-stuck"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-going", DeletionTimestamp: &now}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-other"}},
	}
	got := staleDisruptions(pdb, pods)
	if !strings.Contains(got, "web-stuck") || strings.Contains(got, "web-going") || strings.Contains(got, "web-gone") || strings.Contains(got, "web-other") {
		t.Errorf("stale disruptions %q: want web-stuck alone", got)
	}
	if !strings.Contains(got, "2026-12-03T09:26:51Z") {
		t.Errorf("stale disruptions %q: want the time Kubernetes forgets it (2 minutes after)", got)
	}
	pdb.Status.DisruptedPods = nil
	if got := staleDisruptions(pdb, pods); got != "" {
		t.Errorf("no disrupted pods recorded: %q, want nothing", got)
	}
}
