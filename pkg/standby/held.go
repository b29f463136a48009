package standby

// The aggregated APIs a standby holds back. An APIService served from a
// parked namespace (prometheus-adapter's metrics, KEDA's external metrics)
// would answer nothing in a standby, and a cluster whose discovery of one
// group fails holds every namespace deleted there in Terminating (the
// namespace controller deletes nothing it cannot discover) and makes every
// kubectl warn. So a standby does not have it: sync, the mirror and
// deactivate keep it in a ConfigMap of the cluster (HeldName), and activate
// writes it back once its backend runs again.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// HeldName is the ConfigMap, in MarkerNamespace, holding the APIServices a
// standby holds back: one key per APIService name, its JSON as tandem
// writes it.
const HeldName = "tandem-held-apiservices"

// holdAPI is the standby's decision on an APIService served from a parked
// namespace (parked): held back (Skip, Held), with why.
func holdAPI(obj *unstructured.Unstructured, parked func(namespace string) bool) sanitize.Decision {
	why, ns := ParkedAPI(obj, parked)
	if why == "" {
		return sanitize.Decision{}
	}
	return sanitize.Decision{Skip: true, Held: true, Reason: fmt.Sprintf(
		"standby: held back until activate, in ConfigMap %s/%s: %s (label namespace %s %s=true in the source to keep it running)",
		MarkerNamespace, HeldName, why, ns, ExemptLabel)}
}

// Hold keeps obj, an APIService as tandem writes it, in c's stash
// (HeldName), then deletes c's APIService of its name: tandem's copy —
// or, with whoever, whoever made it (deactivate holds back the cluster's
// own). Without whoever, c must be standby, and an APIService of that name
// that someone else made there is left as it is and obj not held (held
// false): it is theirs, and so is what it answers. changed says whether
// Hold wrote anything.
func Hold(ctx context.Context, c *cluster.Conn, obj *unstructured.Unstructured, whoever bool) (held, changed bool, err error) {
	apis := c.Dynamic.Resource(cluster.APIServices)
	live, err := apis.Get(ctx, obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return false, false, fmt.Errorf("%s: read APIService %s: %w", c.Context, obj.GetName(), err)
	case !whoever && !plan.Copied(live):
		return false, false, nil // someone else's: not tandem's to take away
	}
	if !whoever {
		standby, err := IsStandby(ctx, c)
		if err != nil {
			return false, false, err
		}
		if !standby {
			return false, false, fmt.Errorf("%w: %s is not standby: an APIService is held back only in a standby", ErrNotStandby, c.Context)
		}
	}
	b, err := json.Marshal(heldForm(obj, !whoever).Object)
	if err != nil {
		return false, false, err
	}
	if changed, err = keep(ctx, c, obj.GetName(), string(b)); err != nil {
		return false, false, fmt.Errorf("%s: hold back APIService %s: %w", c.Context, obj.GetName(), err)
	}
	if live == nil {
		return true, changed, nil
	}
	uid := live.GetUID()
	err = apis.Delete(ctx, obj.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return true, changed, fmt.Errorf("%s: hold back APIService %s: %w", c.Context, obj.GetName(), err)
	}
	return true, true, nil
}

// HoldBack is what a copy into a standby c does with its APIServices:
// holds back those it decided to (held: Hold), and drops from the stash
// those it wrote (written: their backends run here now, as their
// namespace became exempt). It says what it did, a line each.
func HoldBack(ctx context.Context, c *cluster.Conn, held []*unstructured.Unstructured, written []string) ([]string, error) {
	var said []string
	for _, o := range held {
		ok, _, err := Hold(ctx, c, o, false)
		if err != nil {
			return said, err
		}
		if ok {
			said = append(said, fmt.Sprintf("%s: APIService %s held back until activate (in ConfigMap %s/%s): its backend is parked", c.Context, o.GetName(), MarkerNamespace, HeldName))
		} else {
			said = append(said, fmt.Sprintf("%s: APIService %s not held back: the one there is someone else's (not tandem's copy), and answers nothing while its backend is parked", c.Context, o.GetName()))
		}
	}
	for _, name := range written {
		dropped, err := Unhold(ctx, c, name)
		if err != nil {
			return said, err
		}
		if dropped {
			said = append(said, fmt.Sprintf("%s: APIService %s no longer held back: written as the source has it (its backend runs here)", c.Context, name))
		}
	}
	return said, nil
}

// stash reads c's stash; nil, and no error, when c holds nothing back.
func stash(ctx context.Context, c *cluster.Conn) (*corev1.ConfigMap, error) {
	cm, err := c.Typed.CoreV1().ConfigMaps(MarkerNamespace).Get(ctx, HeldName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read the held APIServices: %w", c.Context, err)
	}
	return cm, nil
}

// keep writes value at key name of c's stash, made when missing; it says
// whether the stash changed.
func keep(ctx context.Context, c *cluster.Conn, name, value string) (bool, error) {
	cms := c.Typed.CoreV1().ConfigMaps(MarkerNamespace)
	cm, err := stash(ctx, c)
	switch {
	case err != nil:
		return false, err
	case cm != nil && cm.Data[name] == value:
		return false, nil
	case cm == nil:
		if err := EnsureStateNamespace(ctx, c); err != nil {
			return false, err
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: HeldName, Namespace: MarkerNamespace}, Data: map[string]string{name: value}}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: plan.FieldManager})
		if !apierrors.IsAlreadyExists(err) { // else another hold made it meanwhile: patched below
			return err == nil, err
		}
	}
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{name: value}})
	_, err = cms.Patch(ctx, HeldName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: plan.FieldManager})
	return err == nil, err
}

// heldForm is obj as it is written back: without what the apiserver sets
// or its owners (their UIDs are another cluster's, or gone: the next sync
// writes them as the target has them); with tandem's hash when it is a
// copy (copy), so that the next sync finds it unchanged — the cluster's
// own (deactivate's) is written back without one: it stays no copy of
// tandem's, which a prune would take.
func heldForm(obj *unstructured.Unstructured, copy bool) *unstructured.Unstructured {
	o := obj.DeepCopy()
	delete(o.Object, "status")
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "ownerReferences"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	if copy {
		plan.StampHash(o, plan.Hash(o))
	} else {
		unstructured.RemoveNestedField(o.Object, "metadata", "annotations", plan.HashAnnotation)
	}
	return o
}

// Unhold drops the APIService name from c's stash (the source deleted
// it, or it is written now), saying whether it was there.
func Unhold(ctx context.Context, c *cluster.Conn, name string) (bool, error) {
	cm, err := stash(ctx, c)
	if err != nil || cm == nil {
		return false, err
	}
	if _, ok := cm.Data[name]; !ok {
		return false, nil
	}
	patch, _ := json.Marshal(map[string]any{"data": map[string]any{name: nil}})
	_, err = c.Typed.CoreV1().ConfigMaps(MarkerNamespace).Patch(ctx, HeldName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: plan.FieldManager})
	if err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("%s: drop held APIService %s: %w", c.Context, name, err)
	}
	return true, nil
}

// Held lists the names of the APIServices c's stash holds.
func Held(ctx context.Context, c *cluster.Conn) ([]string, error) {
	cm, err := stash(ctx, c)
	if err != nil || cm == nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(cm.Data)), nil
}

// HeldBackend says whether c's stash holds the APIService name back, and
// the namespace of its backend.
func HeldBackend(ctx context.Context, c *cluster.Conn, name string) (namespace string, held bool, err error) {
	cm, err := stash(ctx, c)
	if err != nil || cm == nil {
		return "", false, err
	}
	v, ok := cm.Data[name]
	if !ok {
		return "", false, nil
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON([]byte(v)); err == nil {
		namespace, _, _ = unstructured.NestedString(obj.Object, "spec", "service", "namespace")
	}
	return namespace, true, nil
}

// holdParkedAPIs holds back (Hold, any) each APIService of c served from a
// namespace being parked: deactivate's part.
func holdParkedAPIs(ctx context.Context, c *cluster.Conn, parked func(string) bool) ([]Change, error) {
	list, err := c.Dynamic.Resource(cluster.APIServices).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list APIServices in %s: %w", c.Context, err)
	}
	var changes []Change
	for i := range list.Items {
		obj := &list.Items[i]
		if why, _ := ParkedAPI(obj, parked); why != "" {
			if _, _, err := Hold(ctx, c, obj, true); err != nil {
				return changes, err
			}
			changes = append(changes, Change{Kind: "APIService", Name: obj.GetName(),
				What: fmt.Sprintf("held back until activate, in ConfigMap %s/%s: %s", MarkerNamespace, HeldName, why)})
		}
	}
	return changes, nil
}

// release writes back every APIService c's stash holds, then deletes the
// stash: activate's part, once the backends run again. The write takes no
// fields from someone else: an APIService someone made meanwhile is left
// as it is, said. (One the source deleted while no mirror ran is written
// back too: a copy tandem made, which the next sync or mirror with
// --prune deletes.)
func release(ctx context.Context, c *cluster.Conn) ([]Change, error) {
	cms := c.Typed.CoreV1().ConfigMaps(MarkerNamespace)
	var changes []Change
	for attempt := 0; ; attempt++ {
		cm, err := stash(ctx, c)
		if err != nil || cm == nil {
			return changes, err
		}
		changes = changes[:0]
		for _, name := range slices.Sorted(maps.Keys(cm.Data)) {
			ch, err := writeBack(ctx, c, name, cm.Data[name])
			if err != nil {
				return changes, err
			}
			changes = append(changes, ch)
		}
		// Only the stash as read: a hold landing meanwhile is written back on the next round.
		uid, rv := cm.UID, cm.ResourceVersion
		err = cms.Delete(ctx, HeldName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return changes, nil
		case apierrors.IsConflict(err) && attempt < 5:
			continue
		}
		return changes, fmt.Errorf("%s: delete ConfigMap %s/%s: %w", c.Context, MarkerNamespace, HeldName, err)
	}
}

// writeBack writes the held APIService name (its JSON) into c, and says what it did.
func writeBack(ctx context.Context, c *cluster.Conn, name, held string) (Change, error) {
	ch := Change{Kind: "APIService", Name: name}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON([]byte(held)); err != nil {
		ch.What = "dropped: its held form cannot be read (" + err.Error() + ")"
		return ch, nil
	}
	force := false
	_, err := c.Dynamic.Resource(cluster.APIServices).Patch(ctx, name, types.ApplyPatchType, []byte(held), metav1.PatchOptions{FieldManager: plan.FieldManager, Force: &force})
	if apierrors.IsConflict(err) {
		ch.What = "left as it is: someone made it meanwhile (" + err.Error() + ")"
		return ch, nil
	}
	if err != nil {
		return ch, fmt.Errorf("%s: write back held APIService %s: %w", c.Context, name, err)
	}
	ch.What = "written back (held while standby)"
	return ch, nil
}
