package syncer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

var mutatingConfigs = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"}

// podMakers are the kinds whose creation starts pods at once.
var podMakers = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "Deployment"}: true, {Group: "apps", Kind: "StatefulSet"}: true,
	{Group: "apps", Kind: "DaemonSet"}: true, {Group: "apps", Kind: "ReplicaSet"}: true,
	{Group: "batch", Kind: "Job"}: true, {Kind: "ReplicationController"}: true, {Kind: "Pod"}: true,
}

// Unmutated says, for each MutatingWebhookConfiguration a run created that
// mutates pods (plan.PodMutators: a sidecar injector), which workloads the
// same run created before it in the namespaces it matches: sync writes
// webhook configurations in its last wave, so their pods were made without
// it — a mesh's sidecar is missing until they are restarted. The
// configurations are read back from the target, and its namespaces'
// labels matched against each webhook's namespaceSelector (its
// objectSelector and matchConditions are not: a workload they leave out is
// named too). A run in standby form starts no pods: its caller does not ask.
func Unmutated(ctx context.Context, target *cluster.Conn, results []apply.Result) ([]string, error) {
	var configs []string
	made := map[string]int{} // namespace → workloads created
	for _, r := range results {
		if r.Status != apply.Created {
			continue
		}
		gk := schema.GroupKind{Group: r.Group, Kind: r.Kind}
		switch {
		case gk == schema.GroupKind{Group: mutatingConfigs.Group, Kind: "MutatingWebhookConfiguration"}:
			configs = append(configs, r.Name)
		case podMakers[gk] && r.Namespace != "":
			made[r.Namespace]++
		}
	}
	if len(configs) == 0 || len(made) == 0 {
		return nil, nil
	}
	nsLabels := map[string]labels.Set{}
	for ns := range made {
		o, err := target.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read namespace %s in %s: %w", ns, target.Context, err)
		}
		nsLabels[ns] = o.Labels
	}
	var out []string
	for _, name := range configs {
		obj, err := target.Dynamic.Resource(mutatingConfigs).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("read MutatingWebhookConfiguration %s in %s: %w", name, target.Context, err)
		}
		mutators := plan.PodMutators(obj)
		matched := map[string]int{}
		for ns, set := range nsLabels {
			for _, m := range mutators {
				sel := labels.Everything()
				if m.NamespaceSelector != nil {
					if sel, err = metav1.LabelSelectorAsSelector(m.NamespaceSelector); err != nil {
						continue
					}
				}
				if sel.Matches(set) {
					matched[ns] = made[ns]
					break
				}
			}
		}
		if len(matched) == 0 {
			continue
		}
		namespaces := slices.Sorted(maps.Keys(matched))
		n := 0
		for _, c := range matched {
			n += c
		}
		hooks := make([]string, len(mutators))
		for i, m := range mutators {
			hooks[i] = m.Name
		}
		workloads, where := fmt.Sprintf("%d workloads", n), "namespaces "+strings.Join(namespaces, ", ")
		if n == 1 {
			workloads = "1 workload"
		}
		if len(namespaces) == 1 {
			where = "namespace " + namespaces[0]
		}
		out = append(out, fmt.Sprintf("MutatingWebhookConfiguration %s mutates pods as they are created (%s), and this sync created it after %s in %s that it matches: their pods were made without it (a sidecar it injects is missing); once its backend runs, restart them (kubectl --context %s -n NAMESPACE rollout restart deployment, and statefulset and daemonset), or sync the namespace of its backend first next time",
			name, strings.Join(hooks, ", "), workloads, where, target.Context))
	}
	return out, nil
}
