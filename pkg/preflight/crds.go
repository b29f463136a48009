package preflight

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// CRDs compares the source's CustomResourceDefinitions with the target's.
type CRDs struct{}

// Name is the check's name.
func (CRDs) Name() string { return "crds" }

// Scope says what was read.
func (CRDs) Scope(env *Env) string {
	return fmt.Sprintf("%d CRDs in the source (those missing in the target created there with a server-side dry run)", len(env.Of("apiextensions.k8s.io", "CustomResourceDefinition")))
}

// Run compares each source CRD with the target's.
func (CRDs) Run(ctx context.Context, env *Env) ([]Finding, error) {
	list, err := env.Target.Dynamic.Resource(cluster.CRDs).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list CRDs in the target: %w", err)
	}
	target := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		target[list.Items[i].GetName()] = &list.Items[i]
	}
	granted := map[string][]plan.Grant{}
	for _, g := range plan.GrantedCRDs(env.Objects, nil) {
		granted[g.CRD.Name] = append(granted[g.CRD.Name], g)
	}
	for _, gs := range granted {
		// A rule that names the CRD says more of its controller than one
		// on every resource of its group.
		slices.SortStableFunc(gs, func(a, b plan.Grant) int {
			switch {
			case a.Wildcard == b.Wildcard:
				return 0
			case b.Wildcard:
				return -1
			}
			return 1
		})
	}
	crds := env.Of("apiextensions.k8s.io", "CustomResourceDefinition")
	refused := refusedCRDs(ctx, env.Target, crds, target)
	var out []Finding
	for _, crd := range crds {
		src := inventory.ReadCRD(crd)
		group, kind := src.GroupKind.Group, src.GroupKind.Kind
		// What sync copies of its objects: not those a controller makes
		// or the source's own records (runs, snapshots, a node's state…).
		crs := env.Seen.Copied(group, kind)
		records := env.Seen.Count(group, kind) - crs
		obj := Ref(crd)
		if src.Webhook != "" {
			out = append(out, Finding{Severity: Info, Object: obj,
				Message: fmt.Sprintf("converts versions through the webhook %s", src.Webhook),
				Fix:     "run the conversion webhook's backend in the target before its custom resources come across"})
		}
		t, ok := target[crd.GetName()]
		if why := refused[crd.GetName()]; !ok && why != "" {
			out = append(out, Finding{Severity: Error, Object: obj,
				Message: "missing in the target, which refuses it (a server-side dry run of its create): " + why,
				Fix:     "install a version of it made for the target's Kubernetes (its operator's chart or manifests) in the target before the sync, or leave it and its objects out with --exclude-kinds"})
			continue
		} else if why != "" {
			out = append(out, Finding{Severity: Error, Object: obj,
				Message: "the target refuses the source's version of it (a server-side dry run of sync's write): " + why,
				Fix:     "install the same version of its operator in both clusters first (the target's stored objects migrated to a version the source's CRD serves), or leave it out with --exclude-kinds CustomResourceDefinition.apiextensions.k8s.io"})
		}
		if !ok {
			if crs > 0 {
				workloads := slices.Concat(env.Of("apps", "Deployment"), env.Of("apps", "StatefulSet"), env.Of("apps", "DaemonSet"))
				if w, g, ok := copiedController(workloads, granted[crd.GetName()]); ok {
					controller := "their controller " + w
					if strings.Contains(w, ", ") {
						controller = "their controller, one of " + w + " (each granted the same)"
					}
					out = append(out, Finding{Severity: Warning, Object: obj,
						Message: fmt.Sprintf("missing in the target while the source has %d %s objects; sync copies the CRD, the objects and %s (%s)", crs, kind, controller, g.Why()),
						Fix:     "make sure the controller's version (the source's images) supports the target's Kubernetes; do not leave the CRD, its objects or namespace " + g.ServiceAccount.Namespace + " out of the sync"})
				} else {
					out = append(out, Finding{Severity: Error, Object: obj,
						Message: fmt.Sprintf("missing in the target while the source has %d %s objects", crs, kind),
						Fix:     "install the operator or chart that owns this CRD in the target (sync copies the CRD, not the controller that acts on it)"})
				}
			} else if gs := granted[crd.GetName()]; len(gs) > 0 {
				out = append(out, Finding{Severity: Warning, Object: obj,
					Message: "missing in the target and no custom resources yet, but a controller uses it: " + gs[0].Why() + moreGrants(gs),
					Fix:     "sync copies it (a --namespace or --stack selection of " + gs[0].ServiceAccount.Namespace + " brings it along); do not leave it out with --exclude-kinds, or the controller fails in the target"})
			} else if records > 0 {
				out = append(out, Finding{Severity: Info, Object: obj,
					Message: fmt.Sprintf("missing in the target; sync copies none of the source's %d %s objects (each is made by another object's controller, or is the source's own record: a run, a snapshot, its nodes' state)", records, kind),
					Fix:     "sync copies the CRD; whatever makes such objects in the source makes the target's (install it there if it is not)"})
			} else {
				out = append(out, Finding{Severity: Info, Object: obj, Message: "missing in the target; the source has no objects of it",
					Fix: "sync copies it; or leave it out with --exclude-kinds CustomResourceDefinition.apiextensions.k8s.io"})
			}
			continue
		}
		dst := inventory.ReadCRD(t)
		if srcServed, dstServed := strings.Join(src.Served(), ","), strings.Join(dst.Served(), ","); srcServed != dstServed || src.Storage != dst.Storage {
			out = append(out, Finding{Severity: Warning, Object: obj,
				Message: fmt.Sprintf("versions differ: source serves %s (stores %s), target serves %s (stores %s)",
					srcServed, src.Storage, dstServed, dst.Storage),
				Fix: "install the same version of the CRD's operator in both clusters, or check that the target's versions convert the source's objects"})
		}
		if dst.Webhook != "" && !strings.Contains(dst.Webhook, "://") {
			ns, name, _ := strings.Cut(dst.Webhook, "/")
			ready, err := readyEndpoints(ctx, env, ns, name)
			if err != nil {
				return out, err
			}
			if ready == 0 {
				out = append(out, Finding{Severity: Warning, Object: obj,
					Message: fmt.Sprintf("the target converts it through the webhook service %s, which has no ready endpoints", dst.Webhook),
					Fix:     "start the conversion webhook's backend in the target before syncing"})
			}
		}
	}
	return out, nil
}

// refusedCRDs writes each CRD of the source as sync would, with a
// server-side dry run, and says why the target refuses each one it
// refuses: a schema using what only a newer apiserver knows (a CEL function
// such as isCIDR, added in 1.31), a field the target does not have, a
// version the target still stores objects at and the source's CRD no
// longer has (status.storedVersions), an admission check denying it. Sync
// would fail on it, and on every object of it. What sync would not write is
// not tried: a CRD the target has as tandem last wrote it (same hash), one
// that Helm, Argo CD or Flux manages there (sync leaves it to them), or one
// an operator makes from another object that the target's operator made
// there (sanitize.MadeCRD). The
// write is sync's: a create where the target lacks it, else an apply that
// takes fields back only from tandem's own managers — a conflict with
// another manager is sync's to report, as is what cannot be tried at all
// (no right to write CRDs, the target unreachable, a webhook that does not
// support dry runs).
func refusedCRDs(ctx context.Context, c *cluster.Conn, crds []*unstructured.Unstructured, target map[string]*unstructured.Unstructured) map[string]string {
	why := make([]string, len(crds))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, crd := range crds {
		t, exists := target[crd.GetName()]
		if exists {
			if _, gitOps := plan.ManagedBy(t); gitOps {
				continue
			}
			if sanitize.MadeCRD(crd.GroupVersionKind().GroupKind(), crd.GetOwnerReferences()) != "" &&
				(metav1.GetControllerOfNoCopy(t) != nil || !plan.ManagedByTandem(t)) {
				continue // the target's operator made or adopted it; sync leaves it to it
			}
		}
		g.Go(func() error {
			o := crd.DeepCopy()
			if sanitize.Object(o, sanitize.Context{}).Skip {
				return nil
			}
			if exists && t.GetAnnotations()[plan.HashAnnotation] == plan.Hash(o) {
				return nil
			}
			sanitize.DropMadeOwners(o)
			why[i] = refusal(dryRunWrite(ctx, c, o, exists))
			return nil
		})
	}
	_ = g.Wait()
	out := map[string]string{}
	for i, w := range why {
		if w != "" {
			out[crds[i].GetName()] = w
		}
	}
	return out
}

// dryRunWrite writes o, a sanitized CRD, to c with a server-side dry run,
// as sync would: created when the target lacks it, else applied, forced
// only past conflicts with tandem's own managers.
func dryRunWrite(ctx context.Context, c *cluster.Conn, o *unstructured.Unstructured, exists bool) error {
	crds := c.Dynamic.Resource(cluster.CRDs)
	dryRun := []string{metav1.DryRunAll}
	if !exists {
		_, err := crds.Create(ctx, o, metav1.CreateOptions{DryRun: dryRun, FieldManager: plan.FieldManager})
		return err
	}
	body, err := o.MarshalJSON()
	if err != nil {
		return nil
	}
	force := false
	write := func() error {
		_, err := crds.Patch(ctx, o.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{DryRun: dryRun, FieldManager: plan.FieldManager, Force: &force})
		return err
	}
	err = write()
	if err != nil && apply.ConflictsOnlyWithTandem(err) {
		force = true
		err = write()
	}
	return err
}

// refusal is why the target refused a dry-run write (err), or "" when
// err is not the target's refusal of the object itself.
func refusal(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.SplitN(err.Error(), "\n", 2)[0]
	switch {
	case strings.Contains(msg, "does not support dry run"):
		return "" // a webhook the real write would call; the dry run cannot
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		apierrors.IsForbidden(err) && (strings.Contains(msg, "denied the request") || strings.Contains(msg, "denied request")):
		return ruleDump.ReplaceAllString(msg, "rule $1")
	}
	return "" // no right to write CRDs, a conflict, a timeout: the sync's to meet
}

// ruleDump is how the apiserver prints a CEL rule it refuses (Go's %#v of
// its ValidationRule): the rule's text is what a reader needs of it.
var ruleDump = regexp.MustCompile(`apiextensions\.ValidationRule\{Rule:("(?:[^"\\]|\\.)*")[^}]*\}`)

// copiedController finds, among a CRD's grants, a controller a sync brings
// along: one of workloads (Deployments, StatefulSets, DaemonSets) in a
// namespace sync copies (not a system one) whose pods run as the granted
// ServiceAccount. It returns the workloads and the first grant that has
// any. The workloads are every one running as a ServiceAccount the same
// role grants it to through the same binding: Knative's controller and autoscaler
// share a ServiceAccount, Flux binds one role on all its CRDs to each of
// its seven controllers, and which of them acts on the CRD the grant does
// not say. Without one, whoever runs the CRD's controller must install it
// in the target (kube-system's add-ons, for one).
func copiedController(workloads []*unstructured.Unstructured, gs []plan.Grant) (string, plan.Grant, bool) {
	runAs := func(g plan.Grant) []string {
		var found []string
		for _, o := range workloads {
			if o.GetNamespace() != g.ServiceAccount.Namespace {
				continue
			}
			spec, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec")
			podSpec, _ := spec.(map[string]any)
			if plan.PodServiceAccount(podSpec) == g.ServiceAccount.Name {
				found = append(found, Ref(o))
			}
		}
		return found
	}
	for i, g := range gs {
		if plan.SystemNamespace(g.ServiceAccount.Namespace) {
			continue
		}
		found := runAs(g)
		if len(found) == 0 {
			continue
		}
		for _, other := range gs[i+1:] {
			if other.Role == g.Role && other.Binding == g.Binding &&
				other.ServiceAccount != g.ServiceAccount && !plan.SystemNamespace(other.ServiceAccount.Namespace) {
				found = append(found, runAs(other)...)
			}
		}
		slices.Sort(found)
		return strings.Join(slices.Compact(found), ", "), g, true
	}
	return "", plan.Grant{}, false
}

func moreGrants(gs []plan.Grant) string {
	if len(gs) < 2 {
		return ""
	}
	return fmt.Sprintf(" (and %d more grants)", len(gs)-1)
}
