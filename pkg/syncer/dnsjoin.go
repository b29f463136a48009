package syncer

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// DNSJoin is an object that is one record of a weighted DNS set in the
// source (an ExternalDNS set-identifier) and has none in the target: its
// copy joins the set with a record of its own at weight 0, instead of
// asking its ExternalDNS for a simple record Route53 would refuse beside
// the weighted ones. The source's identifier and weight are never copied
// (sanitize); the join is a merge patch after the apply, so the annotations
// are not the apply's own and a later sync never takes them back — they
// are `tandem shift`'s from then on.
type DNSJoin struct {
	Resource        schema.GroupVersionResource
	Namespace, Name string
	Kind, Group     string
	Prefix          string
}

// compareJoins orders joins by resource, namespace, name, prefix.
func compareJoins(a, b DNSJoin) int {
	return cmp.Or(strings.Compare(a.Resource.String(), b.Resource.String()),
		strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name), strings.Compare(a.Prefix, b.Prefix))
}

func dnsJoins(r schema.GroupVersionResource, source *unstructured.Unstructured, current *plan.Target) []DNSJoin {
	if current != nil && len(sanitize.DNSSetIdentifierPrefixesIn(current.Annotations)) > 0 {
		return nil // the target's own, under whichever prefix its ExternalDNS reads: left alone
	}
	var out []DNSJoin
	for _, p := range sanitize.DNSSetIdentifierPrefixes(source) {
		out = append(out, DNSJoin{Resource: r, Namespace: source.GetNamespace(), Name: source.GetName(),
			Kind: source.GetKind(), Group: source.GroupVersionKind().Group, Prefix: p})
	}
	return out
}

// JoinDNSSets patches each join whose object was written or is in place,
// with the target's name as its set-identifier and weight 0, and notes it
// on the object's result.
func JoinDNSSets(ctx context.Context, target *cluster.Conn, joins []DNSJoin, results []apply.Result) error {
	for _, j := range joins {
		i := -1
		for k, r := range results {
			if r.Kind == j.Kind && r.Group == j.Group && r.Namespace == j.Namespace && r.Name == j.Name {
				i = k
			}
		}
		if i < 0 || (results[i].Status != apply.Created && results[i].Status != apply.Updated && results[i].Status != apply.Unchanged) {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
			j.Prefix + "set-identifier": target.Context, j.Prefix + "aws-weight": "0"}}})
		ri := target.Dynamic.Resource(j.Resource).Namespace(j.Namespace)
		if _, err := ri.Patch(ctx, j.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: plan.FieldManager}); err != nil {
			return fmt.Errorf("join %s %s/%s to its weighted DNS set: %w", j.Kind, j.Namespace, j.Name, err)
		}
		results[i].Notes = append(results[i].Notes, fmt.Sprintf("joins its weighted DNS set at weight 0 (%sset-identifier=%s): `tandem shift` moves the weights", j.Prefix, target.Context))
	}
	return nil
}
