package preflight

import (
	"strings"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDrainBlock(t *testing.T) {
	web := Workload{Ref: "Deployment shop/web", Labels: map[string]string{"app": "web", "tier": "front"}, Replicas: 3}
	db := Workload{Ref: "StatefulSet shop/db", Labels: map[string]string{"app": "db"}, Replicas: 1}
	ptr := func(v intstr.IntOrString) *intstr.IntOrString { return &v }
	sel := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	cases := []struct {
		name   string
		spec   policyv1.PodDisruptionBudgetSpec
		blocks bool
		want   string
	}{
		{"maxUnavailable 0", policyv1.PodDisruptionBudgetSpec{Selector: sel("web"), MaxUnavailable: ptr(intstr.FromInt32(0))}, true, "Deployment shop/web (maxUnavailable 0"},
		{"maxUnavailable 0%", policyv1.PodDisruptionBudgetSpec{Selector: sel("web"), MaxUnavailable: ptr(intstr.FromString("0%"))}, true, "maxUnavailable 0%"},
		{"maxUnavailable 1", policyv1.PodDisruptionBudgetSpec{Selector: sel("web"), MaxUnavailable: ptr(intstr.FromInt32(1))}, false, ""},
		{"minAvailable = replicas", policyv1.PodDisruptionBudgetSpec{Selector: sel("web"), MinAvailable: ptr(intstr.FromInt32(3))}, true, "minAvailable 3 ≥ 3 replicas"},
		{"minAvailable 100%", policyv1.PodDisruptionBudgetSpec{Selector: sel("web"), MinAvailable: ptr(intstr.FromString("100%"))}, true, "Deployment shop/web"},
		{"minAvailable below replicas", policyv1.PodDisruptionBudgetSpec{Selector: sel("web"), MinAvailable: ptr(intstr.FromInt32(2))}, false, ""},
		{"minAvailable 1 of a single replica", policyv1.PodDisruptionBudgetSpec{Selector: sel("db"), MinAvailable: ptr(intstr.FromInt32(1))}, true, "StatefulSet shop/db"},
		{"selects nothing", policyv1.PodDisruptionBudgetSpec{Selector: sel("none"), MaxUnavailable: ptr(intstr.FromInt32(0))}, false, ""},
		{"empty selector", policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{}, MaxUnavailable: ptr(intstr.FromInt32(0))}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blocks, why := DrainBlock(&policyv1.PodDisruptionBudget{Spec: c.spec}, []Workload{web, db})
			if blocks != c.blocks || !strings.Contains(why, c.want) {
				t.Errorf("DrainBlock = %v %q, want %v containing %q", blocks, why, c.blocks, c.want)
			}
		})
	}
}

// A budget over pods an operator makes itself (CloudNativePG's primary,
// held by minAvailable 1) blocks a drain as its status says — the source's
// disruption controller counted the pods — naming their controller; one
// that allows an eviction, or selects no pod of the source, does not.
func TestBlockedNowReadsTheBudgetsStatus(t *testing.T) {
	pod := func(name string, lbls map[string]any, owner string) *unstructured.Unstructured {
		md := map[string]any{"name": name, "namespace": "shop", "labels": lbls}
		if owner != "" {
			md["ownerReferences"] = []any{map[string]any{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "name": owner, "uid": "u", "controller": true}}
		}
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md}}
	}
	pods := []*unstructured.Unstructured{
		pod("db-1", map[string]any{"cnpg.io/cluster": "db", "cnpg.io/instanceRole": "primary"}, "db"),
		pod("db-2", map[string]any{"cnpg.io/cluster": "db", "cnpg.io/instanceRole": "replica"}, "db"),
		pod("other-db-1", map[string]any{"cnpg.io/cluster": "other", "cnpg.io/instanceRole": "primary"}, "other"),
	}
	one := intstr.FromInt32(1)
	budget := func(status policyv1.PodDisruptionBudgetStatus, match map[string]string) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "db-primary", Namespace: "shop"},
			Spec:   policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: match}},
			Status: status}
	}
	primary := map[string]string{"cnpg.io/cluster": "db", "cnpg.io/instanceRole": "primary"}
	held := policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
	if blocks, why := blockedNow(budget(held, primary), pods); !blocks || !strings.Contains(why, "pods of Cluster shop/db") || !strings.Contains(why, "1 healthy of 1 expected, 1 must stay up") || strings.Contains(why, "other") {
		t.Errorf("the primary's budget: %v %q; want it to block, naming Cluster shop/db's pods", blocks, why)
	}
	free := policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 2, DesiredHealthy: 1, ExpectedPods: 2}
	if blocks, why := blockedNow(budget(free, map[string]string{"cnpg.io/cluster": "db"}), pods); blocks {
		t.Errorf("a budget that allows an eviction blocks: %q", why)
	}
	if blocks, why := blockedNow(budget(held, map[string]string{"cnpg.io/cluster": "gone"}), pods); blocks {
		t.Errorf("a budget selecting no pod of the source blocks: %q", why)
	}
	if blocks, why := blockedNow(budget(policyv1.PodDisruptionBudgetStatus{}, primary), pods); blocks {
		t.Errorf("a budget whose status was never computed blocks: %q", why)
	}
}
