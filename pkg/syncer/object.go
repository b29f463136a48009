package syncer

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
	"github.com/tandem-io/tandem/pkg/standby"
)

// Around is what Changed is told of the objects around a change by its
// caller (the mirror, from its caches and the reads it made already).
type Around struct {
	// Also are objects the caller knows the selection brings along (a
	// narrowed mirror's dependencies found before; plan.Reach).
	Also map[plan.ObjectKey]string
	// HasSelector says whether ns/name is a Service with a selector in the
	// source: what a sanitizer needs to know of the source's other objects.
	HasSelector func(namespace, name string) bool
	// Targets are the target's copies read already (TargetNow), by key, a
	// nil value when the target has none; the others are read here.
	Targets map[plan.ObjectKey]*plan.Target
	// StandbyExempt says whether a namespace is labelled
	// standby.ExemptLabel (nil: none is).
	StandbyExempt func(namespace string) bool
}

// Changed is the pipeline for a few source objects that changed (the
// mirror's unit of work): select, sanitize, the standby form, and the plan
// against the target's current objects — the same steps Prepare takes for a
// whole cluster. The source's other objects are not listed again: what the
// pipeline needs to know of them comes from around.
//
// The selection is plan.Reach's: Needed in the answer are the objects
// outside objs that the picked ones need, for the caller to bring along.
//
// Objects the selection does not pick are left out (no item); objects the
// pipeline skips come back as skipped items, so the caller can tell.
func Changed(ctx context.Context, req Request, resources []inventory.Resource, objs []*unstructured.Unstructured, around Around) (*Prepared, error) {
	byGK := map[schema.GroupKind]inventory.Resource{}
	for _, r := range resources {
		if _, dup := byGK[r.GroupKind()]; !dup {
			byGK[r.GroupKind()] = r
		}
	}
	sctx := sanitize.Context{ServiceHasSelector: around.HasSelector}
	for _, o := range objs {
		if sanitize.AsksNodePorts(o) {
			// Node ports taken in the target matter only for Services
			// that have one (listing every Service of the target for
			// each change of a ClusterIP Service would cost the mirror
			// a full list per change).
			c, err := sanitizeContext(ctx, req, nil)
			if err != nil {
				return nil, err
			}
			sctx.NodePortTaken = c.NodePortTaken
			break
		}
	}
	for _, o := range objs {
		if o.GetKind() == "ServiceAccount" && o.GroupVersionKind().Group == "" && plan.SystemNamespace(o.GetNamespace()) && req.Source != nil {
			// Only a system namespace's accounts may be the control
			// plane's: the list is not made for every change.
			accounts, err := controlPlaneAccounts(ctx, req.Source)
			if err != nil {
				return nil, err
			}
			sctx.ControlPlaneAccount = func(ns, name string) bool { return accounts[ns+"/"+name] }
			break
		}
	}
	kindGroups := map[string][]string{}
	for gk := range byGK {
		kindGroups[gk.Kind] = append(kindGroups[gk.Kind], gk.Group)
	}
	picked, needed := plan.Reach(objs, req.Selector, around.Also, kindGroups)
	p := &Prepared{Resources: resources, Needed: needed}
	var items []plan.Item
	for _, o := range objs {
		why, ok := picked[plan.KeyOf(o)]
		if !ok {
			continue
		}
		r, ok := byGK[o.GroupVersionKind().GroupKind()]
		if !ok || r.ReadOnly || alwaysGenerated(r.GroupKind()) {
			continue
		}
		if r.Unshared {
			if !sanitize.Object(o.DeepCopy(), sctx).Skip {
				p.Unshared = append(p.Unshared, Unshared{Object: o, Fix: r.Fix()})
			}
			continue
		}
		target, read := around.Targets[plan.KeyOf(o)]
		if req.Target != nil && !read {
			var err error
			if target, err = TargetNow(ctx, req.Target, r, o.GetNamespace(), o.GetName()); err != nil {
				return nil, err
			}
		}
		desired := o.DeepCopy()               // the caller's object is its cache's: never sanitized in place
		joins := dnsJoins(r.GVR(), o, target) // before sanitize strips the source's identifier
		decision := decide(req, r, desired, sctx, around.StandbyExempt)
		if decision.Held {
			p.Held = append(p.Held, desired)
		} else if req.Standby && !decision.Skip && r.GroupKind() == standby.APIService {
			p.Unheld = append(p.Unheld, desired.GetName())
		}
		if decision.Skip {
			desired = identityOnly(desired)
		} else if req.Target != nil && !req.Standby {
			p.Joins = append(p.Joins, joins...)
		}
		items = append(items, plan.Item{Resource: r.GVR(), Namespaced: r.Namespaced, Desired: desired, Decision: decision, Target: target, Why: why})
	}
	p.Plan = plan.Build(items, plan.Options{Force: req.Force})
	return p, nil
}

// TargetNow reads the target's copy of namespace/name of resource r as a
// decision reads it: its metadata only (PartialObjectMetadata, protobuf),
// as listTarget does for a whole sync; nil when the target has none.
func TargetNow(ctx context.Context, target *cluster.Conn, r inventory.Resource, namespace, name string) (*plan.Target, error) {
	cur, err := cluster.Scoped(target.Metadata.Resource(r.GVR()), r.Namespaced, namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("target: get %s %s/%s: %w", r.Kind, namespace, name, err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cur)
	if err != nil {
		return nil, fmt.Errorf("target: %s %s/%s: %w", r.Kind, namespace, name, err)
	}
	return plan.TargetOf(&unstructured.Unstructured{Object: m}), nil
}
