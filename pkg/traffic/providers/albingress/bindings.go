package albingress

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/traffic"
)

// TargetGroupBindings is the AWS Load Balancer Controller's resource that
// registers a Service's endpoints in a target group
// (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/targetgroupbinding/targetgroupbinding/).
var TargetGroupBindings = schema.GroupVersionResource{Group: "elbv2.k8s.aws", Version: "v1beta1", Resource: "targetgroupbindings"}

type binding struct{ cluster, ref, service string }

// checkBindings checks that each cluster's target group is bound to a
// Service of that cluster (its TargetGroupBinding): a target group given for
// the wrong cluster, or bound in none, would send the traffic meant for one
// cluster elsewhere. A cluster without the CRD cannot be checked: said.
func (r *Router) checkBindings(ctx context.Context) error {
	bound := map[string][]binding{}
	withCRD := map[string]bool{}
	clusters := slices.Sorted(maps.Keys(r.cfg.TargetGroups))
	for _, name := range clusters {
		l, err := r.conns[name].Dynamic.Resource(TargetGroupBindings).Namespace("").List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			r.notes = append(r.notes, fmt.Sprintf("%s: no TargetGroupBinding resource (%s): which Service target group %s serves is not checked", name, TargetGroupBindings.GroupResource(), r.cfg.TargetGroups[name]))
			continue
		}
		if err != nil {
			return fmt.Errorf("albingress: list TargetGroupBindings in %s: %w", name, err)
		}
		withCRD[name] = true
		for _, item := range l.Items {
			arn, _, _ := unstructured.NestedString(item.Object, "spec", "targetGroupARN")
			svc, _, _ := unstructured.NestedString(item.Object, "spec", "serviceRef", "name")
			bound[arn] = append(bound[arn], binding{cluster: name, ref: item.GetNamespace() + "/" + item.GetName(), service: item.GetNamespace() + "/" + svc})
		}
	}
	for _, c := range clusters {
		tg := r.cfg.TargetGroups[c]
		var mine, others []string
		for _, b := range bound[tg] {
			if b.cluster == c {
				mine = append(mine, fmt.Sprintf("TargetGroupBinding %s (Service %s)", b.ref, b.service))
			} else {
				others = append(others, fmt.Sprintf("%s (TargetGroupBinding %s)", b.cluster, b.ref))
			}
		}
		switch {
		case len(mine) > 0 && len(others) > 0:
			// A binding copied from one cluster into the other (by hand,
			// or by a tool that copies everything) registers both
			// clusters' pods in one target group: the weights would not
			// say where traffic goes.
			return fmt.Errorf("%w: albingress: the target group given for %s, %s, is bound in %s too (%s): that cluster's pods would get %s's share of the traffic; delete that binding (each cluster binds its own target group)", traffic.ErrInvalid, c, tgName(tg), otherClusters(bound[tg], c), strings.Join(others, ", "), c)
		case len(mine) > 0:
			r.notes = append(r.notes, fmt.Sprintf("%s: target group %s is bound by %s", c, tgName(tg), strings.Join(mine, ", ")))
		case len(others) > 0:
			return fmt.Errorf("%w: albingress: the target group given for %s, %s, is bound in %s: the target groups are swapped or mistyped", traffic.ErrInvalid, c, tg, strings.Join(others, ", "))
		case withCRD[c]:
			return fmt.Errorf("%w: albingress: the target group given for %s, %s, is bound by no TargetGroupBinding in %s: it serves neither cluster; name the target group of %s's Service", traffic.ErrInvalid, c, tg, strings.Join(clusters, " or "), c)
		}
	}
	return nil
}

// otherClusters names the clusters other than c that hold one of bs.
func otherClusters(bs []binding, c string) string {
	var names []string
	for _, b := range bs {
		if b.cluster != c && !slices.Contains(names, b.cluster) {
			names = append(names, b.cluster)
		}
	}
	return strings.Join(names, ", ")
}

func tgName(arn string) string {
	_, rest, _ := strings.Cut(arn, ":targetgroup/")
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// Preflight implements traffic.Preflighter: which rule is read, which
// Service each cluster's target group serves, and what the rule's target
// group stickiness does to the steps (alb.Router's Preflight).
func (r *Router) Preflight(ctx context.Context) ([]string, error) {
	sticky, err := r.rule.Preflight(ctx)
	if err != nil {
		return nil, err
	}
	lines := append([]string{fmt.Sprintf("shifting through Ingress %s/%s in %s, annotation %s%s; the AWS Load Balancer Controller applies it", r.cfg.Namespace, r.cfg.Ingress, r.cfg.Context, ActionPrefix, r.cfg.Action)}, r.notes...)
	return append(lines, sticky...), nil
}
