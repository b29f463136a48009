package volume

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DirectionRecover is the rollback of a handoff that did not finish: from
// whatever step each volume reached, every volume goes back to the source,
// bound to a claim of its original name, and the owners of both clusters go
// back to the replicas recorded before the handoff touched them.
const DirectionRecover = "recover"

// Steps of a recovery, in order (Source and Target are the interrupted
// handoff's: the recovery moves towards the source).
const (
	StepStopTarget    = "stop-target"    // owner: target owner at 0, no pod mounts the volumes there
	StepRestoreSource = "restore-source" // volume: the source claim of the original name Bound to the PV, pre-bound by uid
	StepRemoveTarget  = "remove-target"  // volume: the claim and PV the handoff made in the target deleted (Retain keeps the disk)
	StepSourceBack    = "source-back"    // owner: source owner at its recorded replicas, ready
	StepTargetBack    = "target-back"    // owner: target owner at the replicas it had before the handoff
)

// RecoverSteps is every step of a recovery in the order it runs.
var RecoverSteps = []string{StepStopTarget, StepRestoreSource, StepRemoveTarget, StepReclaimPolicy, StepSourceBack, StepTargetBack}

// DetailOrigin is the journal detail of a recovery's start record: the
// interrupted handoff it undoes (Origin as JSON).
const DetailOrigin = "origin"

// Origin is what a recovery needs of the interrupted handoff: its run id
// (which marks the claims it made), its done steps and its first intents
// (saved definitions, uids, recorded replicas).
type Origin struct {
	Run     string `json:"run"`
	State   State  `json:"state"`
	Intents State  `json:"intents"`
}

// replicas returns the count the handoff recorded for owner o at step (from
// the done record, else from the intent written before it acted).
func (o *Origin) replicas(ow Owner, step string) (int32, bool) {
	sk := StepKey(ow.Key(), step)
	rec, ok := o.State[sk][DetailReplicas]
	if !ok {
		rec, ok = o.Intents[sk][DetailReplicas]
	}
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rec)
	return int32(n), err == nil
}

// saved returns the definitions the handoff saved, or nil before its save step.
func (o *Origin) saved(v Volume) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume, error) {
	d, ok := o.State[StepKey(v.Key(), StepSave)]
	if !ok {
		return nil, nil, nil
	}
	return decodeSaved(v, d)
}

func (h *Handoff) recoverOwnerStep(ctx context.Context, o Owner, step string) (map[string]string, error) {
	switch step {
	case StepStopTarget:
		if _, touched := h.Origin.replicas(o, StepScaleTarget); !touched {
			return nil, nil // the handoff never reached the target's owners
		}
		if err := setReplicas(ctx, h.Target, o, 0); err != nil {
			return nil, err
		}
		return nil, waitOwnerPodsGone(ctx, h.Target, o, h.Timeout)
	case StepSourceBack, StepTargetBack:
		c, from := h.Source, StepScaleSource
		if step == StepTargetBack {
			c, from = h.Target, StepScaleTarget
		}
		n, ok := h.Origin.replicas(o, from)
		if !ok {
			return nil, nil // never scaled: nothing to give back
		}
		if err := setReplicas(ctx, c, o, n); err != nil {
			return nil, err
		}
		return map[string]string{DetailReplicas: strconv.Itoa(int(n))}, waitReady(ctx, c, o, n, h.Timeout)
	}
	return nil, fmt.Errorf("unknown recovery step %q", step)
}

func (h *Handoff) recoverVolumeStep(ctx context.Context, v Volume, step string) (map[string]string, error) {
	switch step {
	case StepRestoreSource:
		return h.restoreSource(ctx, v)
	case StepRemoveTarget:
		return nil, h.removeTarget(ctx, v)
	case StepReclaimPolicy:
		return nil, h.policyBackInSource(ctx, v)
	}
	return nil, fmt.Errorf("unknown recovery step %q", step)
}

// restoreSource makes the source hold the volume again. Where the handoff
// had not deleted the source claim yet, the original binding stands; where
// it had, a claim of the original name is created from the saved definition
// and the PV (the Released original, or a new one from the saved definition)
// is pre-bound to that claim's uid — never bound by name alone.
func (h *Handoff) restoreSource(ctx context.Context, v Volume) (map[string]string, error) {
	savedPVC, savedPV, err := h.Origin.saved(v)
	if err != nil {
		return nil, err
	}
	claims := h.Source.Typed.CoreV1().PersistentVolumeClaims(v.Namespace)
	pvc, err := claims.Get(ctx, v.Claim, metav1.GetOptions{})
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s: claim %s: %w", h.Source.Context, v, err)
	case err == nil && pvc.Annotations[AnnotationRun] != h.Run:
		// The original claim (or one that is not ours: then its binding says so).
		if pvc.Spec.VolumeName != v.PV || (savedPVC != nil && pvc.UID != savedPVC.UID) {
			return nil, fmt.Errorf("claim %s in %s is not the one the handoff took (volume %q, uid %s): remove it if it is not yours and re-run", v, h.Source.Context, pvc.Spec.VolumeName, pvc.UID)
		}
		return nil, waitBound(ctx, h.watchOf(h.Source), v, pvc.UID, false, h.Timeout)
	case err != nil && savedPVC == nil:
		return nil, fmt.Errorf("claim %s is gone from %s and the journal holds no saved definition of it", v, h.Source.Context)
	case err != nil:
		if pvc, err = createClaim(ctx, h.Source, v, savedPVC, h.Run); err != nil {
			return nil, err
		}
	}
	if err := h.rebindPV(ctx, v, savedPV, pvc.UID); err != nil {
		return nil, err
	}
	return map[string]string{DetailUID: string(pvc.UID)}, waitBound(ctx, h.watchOf(h.Source), v, pvc.UID, true, h.Timeout)
}

// rebindPV points the source PV at the claim with uid: the original PV object
// (Released since its claim was deleted) gets a new claimRef; a PV the
// handoff already deleted is created again from the saved definition.
func (h *Handoff) rebindPV(ctx context.Context, v Volume, saved *corev1.PersistentVolume, uid types.UID) error {
	pvs := h.Source.Typed.CoreV1().PersistentVolumes()
	pv, err := pvs.Get(ctx, v.PV, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return createBoundPV(ctx, h.Source, v, saved, uid, h.Run)
	case err != nil:
		return fmt.Errorf("%s: PV %s: %w", h.Source.Context, v.PV, err)
	case pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == uid:
		return nil
	case pv.UID != saved.UID:
		return fmt.Errorf("PV %s in %s is not the one the handoff took (uid %s, saved %s): left alone", v.PV, h.Source.Context, pv.UID, saved.UID)
	case pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain:
		return fmt.Errorf("PV %s in %s is not Retain (%s): not rebound", v.PV, h.Source.Context, pv.Spec.PersistentVolumeReclaimPolicy)
	}
	ref, _ := json.Marshal(corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: v.Namespace, Name: v.Claim, UID: uid})
	// A JSON patch replaces claimRef whole (a merge patch would keep its old resourceVersion),
	// and the test operation fails it if the PV changed meanwhile.
	patch := fmt.Appendf(nil, `[{"op":"test","path":"/metadata/uid","value":%q},{"op":"replace","path":"/spec/claimRef","value":%s}]`, pv.UID, ref)
	if _, err := pvs.Patch(ctx, v.PV, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("%s: PV %s: pre-bind to claim %s: %w", h.Source.Context, v.PV, v, err)
	}
	return nil
}

// removeTarget deletes the claim and the PV the interrupted handoff made in
// the target: only objects it marked (the claim's run annotation, the PV's
// claim uid), each with a uid precondition. The PV is made Retain before
// anything is deleted (the handoff's reclaim-policy step may have given it
// the source's Delete): deleting its claim must not take the disk.
func (h *Handoff) removeTarget(ctx context.Context, v Volume) error {
	dst := h.Target.Typed.CoreV1()
	ours := types.UID(h.Origin.State[StepKey(v.Key(), StepCreatePVC)][DetailUID])
	pvc, err := dst.PersistentVolumeClaims(v.Namespace).Get(ctx, v.Claim, metav1.GetOptions{})
	claimOurs := false
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("%s: claim %s: %w", h.Target.Context, v, err)
	case pvc.Annotations[AnnotationRun] == h.Origin.Run:
		ours, claimOurs = pvc.UID, true
	}
	pv, err := dst.PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
	pvOurs := false
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("%s: PV %s: %w", h.Target.Context, v.PV, err)
	case pv.Annotations[AnnotationRun] == h.Origin.Run || (ours != "" && pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == ours):
		pvOurs = true
		if err := setReclaimPolicy(ctx, h.Target, pv, "", corev1.PersistentVolumeReclaimRetain); err != nil {
			return err
		}
	}
	// A PV not made by the handoff was kept from taking this name by the
	// handoff's checks: it is left alone.
	if claimOurs {
		if err := deleteClaim(ctx, h.watchOf(h.Target), v, pvc.UID, h.Timeout); err != nil {
			return err
		}
	}
	if !pvOurs {
		return nil
	}
	return deletePV(ctx, h.watchOf(h.Target), v.PV, pv.UID, h.Timeout)
}

// waitBound waits until the claim with uid is Bound to v.PV and the PV's
// claimRef names that uid. With nudging, the claim is updated after a
// second, then at doubling intervals up to maxNudgeEvery (see nudge): its
// sync may have run before the PV controller's cache had the PV. The PV
// controller binds one claim at a time; a hundred claims nudged every second
// would keep requeueing the claims it has not reached yet and slow it down.
// maxNudgeEvery bounds the time between two nudges of one claim.
const maxNudgeEvery = 8 * time.Second

func waitBound(ctx context.Context, w *watch, v Volume, uid types.UID, nudging bool, timeout time.Duration) error {
	claims, err := w.claims(ctx, v.Namespace)
	if err != nil {
		return err
	}
	pvs, err := w.volumes(ctx)
	if err != nil {
		return err
	}
	c := w.conn
	nudged, every := time.Now(), time.Second
	return w.until(ctx, timeout, time.Second, func() (bool, string, error) {
		pvc, err := claims.Get(v.Claim)
		if apierrors.IsNotFound(err) {
			// Just created: the watch has not brought it yet.
			return false, fmt.Sprintf("claim %s not seen in %s yet", v, c.Context), nil
		}
		if err != nil {
			return false, "", err
		}
		pv, err := pvs.Get(v.PV)
		if apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("PV %s not seen in %s yet", v.PV, c.Context), nil
		}
		if err != nil {
			return false, "", err
		}
		switch {
		case pvc.UID != uid:
			return false, "", fmt.Errorf("claim %s in %s has uid %s, not %s", v, c.Context, pvc.UID, uid)
		case pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != uid:
			return false, "", fmt.Errorf("PV %s in %s is claimed by %s, not by %s", v.PV, c.Context, claimRefString(pv.Spec.ClaimRef), v)
		}
		ok := pvc.Status.Phase == corev1.ClaimBound && pvc.Spec.VolumeName == v.PV && pv.Status.Phase == corev1.VolumeBound
		if !ok && nudging && time.Since(nudged) >= every {
			if err := nudge(ctx, c, v); err != nil {
				return false, "", err
			}
			nudged, every = time.Now(), min(2*every, maxNudgeEvery)
		}
		return ok, fmt.Sprintf("claim %s is %s, PV %s is %s in %s", v, pvc.Status.Phase, v.PV, pv.Status.Phase, c.Context), nil
	})
}
