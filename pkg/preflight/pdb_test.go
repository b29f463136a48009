package preflight

import (
	"strings"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
