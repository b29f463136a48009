package syncer

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// prepareEarly is the start of the plan that Request.Early applies, from
// the cluster-scoped objects alone (see Request.Early), and its objects.
// It works on copies: the whole selection reads the originals later.
func prepareEarly(ctx context.Context, req Request, byGK map[schema.GroupKind]inventory.Resource, clusterScoped []plan.Object) (plan.Plan, map[plan.ObjectKey]bool, error) {
	picked := pick(clusterScoped, req.Selector)
	keys := map[plan.ObjectKey]bool{}
	var objs []plan.Object
	for _, o := range clusterScoped {
		key := plan.KeyOf(o)
		gk := o.GroupVersionKind().GroupKind()
		r := byGK[gk]
		if _, ok := picked.picked(o, key); !ok || r.Unshared || r.Pending {
			continue
		}
		if wave, _ := plan.WaveOf(gk); wave > plan.WaveClusterRBAC {
			continue
		}
		keys[key] = true
		objs = append(objs, o)
	}
	jobs := newJobs(objs, picked, nil, false)
	if req.Target != nil {
		if err := listTarget(ctx, req, byGK, jobs, false); err != nil {
			return plan.Plan{}, nil, err
		}
	}
	// No Service is among them: the sanitizers' Service questions have no
	// object to ask about.
	pr := preparer{req: req, byGK: byGK, sctx: sanitize.Context{
		ServiceHasSelector: func(string, string) bool { return false },
		NodePortTaken:      func(int64, string, string) bool { return false },
	}}
	var items []plan.Item
	for _, j := range jobs {
		j.o = j.o.DeepCopy() // cluster-scoped, held whole: the whole selection reads the original later
		out, err := pr.one(j)
		if err != nil {
			return plan.Plan{}, nil, err
		}
		if out.item != nil {
			items = append(items, *out.item)
		}
	}
	return plan.Build(items, plan.Options{Force: req.Force}), keys, nil
}
