package syncer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
)

// podMakers are the kinds whose creation starts pods at once, with their
// resources.
var podMakers = map[schema.GroupKind]inventory.Resource{
	{Group: "apps", Kind: "Deployment"}:  {Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true},
	{Group: "apps", Kind: "StatefulSet"}: {Group: "apps", Version: "v1", Resource: "statefulsets", Kind: "StatefulSet", Namespaced: true},
	{Group: "apps", Kind: "DaemonSet"}:   {Group: "apps", Version: "v1", Resource: "daemonsets", Kind: "DaemonSet", Namespaced: true},
	{Group: "apps", Kind: "ReplicaSet"}:  {Group: "apps", Version: "v1", Resource: "replicasets", Kind: "ReplicaSet", Namespaced: true},
	{Group: "batch", Kind: "Job"}:        {Group: "batch", Version: "v1", Resource: "jobs", Kind: "Job", Namespaced: true},
	{Kind: "ReplicationController"}:      {Version: "v1", Resource: "replicationcontrollers", Kind: "ReplicationController", Namespaced: true},
	{Kind: "Pod"}:                        {Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true},
}

// Unmutated says, for each MutatingWebhookConfiguration a run created that
// mutates pods (plan.PodMutators: a sidecar injector), which workloads the
// same run created before it that it matches: sync writes webhook
// configurations in its last wave, so their pods were made without it — a
// mesh's sidecar is missing until they are restarted. The configurations
// are read back from the target; its namespaces' labels are matched
// against each webhook's namespaceSelector and, where a webhook has an
// objectSelector (Istio's injector takes a pod by its label too), the
// workloads' pod labels as the target holds them against it — their pod
// templates' labels: what a controller adds to each pod
// (pod-template-hash, statefulset.kubernetes.io/pod-name…) is not seen.
// Its matchConditions are not read: a workload they leave out is named
// too. A run in standby form starts no pods: its caller does not ask.
func Unmutated(ctx context.Context, target *cluster.Conn, results []apply.Result) ([]string, error) {
	var configs []string
	made := map[string][]workload{} // namespace → workloads created
	for _, r := range results {
		if r.Status != apply.Created {
			continue
		}
		gk := schema.GroupKind{Group: r.Group, Kind: r.Kind}
		_, makesPods := podMakers[gk]
		switch {
		case gk == schema.GroupKind{Group: cluster.MutatingWebhookConfigurations.Group, Kind: "MutatingWebhookConfiguration"}:
			configs = append(configs, r.Name)
		case makesPods && r.Namespace != "":
			made[r.Namespace] = append(made[r.Namespace], workload{gk, r.Name})
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
	podLabels := map[string]map[workload]labels.Set{} // read once per namespace, when a selector asks
	var out []string
	for _, name := range configs {
		obj, err := target.Dynamic.Resource(cluster.MutatingWebhookConfigurations).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("read MutatingWebhookConfiguration %s in %s: %w", name, target.Context, err)
		}
		mutators := plan.PodMutators(obj)
		matched := map[string]int{}
		for ns, set := range nsLabels {
			var hooks []plan.PodMutator
			for _, m := range mutators {
				if m.SelectsNamespace(set) {
					hooks = append(hooks, m)
				}
			}
			if len(hooks) == 0 {
				continue
			}
			if !slices.ContainsFunc(hooks, func(m plan.PodMutator) bool { return m.ObjectSelector != nil }) {
				matched[ns] = len(made[ns])
				continue
			}
			if podLabels[ns] == nil {
				if podLabels[ns], err = templateLabels(ctx, target, ns, made[ns]); err != nil {
					return out, err
				}
			}
			for _, w := range made[ns] {
				pod, ok := podLabels[ns][w]
				if ok && slices.ContainsFunc(hooks, func(m plan.PodMutator) bool { return m.SelectsPod(pod) }) {
					matched[ns]++
				}
			}
			if matched[ns] == 0 {
				delete(matched, ns)
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

// workload is one object a run created that starts pods.
type workload struct {
	gk   schema.GroupKind
	name string
}

// templateLabels reads, from the target, the labels of the pods each of
// ws (all of namespace ns) makes: its pod template's, a bare Pod's own.
// Each kind is listed once in the namespace (inventory.List: page by
// page); a workload gone since has no entry.
func templateLabels(ctx context.Context, target *cluster.Conn, ns string, ws []workload) (map[workload]labels.Set, error) {
	want := map[workload]bool{}
	kinds := map[schema.GroupKind]bool{}
	for _, w := range ws {
		want[w] = true
		kinds[w.gk] = true
	}
	out := map[workload]labels.Set{}
	for gk := range kinds {
		r := podMakers[gk]
		err := inventory.List(ctx, target, r, ns, func(u *unstructured.Unstructured) error {
			w := workload{gk, u.GetName()}
			if !want[w] {
				return nil
			}
			set := u.GetLabels()
			if gk.Kind != "Pod" {
				set, _, _ = unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
			}
			out[w] = set
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s in %s/%s: %w", r.Resource, target.Context, ns, err)
		}
	}
	return out, nil
}
