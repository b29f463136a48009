package plan

// An aggregated ClusterRole (aggregationRule) holds no rules of its own:
// each cluster's aggregation controller writes into it the rules of the
// ClusterRoles its selectors match there. A selection that brings one
// brings what it gathers, or it grants nothing in the target.

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// aggregated lists the ClusterRoles the aggregated ClusterRole agg
// gathers (GatheredBy): its rules are what the target's aggregation
// controller writes from the ClusterRoles its clusterRoleSelectors match
// there, so without them it grants nothing (kyverno's controllers are
// bound to such roles, whose rules are in ClusterRoles labelled to be
// gathered).
func (idx index) aggregated(agg Object) []dep {
	sels := AggregationSelectors(agg)
	if len(sels) == 0 {
		return nil
	}
	var out []dep
	for _, r := range idx.clusterRoles {
		if why, ok := GatheredBy(KeyOf(agg), sels, r); ok {
			out = append(out, dep{key: KeyOf(r), why: why})
		}
	}
	return out
}

// GatheredBy says whether the aggregated ClusterRole agg, whose selectors
// are sels (AggregationSelectors), gathers the ClusterRole part, and why
// part comes with it. A mirror asks it, keeping the selectors of the roles
// it copies; Select finds the same through its index.
func GatheredBy(agg ObjectKey, sels []labels.Selector, part Object) (string, bool) {
	pk := KeyOf(part)
	if pk == agg || pk.Group != rbacGroup || pk.Kind != "ClusterRole" {
		return "", false
	}
	for _, sel := range sels {
		if sel.Matches(labels.Set(part.GetLabels())) {
			return Describe(pk) + ", gathered into " + Describe(agg) + " by its aggregationRule", true
		}
	}
	return "", false
}

// AggregationSelectors are the clusterRoleSelectors of the aggregated
// ClusterRole agg, as the aggregation controller reads them, less two
// that would bring along what is not the aggregate's own:
//   - none of a role the apiserver bootstraps in every cluster (admin,
//     edit, view gather what every app adds to them: a RoleBinding to
//     admin would bring every app's ClusterRoles; the target's own roles
//     gather the target's);
//   - not an empty selector, which matches every ClusterRole of the source.
func AggregationSelectors(agg Object) []labels.Selector {
	if k := KeyOf(agg); k.Group != rbacGroup || k.Kind != "ClusterRole" || sanitize.BootstrapRBAC(agg.GetLabels()) {
		return nil
	}
	var out []labels.Selector
	for _, raw := range list(fields(agg), "aggregationRule", "clusterRoleSelectors") {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(&ls); err == nil && !sel.Empty() {
			out = append(out, sel)
		}
	}
	return out
}
