package syncer

// One picked object made a plan item (preparer.one: read back from the
// spill, sanitized, decided, hashed, spilled again), and what the
// sanitizers need to know of both clusters for it (sanitizeContext).

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/pager"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
	"github.com/tandem-io/tandem/pkg/standby"
)

// preparer turns one picked source object into a plan item: read back
// from the spill, sanitized, decided, hashed and spilled again.
type preparer struct {
	req        Request
	byGK       map[schema.GroupKind]inventory.Resource
	sctx       sanitize.Context
	clusterIPs map[string]string
	sp         *spill
	exempt     func(namespace string) bool // labelled standby.ExemptLabel in either cluster (nil: none)
	// ending are the target's namespaces being deleted (nil: none, or no target).
	ending map[string]bool
}

// prepareOutcome is an item, an unshared object, or neither.
type prepareOutcome struct {
	item     *plan.Item
	joins    []DNSJoin
	unshared *Unshared
	held     *unstructured.Unstructured // the item's object, sanitized, when a standby holds it back
	unheld   string                     // the name of an APIService a standby copy writes
}

func (pr preparer) one(j prepareJob) (prepareOutcome, error) {
	o := j.o
	if o == nil {
		var err error
		if o, err = pr.sp.get(j.ref); err != nil {
			return prepareOutcome{}, err
		}
	}
	r := pr.byGK[o.GroupVersionKind().GroupKind()]
	if r.Unshared {
		// Only what would be copied is a problem: a generated object or
		// tandem's own state is skipped whatever versions are served.
		if !sanitize.Object(o.DeepCopy(), pr.sctx).Skip {
			return prepareOutcome{unshared: &Unshared{Object: identityOnly(o), Fix: r.Fix()}}, nil
		}
		return prepareOutcome{}, nil
	}
	var out prepareOutcome
	var current *plan.Target
	if j.current != nil {
		current = j.current.target(j.key.Namespace)
	}
	joins := dnsJoins(r.GVR(), o, current) // before sanitize strips the source's identifier
	// Sanitized in place: the raw object is not needed afterwards, and a copy would double the memory.
	desired := o
	decision := decide(pr.req, r, desired, pr.sctx, pr.exempt)
	if decision.Held {
		out.held = desired // for standby.Hold: an APIService, whole
	} else if pr.req.Standby && !decision.Skip && r.GroupKind() == standby.APIService {
		out.unheld = desired.GetName()
	}
	if decision.Skip {
		desired = identityOnly(desired) // a skipped object is only ever named in the report
	} else if pr.req.Target != nil && !pr.req.Standby {
		out.joins = joins
	}
	it := plan.Item{
		Resource: r.GVR(), Namespaced: r.Namespaced, Desired: desired, Decision: decision,
		Target: current, Why: j.why, NamespaceDeleting: r.Namespaced && pr.ending[j.key.Namespace],
	}
	if !decision.Skip {
		noteLiteralClusterIPs(pr.clusterIPs, &it)
		if j.o == nil {
			// Back to disk, sanitized: the plan keeps its name, owners and hash.
			it.DesiredHash = plan.Hash(desired)
			it.Ref = refOf(desired)
			back, err := pr.sp.putStamped(desired, it.DesiredHash)
			if err != nil {
				return prepareOutcome{}, err
			}
			it.Desired, it.Stored = nil, back
		}
	}
	out.item = &it
	return out, nil
}

// decide sanitizes desired, an object of r, in place and says whether it is
// copied: the sanitizers' decision, then what the request adds — claims
// left to handoff, a backend in a namespace the selection never copies,
// and the standby form (before plan.Build: the hash covers it), with
// exempt the namespaces a standby leaves alone.
func decide(req Request, r inventory.Resource, desired *unstructured.Unstructured, sctx sanitize.Context, exempt func(string) bool) sanitize.Decision {
	d := sanitize.Object(desired, sctx)
	switch {
	case d.Skip:
	case r.GroupKind() == schema.GroupKind{Kind: "PersistentVolumeClaim"} && !req.IncludePVCs:
		d = sanitize.Decision{Skip: true, Reason: "PersistentVolumeClaims move with `tandem handoff` (or pass --include-pvcs)"}
	default:
		if svc := req.Selector.CallsUncopied(desired); svc != "" {
			d = sanitize.Decision{Skip: true, Reason: "calls " + svc + ", in a system namespace sync does not copy: the add-on behind it brings its own when installed in the target (or pass --include-system)"}
		}
	}
	if req.Standby {
		d = standby.Decide(desired, d, req.StandbyKinds, exempt)
	}
	return d
}

// identityOnly keeps what names an object: apiVersion, kind, namespace, name.
func identityOnly(o *unstructured.Unstructured) *unstructured.Unstructured {
	md := map[string]any{"name": o.GetName()}
	if ns := o.GetNamespace(); ns != "" {
		md["namespace"] = intern(ns)
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": intern(o.GetAPIVersion()), "kind": intern(o.GetKind()), "metadata": md}}
}

// sanitizeContext gives sanitizers what they need to know about both clusters.
func sanitizeContext(ctx context.Context, req Request, raw []plan.Object) (sanitize.Context, error) {
	selector := map[string]bool{}
	deleting := map[string]bool{}
	controlPlane := map[string]bool{}
	for _, o := range raw {
		// The kind first: a spilled object's content is decoded anew at
		// each read, and only Namespaces' and Services' are read here.
		switch o.GroupVersionKind() {
		case schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}:
			if c := plan.Content(o); c != nil && c.GetDeletionTimestamp() != nil {
				deleting[o.GetName()] = true
			}
		case schema.GroupVersionKind{Version: "v1", Kind: "Service"}:
			if c := plan.Content(o); c != nil {
				if sel, _, _ := unstructured.NestedMap(c.Object, serviceSelector...); len(sel) > 0 {
					selector[o.GetNamespace()+"/"+o.GetName()] = true
				}
			}
		case schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}:
			// The bootstrap policy binds the control plane's own accounts
			// (system:controller:…): the ServiceAccounts it names are the
			// control plane's, made anew in each cluster.
			if !sanitize.BootstrapRBAC(o.GetLabels()) {
				continue
			}
			if c := plan.Content(o); c != nil {
				boundAccounts(c, controlPlane)
			}
		}
	}
	taken := map[int64]string{}
	if req.Target != nil {
		// Page by page (a large target has thousands of Services): only
		// the ports taken are kept.
		services := req.Target.Typed.CoreV1().Services("")
		p := pager.New(pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) { return services.List(ctx, opts) }))
		err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
			s, ok := obj.(*corev1.Service)
			if !ok {
				return fmt.Errorf("a %T in a list of Services", obj)
			}
			for _, port := range s.Spec.Ports {
				if port.NodePort != 0 {
					taken[int64(port.NodePort)] = s.Namespace + "/" + s.Name
				}
			}
			if s.Spec.HealthCheckNodePort != 0 {
				taken[int64(s.Spec.HealthCheckNodePort)] = s.Namespace + "/" + s.Name
			}
			return nil
		})
		if err != nil {
			return sanitize.Context{}, fmt.Errorf("list Services in the target: %w", err)
		}
	}
	return sanitize.Context{
		ServiceHasSelector:  func(ns, name string) bool { return selector[ns+"/"+name] },
		NamespaceDeleting:   func(ns string) bool { return deleting[ns] },
		ControlPlaneAccount: func(ns, name string) bool { return controlPlane[ns+"/"+name] },
		NodePortTaken: func(port int64, ns, name string) bool {
			owner, ok := taken[port]
			return ok && owner != ns+"/"+name
		},
	}, nil
}

// endingNamespaces are the namespaces of c being deleted (Terminating).
func endingNamespaces(ctx context.Context, c *cluster.Conn) (map[string]bool, error) {
	list, err := listNamespaces(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Context, err)
	}
	var out map[string]bool
	for _, ns := range list.Items {
		if ns.DeletionTimestamp != nil {
			if out == nil {
				out = map[string]bool{}
			}
			out[ns.Name] = true
		}
	}
	return out, nil
}

// boundAccounts adds the ServiceAccounts binding b names ("ns/name") to set.
func boundAccounts(b *unstructured.Unstructured, set map[string]bool) {
	subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
	for _, sub := range subjects {
		m, _ := sub.(map[string]any)
		if m["kind"] == "ServiceAccount" {
			ns, _ := m["namespace"].(string)
			name, _ := m["name"].(string)
			set[ns+"/"+name] = true
		}
	}
}

// controlPlaneAccounts are the ServiceAccounts ("ns/name") the source's
// bootstrap ClusterRoleBindings bind: the control plane's own.
func controlPlaneAccounts(ctx context.Context, source *cluster.Conn) (map[string]bool, error) {
	list, err := source.Dynamic.Resource(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}).
		List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/bootstrapping=rbac-defaults"})
	if err != nil {
		return nil, fmt.Errorf("%s: list the bootstrap ClusterRoleBindings: %w", source.Context, err)
	}
	set := map[string]bool{}
	for i := range list.Items {
		boundAccounts(&list.Items[i], set)
	}
	return set, nil
}
