package apply

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// ownerIndex maps owners to their UIDs in the target, filled from the
// target's current objects and from what this run applies. It holds every
// cluster-scoped object it is given (few), and of the namespaced ones only
// those some step of the plans seen names as its owner — not one entry per
// object written.
type ownerIndex struct {
	mu   sync.RWMutex
	uids map[string]types.UID
	// wanted are the namespaced owners the steps name (ownerKey).
	wanted map[string]bool
	// absent are the owners read from the target and not taken there (not
	// found, not tandem's, being deleted), by the key they were asked by:
	// the dependents of one owner of a later wave, or outside the run's
	// selection, read it once. Once this run writes the owner, the index
	// has it.
	absent map[string]bool
}

func newOwnerIndex() *ownerIndex {
	return &ownerIndex{uids: map[string]types.UID{}, wanted: map[string]bool{}, absent: map[string]bool{}}
}

func ownerKey(group, kind, namespace, name string) string {
	return group + "/" + kind + "/" + namespace + "/" + name
}

// seed learns which owners p's steps name, and remembers the target's
// current copies of p's objects.
func (ix *ownerIndex) seed(p plan.Plan) {
	for _, w := range p.Waves {
		for _, s := range w.Steps {
			ix.want(s.Ref.Namespace, s.Ref.Owners)
		}
	}
	for _, w := range p.Waves {
		for _, s := range w.Steps {
			ix.rememberStep(s)
		}
	}
}

// want learns the owners an object in namespace names: their UIDs are
// kept when they are seen (a cluster-scoped object's owners are
// cluster-scoped, and those are all kept).
func (ix *ownerIndex) want(namespace string, owners []metav1.OwnerReference) {
	if namespace == "" || len(owners) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, ref := range owners {
		gv, _ := schema.ParseGroupVersion(ref.APIVersion)
		ix.wanted[ownerKey(gv.Group, ref.Kind, namespace, ref.Name)] = true
	}
}

// rememberStep remembers the target's copy of a step's object, if it has one.
func (ix *ownerIndex) rememberStep(s plan.Step) {
	if s.TargetUID != "" {
		ix.add(s.Ref.GroupVersionKind().Group, s.Ref.Kind, s.Ref.Namespace, s.Ref.Name, s.TargetUID)
	}
}

// remember remembers an object as the target has it (what an apply answered).
func (ix *ownerIndex) remember(obj *unstructured.Unstructured) {
	if obj != nil && obj.GetUID() != "" {
		ix.add(obj.GroupVersionKind().Group, obj.GetKind(), obj.GetNamespace(), obj.GetName(), obj.GetUID())
	}
}

func (ix *ownerIndex) add(group, kind, namespace, name string, uid types.UID) {
	key := ownerKey(group, kind, namespace, name)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if namespace != "" && !ix.wanted[key] {
		return
	}
	ix.uids[key] = uid
}

// lookup finds the owner a reference of an object in namespace names: in
// that namespace, or cluster-scoped (a namespaced owner is never taken
// from another namespace).
func (ix *ownerIndex) lookup(apiVersion, kind, namespace, name string) (types.UID, bool) {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if uid, ok := ix.uids[ownerKey(gv.Group, kind, namespace, name)]; ok {
		return uid, true
	}
	uid, ok := ix.uids[ownerKey(gv.Group, kind, "", name)]
	return uid, ok
}

// ownerLookup finds an owner's UID in the target: in the index, else by
// reading it there — an owner this run neither wrote nor read (not in its
// selection, written by an earlier run; a mirror's change, which writes one
// object). What it reads is taken only when tandem wrote it (its hash, or
// its field managers: a copy of the source's owner, not an object of the
// target's own that happens to have the name) and it is not being deleted
// (a reference to it would have the garbage collector delete the object
// with it); it is then kept in the index. An owner of a kind the target
// does not serve, or that is not there, is not found. A read that failed
// otherwise (the target away, throttling) is not taken for "not there":
// *failed says why, and the object is not written without the reference.
func (r *runner) ownerLookup(ctx context.Context, failed *error) func(apiVersion, kind, namespace, name string) (types.UID, bool) {
	return func(apiVersion, kind, namespace, name string) (types.UID, bool) {
		if uid, ok := r.owners.lookup(apiVersion, kind, namespace, name); ok {
			return uid, true
		}
		if r.target.Mapper == nil || r.target.Metadata == nil {
			return "", false
		}
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return "", false
		}
		asked := ownerKey(gv.Group, kind, namespace, name)
		ix := r.owners
		ix.mu.RLock()
		absent := ix.absent[asked]
		ix.mu.RUnlock()
		if absent {
			return "", false
		}
		// The mapper as discovery last found it, not reset on a miss: an
		// owner's kind the target does not serve is common (not copied),
		// and a reset costs a whole discovery. A version the target does
		// not serve is mapped to one it does.
		gk := schema.GroupKind{Group: gv.Group, Kind: kind}
		mapping, err := r.target.Mapper.RESTMapping(gk, gv.Version)
		if err != nil {
			if mapping, err = r.target.Mapper.RESTMapping(gk); err != nil {
				return "", false
			}
		}
		namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
		if !namespaced {
			namespace = ""
		}
		var found *metav1.PartialObjectMetadata
		_, err = cluster.Retry(ctx, r.o.Retries, cluster.Retryable, func() error {
			var err error
			found, err = cluster.Scoped(r.target.Metadata.Resource(mapping.Resource), namespaced, namespace).Get(ctx, name, metav1.GetOptions{})
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) {
			*failed = fmt.Errorf("read owner %s %s in the target: %w", kind, name, err)
			return "", false
		}
		ix.mu.Lock()
		defer ix.mu.Unlock()
		if err != nil || found.DeletionTimestamp != nil || !plan.WrittenByTandem(found) {
			ix.absent[asked] = true
			return "", false
		}
		ix.uids[ownerKey(gv.Group, kind, namespace, name)] = found.UID
		return found.UID, true
	}
}
