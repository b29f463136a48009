package mirror

// The ClusterRoles an aggregated ClusterRole the mirror copies gathers
// come along (plan.GatheredBy): those there when it is brought along, and
// those made since (an operator's upgrade adding a part to the roles its
// controllers are bound to). The informers' caches hold names only, so
// the mirror keeps the selectors of the aggregated roles it copies.

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
)

const rbacGroup = "rbac.authorization.k8s.io"

// gatherer is an aggregated ClusterRole the mirror copies: what it gathers
// (plan.AggregationSelectors), and its aggregationRule as JSON.
type gatherer struct {
	selectors []labels.Selector
	rule      string
}

func gathererOf(agg *unstructured.Unstructured) (gatherer, bool) {
	sels := plan.AggregationSelectors(agg)
	if len(sels) == 0 {
		return gatherer{}, false
	}
	rule, _ := json.Marshal(agg.Object["aggregationRule"])
	return gatherer{sels, string(rule)}, true
}

// clusterRoles calls f with each ClusterRole of the source, read now: a
// ClusterRole's labels and aggregationRule are not in the informers'
// caches.
func (m *Mirror) clusterRoles(ctx context.Context, f func(*unstructured.Unstructured)) error {
	gvr, found := m.gvrOf(plan.ObjectKey{Group: rbacGroup, Kind: "ClusterRole"})
	if !found {
		return nil
	}
	return inventory.List(ctx, m.Source, m.kinds().byGVR[gvr], "", func(o *unstructured.Unstructured) error {
		f(o)
		return nil
	})
}

// gatheredInto says why a ClusterRole comes along when an aggregated
// ClusterRole the mirror copies gathers it (plan.GatheredBy): a
// ClusterRole an operator's upgrade adds to the roles its controllers are
// bound to. The aggregated roles are read from the source once, at the
// first ClusterRole asked about; an error is the caller's to try again.
func (m *Mirror) gatheredInto(ctx context.Context, part *unstructured.Unstructured) (string, bool, error) {
	if k := plan.KeyOf(part); k.Group != rbacGroup || k.Kind != "ClusterRole" {
		return "", false, nil
	}
	m.mu.Lock()
	loaded := m.gatherersLoaded
	m.mu.Unlock()
	if !loaded {
		found := map[plan.ObjectKey]gatherer{}
		err := m.clusterRoles(ctx, func(agg *unstructured.Unstructured) {
			ak := plan.KeyOf(agg)
			if _, known := m.dep(ak); !known && !m.root(ak) {
				return
			}
			if g, ok := gathererOf(agg); ok {
				found[ak] = g
			}
		})
		if err != nil {
			return "", false, err
		}
		m.mu.Lock()
		if !m.gatherersLoaded {
			maps.Copy(m.gatherers, found)
			m.gatherersLoaded = true
		}
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ak := range slices.SortedFunc(maps.Keys(m.gatherers), func(a, b plan.ObjectKey) int { return strings.Compare(a.Name, b.Name) }) {
		if why, ok := plan.GatheredBy(ak, m.gatherers[ak].selectors, part); ok {
			return why, true, nil
		}
	}
	return "", false, nil
}

// gatheredIfNarrowed are the ClusterRoles the aggregated ClusterRole agg,
// which the mirror copies, gathers in the source, with why, for
// bringAlong when the selection narrows what the mirror copies: Select
// finds them through its index, a mirror asks the source — when agg is
// new to it or its aggregationRule changed, not at each rewrite of its
// rules by the aggregation controller.
func (m *Mirror) gatheredIfNarrowed(ctx context.Context, agg *unstructured.Unstructured) (map[plan.ObjectKey]string, error) {
	ak := plan.KeyOf(agg)
	if !m.narrowed() || ak.Group != rbacGroup || ak.Kind != "ClusterRole" {
		return nil, nil
	}
	g, ok := gathererOf(agg)
	m.mu.Lock()
	was, known := m.gatherers[ak]
	if !ok {
		delete(m.gatherers, ak)
	}
	m.mu.Unlock()
	if !ok || (known && was.rule == g.rule) {
		return nil, nil
	}
	out := map[plan.ObjectKey]string{}
	err := m.clusterRoles(ctx, func(part *unstructured.Unstructured) {
		if why, ok := plan.GatheredBy(ak, g.selectors, part); ok {
			out[plan.KeyOf(part)] = why
		}
	})
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.gatherers[ak] = g
	m.mu.Unlock()
	return out, nil
}

// forgetGatherer forgets an aggregated ClusterRole deleted from the source.
func (m *Mirror) forgetGatherer(k key) {
	if ok := m.objectKey(k); ok.Group == rbacGroup && ok.Kind == "ClusterRole" {
		m.mu.Lock()
		delete(m.gatherers, ok)
		m.mu.Unlock()
	}
}
