package volume

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// clearTarget deletes the claim of the same name that the target's owner made
// for itself (an empty, dynamically provisioned volume), so the saved claim
// can take its place. A claim that may hold data (another handoff's, or one
// on a PV that is not Delete) is never deleted.
func (h *Handoff) clearTarget(ctx context.Context, v Volume) error {
	dst := h.Target.Typed.CoreV1()
	pvc, err := dst.PersistentVolumeClaims(v.Namespace).Get(ctx, v.Claim, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: claim %s: %w", h.Target.Context, v, err)
	}
	run, made := pvc.Annotations[AnnotationRun]
	switch {
	case run == h.Run:
		return nil // made by this run before a crash: the next step takes it
	case made:
		// Another handoff's claim holds a volume handed over before: its
		// PV has the source's reclaim policy back, Delete as often as not.
		return fmt.Errorf("claim %s in %s was made by handoff run %s%s: it holds a volume handed over before; not deleted", v, h.Target.Context, run, boundTo(pvc))
	}
	if !h.ReplaceTargetClaims {
		return fmt.Errorf("claim %s in %s was not made by a handoff%s: not deleted (pass --replace-target-claims to allow it)", v, h.Target.Context, boundTo(pvc))
	}
	if name := pvc.Spec.VolumeName; name != "" {
		if name == v.PV {
			return fmt.Errorf("claim %s in %s (not made by this handoff) names PV %s: delete it if it is not yours", v, h.Target.Context, name)
		}
		pv, err := dst.PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s: PV %s: %w", h.Target.Context, name, err)
		}
		if err == nil && pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
			return fmt.Errorf("claim %s in %s is bound to PV %s with reclaim policy %s: it may hold data; delete the claim yourself if it is empty",
				v, h.Target.Context, name, pv.Spec.PersistentVolumeReclaimPolicy)
		}
	}
	return deleteClaim(ctx, h.watchOf(h.Target), v, pvc.UID, h.Timeout)
}

// createPVC creates the saved claim in the target, naming the PV so that only
// that PV can bind it, and returns its uid.
func (h *Handoff) createPVC(ctx context.Context, v Volume) (map[string]string, error) {
	saved, _, err := h.saved(v)
	if err != nil {
		return nil, err
	}
	got, err := createClaim(ctx, h.Target, v, saved, h.Run)
	if err != nil {
		return nil, err
	}
	return map[string]string{DetailUID: string(got.UID)}, nil
}

// createClaim creates the saved claim in c marked with run, naming the PV so
// that only that PV can bind it; the claim run made before a crash is taken.
func createClaim(ctx context.Context, c *cluster.Conn, v Volume, saved *corev1.PersistentVolumeClaim, run string) (*corev1.PersistentVolumeClaim, error) {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: v.Claim, Namespace: v.Namespace, Labels: saved.Labels, Annotations: cleanAnnotations(saved.Annotations)},
		Spec:       saved.Spec,
	}
	pvc.Annotations[AnnotationRun] = run
	pvc.Spec.VolumeName = v.PV
	claims := c.Typed.CoreV1().PersistentVolumeClaims(v.Namespace)
	got, err := claims.Create(ctx, pvc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = claims.Get(ctx, v.Claim, metav1.GetOptions{})
		if err == nil && (got.Annotations[AnnotationRun] != run || got.Spec.VolumeName != v.PV) {
			return nil, fmt.Errorf("claim %s appeared in %s while the handoff ran (not made by it): remove it and re-run", v, c.Context)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: create claim %s: %w", c.Context, v, err)
	}
	return got, nil
}

// createPV creates the saved PV in the target already bound to the new
// claim's uid: it is never Available, and no other claim can take it.
func (h *Handoff) createPV(ctx context.Context, v Volume) error {
	uid := types.UID(h.detail(v.Key(), StepCreatePVC)[DetailUID])
	if uid == "" {
		return fmt.Errorf("journal: no uid recorded for claim %s", v)
	}
	_, saved, err := h.saved(v)
	if err != nil {
		return err
	}
	if err := createBoundPV(ctx, h.Target, v, saved, uid, h.Run); err != nil {
		return err
	}
	return nudge(ctx, h.Target, v)
}

// createBoundPV creates the saved PV in c, Retain, marked with run and
// pre-bound to the claim with uid; a PV of that name bound elsewhere is refused.
func createBoundPV(ctx context.Context, c *cluster.Conn, v Volume, saved *corev1.PersistentVolume, uid types.UID, run string) error {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: v.PV, Labels: saved.Labels, Annotations: cleanAnnotations(saved.Annotations)},
		Spec:       saved.Spec,
	}
	pv.Annotations[AnnotationRun] = run
	pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: v.Namespace, Name: v.Claim, UID: uid}
	pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	pvs := c.Typed.CoreV1().PersistentVolumes()
	if _, err := pvs.Create(ctx, pv, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		got, gerr := pvs.Get(ctx, v.PV, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("%s: PV %s: %w", c.Context, v.PV, gerr)
		}
		if got.Spec.ClaimRef == nil || got.Spec.ClaimRef.UID != uid {
			return fmt.Errorf("PV %s already exists in %s claimed by %s: not ours", v.PV, c.Context, claimRefString(got.Spec.ClaimRef))
		}
	} else if err != nil {
		return fmt.Errorf("%s: create PV %s: %w", c.Context, v.PV, err)
	}
	return nil
}

// nudge updates the claim's AnnotationPVCreated. Older PV controllers
// (v1.30) bind a pre-bound pair only when the claim is synced again, which
// their periodic resync does after up to 15 s; an update makes it happen now.
func nudge(ctx context.Context, c *cluster.Conn, v Volume) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, AnnotationPVCreated, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := c.Typed.CoreV1().PersistentVolumeClaims(v.Namespace).Patch(ctx, v.Claim, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("%s: claim %s: %w", c.Context, v, err)
	}
	return nil
}

// releaseSource deletes the saved claim and PV from the source. The PV is
// Retain, so the disk stays; only objects with the saved uids are deleted.
func (h *Handoff) releaseSource(ctx context.Context, v Volume) error {
	savedPVC, savedPV, err := h.saved(v)
	if err != nil {
		return err
	}
	src := h.Source.Typed.CoreV1()
	// Retain is checked right before each delete that could release the
	// disk: a claim deleted while its PV is Delete takes the disk with it.
	retained := func() (*corev1.PersistentVolume, error) {
		pv, err := src.PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("%s: PV %s: %w", h.Source.Context, v.PV, err)
		case pv.UID != savedPV.UID:
			return nil, fmt.Errorf("PV %s in %s is a new one (uid %s, saved %s): left alone", v.PV, h.Source.Context, pv.UID, savedPV.UID)
		case pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain:
			return nil, fmt.Errorf("PV %s in %s is not Retain (%s) any more: neither it nor its claim deleted", v.PV, h.Source.Context, pv.Spec.PersistentVolumeReclaimPolicy)
		}
		return pv, nil
	}
	if _, err := retained(); err != nil {
		return err
	}
	pvc, err := src.PersistentVolumeClaims(v.Namespace).Get(ctx, v.Claim, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("%s: claim %s: %w", h.Source.Context, v, err)
	case pvc.UID != savedPVC.UID:
		return fmt.Errorf("claim %s in %s is a new one (uid %s, saved %s): scale the owner in the source to 0 and delete it", v, h.Source.Context, pvc.UID, savedPVC.UID)
	default:
		if err := deleteClaim(ctx, h.watchOf(h.Source), v, pvc.UID, h.Timeout); err != nil {
			return err
		}
	}
	pv, err := retained()
	if err != nil || pv == nil {
		return err
	}
	return deletePV(ctx, h.watchOf(h.Source), v.PV, pv.UID, h.Timeout)
}

// deleteClaim deletes the claim with uid from w's cluster (a uid
// precondition: never a claim that took its name since) and waits until it
// is gone.
func deleteClaim(ctx context.Context, w *watch, v Volume, uid types.UID, timeout time.Duration) error {
	c := w.conn
	err := c.Typed.CoreV1().PersistentVolumeClaims(v.Namespace).Delete(ctx, v.Claim, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: delete claim %s: %w", c.Context, v, err)
	}
	claims, err := w.claims(ctx, v.Namespace)
	if err != nil {
		return err
	}
	return w.until(ctx, timeout, safetyTick, func() (bool, string, error) {
		got, err := claims.Get(v.Claim)
		if apierrors.IsNotFound(err) || (err == nil && got.UID != uid) {
			return true, "", nil
		}
		return false, fmt.Sprintf("claim %s still exists in %s", v, c.Context), err
	})
}

// deletePV deletes the PV with uid from w's cluster and waits until it is
// gone; the caller has checked it is Retain (the disk stays).
func deletePV(ctx context.Context, w *watch, name string, uid types.UID, timeout time.Duration) error {
	c := w.conn
	err := c.Typed.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: delete PV %s: %w", c.Context, name, err)
	}
	pvs, err := w.volumes(ctx)
	if err != nil {
		return err
	}
	return w.until(ctx, timeout, safetyTick, func() (bool, string, error) {
		got, err := pvs.Get(name)
		if apierrors.IsNotFound(err) || (err == nil && got.UID != uid) {
			return true, "", nil
		}
		return false, fmt.Sprintf("PV %s still exists in %s", name, c.Context), err
	})
}

// cleanAnnotations copies a without the binding controllers' annotations.
func cleanAnnotations(a map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range bindAnnotations {
		delete(out, k)
	}
	return out
}
