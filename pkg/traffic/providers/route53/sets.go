package route53

// The records of one name as a set: weighted and simple ones told apart,
// ALIAS sets, the set's TTL, and what the preflight and a missing cluster's
// explanation read from them.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// Verifies implements traffic.Verifier: a step is verified once Route53
// reports its change INSYNC and the records read back with the weights.
func (r *Router) Verifies() string {
	return "the change is INSYNC on every Route53 name server and the records read back with the weights"
}

// Missing implements traffic.MissingExplainer: a cluster with no record in
// a weighted set, and nothing to make one with.
func (r *Router) Missing(ctx context.Context, route, cluster string) string {
	sets, err := r.records(ctx, route)
	if err != nil {
		return ""
	}
	weighted, simple := r.split(sets)
	if isAliasSet(weighted, simple) {
		return fmt.Sprintf("route53: %s is a weighted ALIAS set with no record for cluster %q, and its alias target is missing: pass %s=alias:HOSTED_ZONE_ID/DNS_NAME (the load balancer's canonical hosted zone and DNS name)", route, cluster, cluster)
	}
	return fmt.Sprintf("route53: %s has no record for cluster %q and no value for it: pass %s=VALUE (or check --from/--to)", route, cluster, cluster)
}

// split tells a name's weighted records (by cluster) from its simple one.
func (r *Router) split(sets []types.ResourceRecordSet) (map[string]types.ResourceRecordSet, *types.ResourceRecordSet) {
	weighted := map[string]types.ResourceRecordSet{}
	var simple *types.ResourceRecordSet
	for i, rs := range sets {
		if rs.SetIdentifier == nil {
			simple = &sets[i]
		} else {
			weighted[r.cluster(aws.ToString(rs.SetIdentifier))] = rs
		}
	}
	return weighted, simple
}

// isAliasSet reports whether a name's records are ALIAS records.
func isAliasSet(weighted map[string]types.ResourceRecordSet, simple *types.ResourceRecordSet) bool {
	if simple != nil {
		return simple.AliasTarget != nil
	}
	for _, rs := range weighted {
		if rs.AliasTarget != nil {
			return true
		}
	}
	return false
}

// setTTLOf is the TTL of a weighted set's records (the longest), and a
// description of them when they differ ("" when they agree). ALIAS records
// have none of their own and are left out.
func setTTLOf(weighted map[string]types.ResourceRecordSet) (int64, string) {
	var longest int64
	seen := map[int64]bool{}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(weighted)) {
		rs := weighted[c]
		if rs.TTL == nil {
			continue
		}
		t := aws.ToInt64(rs.TTL)
		longest = max(longest, t)
		seen[t] = true
		parts = append(parts, fmt.Sprintf("%s %ds", c, t))
	}
	if len(seen) < 2 {
		return longest, ""
	}
	return longest, strings.Join(parts, ", ")
}

// Preflight implements traffic.Preflighter: a weighted set whose TTLs
// differ is named before the first step.
func (r *Router) Preflight(ctx context.Context) ([]string, error) {
	var out []string
	for _, name := range r.cfg.Names {
		sets, err := r.records(ctx, name)
		if err != nil {
			return nil, err
		}
		weighted := map[string]types.ResourceRecordSet{}
		for _, rs := range sets {
			if rs.SetIdentifier != nil {
				weighted[r.cluster(aws.ToString(rs.SetIdentifier))] = rs
			}
		}
		if ttl, mixed := setTTLOf(weighted); mixed != "" {
			fix := "refused unless --fix-ttl"
			if r.cfg.FixTTL {
				fix = fmt.Sprintf("aligned to %ds (--fix-ttl)", ttl)
			}
			out = append(out, fmt.Sprintf("route53: the weighted records of %s have different TTLs (%s): %s", name, mixed, fix))
		}
	}
	return out, nil
}

func (r *Router) known(name string) bool {
	for _, n := range r.cfg.Names {
		if n == name {
			return true
		}
	}
	return false
}

// Simple is the values of name's simple (non-weighted) record, if it has
// one: a record published before the name was ever weighted. Route53
// keeps no simple record beside weighted ones of the same name and type.
func (r *Router) Simple(ctx context.Context, name string) ([]string, bool, error) {
	sets, err := r.records(ctx, fqdn(name))
	if err != nil {
		return nil, false, err
	}
	if _, simple := r.split(sets); simple != nil {
		if simple.AliasTarget != nil {
			return []string{"ALIAS " + aws.ToString(simple.AliasTarget.DNSName)}, true, nil
		}
		return values(*simple), true, nil
	}
	return nil, false, nil
}
