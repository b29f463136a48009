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
// (HeldName), then deletes c's APIService of its name: tandem's copy, or
// with whoever anyone's (deactivate holds back the cluster's own). It says
// whether it changed anything.
func Hold(ctx context.Context, c *cluster.Conn, obj *unstructured.Unstructured, whoever bool) (bool, error) {
	held := heldForm(obj)
	b, err := json.Marshal(held.Object)
	if err != nil {
		return false, err
	}
	changed, err := keep(ctx, c, obj.GetName(), string(b))
	if err != nil {
		return false, fmt.Errorf("%s: hold back APIService %s: %w", c.Context, obj.GetName(), err)
	}
	apis := c.Dynamic.Resource(gvrAPIServices)
	live, err := apis.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return changed, nil
	}
	if err != nil {
		return changed, fmt.Errorf("%s: read APIService %s: %w", c.Context, obj.GetName(), err)
	}
	if !whoever && !plan.Copied(live) {
		return changed, nil // someone else's: not tandem's to take away
	}
	uid := live.GetUID()
	err = apis.Delete(ctx, obj.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return changed, fmt.Errorf("%s: hold back APIService %s: %w", c.Context, obj.GetName(), err)
	}
	return true, nil
}

// keep writes value at key name of c's stash, made when missing; it says
// whether the stash changed.
func keep(ctx context.Context, c *cluster.Conn, name, value string) (bool, error) {
	cms := c.Typed.CoreV1().ConfigMaps(MarkerNamespace)
	cm, err := cms.Get(ctx, HeldName, metav1.GetOptions{})
	switch {
	case err == nil && cm.Data[name] == value:
		return false, nil
	case apierrors.IsNotFound(err):
		if err := EnsureStateNamespace(ctx, c); err != nil {
			return false, err
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: HeldName, Namespace: MarkerNamespace}, Data: map[string]string{name: value}}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: plan.FieldManager})
		if !apierrors.IsAlreadyExists(err) { // else another hold made it meanwhile: patched below
			return err == nil, err
		}
	case err != nil:
		return false, err
	}
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{name: value}})
	_, err = cms.Patch(ctx, HeldName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: plan.FieldManager})
	return err == nil, err
}

// heldForm is obj as it is written back: without what the apiserver sets,
// with tandem's hash.
func heldForm(obj *unstructured.Unstructured) *unstructured.Unstructured {
	o := obj.DeepCopy()
	delete(o.Object, "status")
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	plan.StampHash(o, plan.Hash(o))
	return o
}

// Unhold drops the APIService name from c's stash: the source deleted it.
func Unhold(ctx context.Context, c *cluster.Conn, name string) error {
	patch, _ := json.Marshal(map[string]any{"data": map[string]any{name: nil}})
	_, err := c.Typed.CoreV1().ConfigMaps(MarkerNamespace).Patch(ctx, HeldName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: plan.FieldManager})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: drop held APIService %s: %w", c.Context, name, err)
	}
	return nil
}

// Held lists the names of the APIServices c's stash holds.
func Held(ctx context.Context, c *cluster.Conn) ([]string, error) {
	cm, err := c.Typed.CoreV1().ConfigMaps(MarkerNamespace).Get(ctx, HeldName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range cm.Data {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// holdParkedAPIs holds back (Hold, any) each APIService of c served from a
// namespace being parked: deactivate's part.
func holdParkedAPIs(ctx context.Context, c *cluster.Conn, parked func(string) bool) ([]Change, error) {
	list, err := c.Dynamic.Resource(gvrAPIServices).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list APIServices in %s: %w", c.Context, err)
	}
	var changes []Change
	for i := range list.Items {
		obj := &list.Items[i]
		if why, _ := ParkedAPI(obj, parked); why != "" {
			if _, err := Hold(ctx, c, obj, true); err != nil {
				return changes, err
			}
			changes = append(changes, Change{Kind: "APIService", Name: obj.GetName(),
				What: fmt.Sprintf("held back until activate, in ConfigMap %s/%s: %s", MarkerNamespace, HeldName, why)})
		}
	}
	return changes, nil
}

// release writes back every APIService c's stash holds (a forced
// server-side apply: tandem held it), then deletes the stash: activate's
// part, once the backends run again.
func release(ctx context.Context, c *cluster.Conn) ([]Change, error) {
	cms := c.Typed.CoreV1().ConfigMaps(MarkerNamespace)
	cm, err := cms.Get(ctx, HeldName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read the held APIServices: %w", c.Context, err)
	}
	names := make([]string, 0, len(cm.Data))
	for name := range cm.Data {
		names = append(names, name)
	}
	slices.Sort(names)
	var changes []Change
	force := true
	for _, name := range names {
		_, err := c.Dynamic.Resource(gvrAPIServices).Patch(ctx, name, types.ApplyPatchType, []byte(cm.Data[name]),
			metav1.PatchOptions{FieldManager: plan.FieldManager, Force: &force})
		if err != nil {
			return changes, fmt.Errorf("%s: write back held APIService %s: %w", c.Context, name, err)
		}
		changes = append(changes, Change{Kind: "APIService", Name: name, What: "written back (held while standby)"})
	}
	uid := cm.UID
	err = cms.Delete(ctx, HeldName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return changes, fmt.Errorf("%s: delete ConfigMap %s/%s: %w", c.Context, MarkerNamespace, HeldName, err)
	}
	return changes, nil
}
