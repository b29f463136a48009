package apply

// How one object is written: a create when the target has no copy, else a
// server-side apply; either way answered with the object's metadata only.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"k8s.io/client-go/util/retry"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// write is a step's write: a create when the target has no copy (cheaper
// for the apiserver than an apply; plan.CreateManager), else an apply, the
// fields tandem created made its apply's first (upgrade).
func (r *runner) write(ctx context.Context, s plan.Step, body []byte, res *Result) (*unstructured.Unstructured, error) {
	if s.Action == plan.Create && !r.o.ApplyOnly && r.target.REST != nil {
		out, err := r.withRetry(ctx, s, res, func() (*unstructured.Unstructured, error) { return r.create(ctx, s, body) })
		if !apierrors.IsAlreadyExists(err) {
			return out, err
		}
		if made := sanitize.MadeCRD(s.Ref.GroupVersionKind().GroupKind(), s.Ref.Owners); made != "" {
			// The target's operator made it since the plan read the
			// target: its own, as plan.decide leaves one it finds.
			return nil, &madeMeanwhile{owner: made}
		}
		// Made since the plan read the target: an apply, which respects
		// whoever made it.
	} else if s.Upgrade {
		if err := r.upgrade(ctx, s); err != nil {
			return nil, fmt.Errorf("move the fields tandem created to its apply: %w", err)
		}
	}
	return r.ssaWithRetry(ctx, s, body, res)
}

// madeMeanwhile is the end of a write of a CRD an operator makes
// (sanitize.MadeCRD) that the target's operator made while the sync ran.
type madeMeanwhile struct{ owner string }

func (e *madeMeanwhile) Error() string {
	return "made in the target by the controller of its owner " + e.owner + " while the sync ran: left to it"
}

// create creates s's object from body and answers its identity.
func (r *runner) create(ctx context.Context, s plan.Step, body []byte) (*unstructured.Unstructured, error) {
	ns := ""
	if s.Namespaced {
		ns = s.Ref.Namespace
	}
	result := r.target.REST.Post().AbsPath(cluster.ResourcePath(s.Resource, ns)...).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", metadataAccept).
		Param("fieldManager", plan.CreateManager).
		Body(body).Do(ctx)
	if err := result.Error(); err != nil {
		return nil, err
	}
	obj, err := result.Get()
	if runtime.IsNotRegisteredError(err) {
		// A server that cannot answer with metadata alone (an aggregated
		// API) answers the object: its metadata is read from it.
		raw, err := result.Raw()
		if err != nil {
			return nil, err
		}
		var out metav1.PartialObjectMetadata
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("create %s: the answer: %w", journalKey(s), err)
		}
		return identityOf(s, &out), nil
	}
	if err != nil {
		return nil, err
	}
	out, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return nil, fmt.Errorf("create %s: answered %T, not the object's metadata", journalKey(s), obj)
	}
	return identityOf(s, out), nil
}

// metadataAccept asks for an answer of the object's metadata only, as the
// metadata client does.
const metadataAccept = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"

// upgrade makes the fields tandem's create owns (plan.CreateManager, an
// Update entry) its apply's (plan.FieldManager), as kubectl does for
// objects it once applied client-side (client-go's csaupgrade): otherwise
// a field the source dropped would stay, owned by the create. The patch
// carries the resourceVersion it was made from: a change in between is a
// conflict, and it is made again from the new copy.
func (r *runner) upgrade(ctx context.Context, s plan.Step) error {
	ri := cluster.Scoped(r.target.Metadata.Resource(s.Resource), s.Namespaced, s.Ref.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := ri.Get(ctx, s.Ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil // gone: the apply creates it
		}
		if err != nil {
			return err
		}
		patch, err := csaupgrade.UpgradeManagedFieldsPatch(cur, sets.New(plan.CreateManager), plan.FieldManager)
		if err != nil || patch == nil {
			return err
		}
		_, err = ri.Patch(ctx, s.Ref.Name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: plan.CreateManager})
		return err
	})
}

// ssa server-side-applies body (s's object) and answers what the target made of it —
// only its identity (kind, namespace, name, uid): the apiserver is asked
// to answer with the object's metadata alone (PartialObjectMetadata, in
// protobuf), which costs it and tandem less than the whole object in JSON,
// and nothing else of it is read.
func (r *runner) ssa(ctx context.Context, s plan.Step, body []byte, dryRun bool) (*unstructured.Unstructured, error) {
	force := r.o.Force
	opts := metav1.PatchOptions{FieldManager: plan.FieldManager, Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	ri := cluster.Scoped(r.target.Metadata.Resource(s.Resource), s.Namespaced, s.Ref.Namespace)
	apply := func() (*metav1.PartialObjectMetadata, error) {
		return ri.Patch(ctx, s.Ref.Name, types.ApplyPatchType, body, opts)
	}
	out, err := apply()
	if err != nil && !force && ConflictsOnlyWithTandem(err) {
		// tandem's own non-apply writes (activate, deactivate) are no one else's: take them back.
		force = true
		out, err = apply()
	}
	if err != nil {
		return nil, err
	}
	return identityOf(s, out), nil
}

// identityOf is what the apply keeps of a written object: what names it.
func identityOf(s plan.Step, out *metav1.PartialObjectMetadata) *unstructured.Unstructured {
	applied := &unstructured.Unstructured{}
	applied.SetGroupVersionKind(s.Ref.GroupVersionKind())
	applied.SetNamespace(out.Namespace)
	applied.SetName(out.Name)
	applied.SetUID(out.UID)
	return applied
}

// ConflictsOnlyWithTandem reports whether every field conflict of an apply
// is with one of tandem's own managers (an Update by tandem itself, a
// create, which server-side apply counts as other managers).
func ConflictsOnlyWithTandem(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	causes := status.Status().Details.Causes
	if len(causes) == 0 {
		return false
	}
	for _, c := range causes {
		ours := false
		for _, m := range []string{plan.FieldManager, plan.CreateManager} {
			own := fmt.Sprintf("conflict with %q", m)
			ours = ours || strings.HasPrefix(c.Message, own+" ") || c.Message == own
		}
		if !ours {
			return false
		}
	}
	return true
}

// Preview is what the target's copy of s's object would be once an Update
// step is written: a server-side dry-run apply of the body apply would
// send (its owner references pointed at the target's owners), answered
// whole, for a diff that shows what the apply makes of the copy — fields
// other managers own stay, as they would. A conflict (without force) is
// the error.
func Preview(ctx context.Context, target *cluster.Conn, s plan.Step, force bool) (*unstructured.Unstructured, error) {
	r := NewSession(target, Options{Force: force}).r
	var res Result
	body, _, err := r.body(ctx, s, &res)
	if err != nil {
		return nil, err
	}
	ri := cluster.Scoped(target.Dynamic.Resource(s.Resource), s.Namespaced, s.Ref.Namespace)
	apply := func(force bool) (*unstructured.Unstructured, error) {
		return ri.Patch(ctx, s.Ref.Name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: plan.FieldManager, Force: &force, DryRun: []string{metav1.DryRunAll}})
	}
	out, err := apply(force)
	if err != nil && !force && ConflictsOnlyWithTandem(err) {
		out, err = apply(true) // as ssa: tandem's own writes are taken back
	}
	return out, err
}
