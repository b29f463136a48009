package volume

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// AnnotationRun marks a PVC that a handoff created in the target, with the run id.
const AnnotationRun = "tandem.io/handoff-run"

// AnnotationPVCreated is set on the new claim once its PV exists (it nudges the PV controller).
const AnnotationPVCreated = "tandem.io/handoff-pv-created"

// Annotations the binding controllers own: never carried to the new objects,
// or the PV controller would take them as bound already.
var bindAnnotations = []string{
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
}

// ownerPrepare records the owner's replica count in the intent before it is scaled.
func (h *Handoff) ownerPrepare(ctx context.Context, o Owner, step string, intent map[string]string) error {
	if _, ok := intent[DetailReplicas]; ok || (step != StepScaleSource && step != StepScaleTarget) {
		return nil
	}
	c := h.Source
	if step == StepScaleTarget {
		c = h.Target
	}
	n, err := getReplicas(ctx, c, o)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s does not exist in %s: run `tandem sync` first", o, c.Context)
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.Context, o, err)
	}
	intent[DetailReplicas] = strconv.Itoa(int(n))
	return nil
}

func (h *Handoff) ownerStep(ctx context.Context, o Owner, step string, intent map[string]string) (map[string]string, error) {
	switch step {
	case StepStopTarget, StepSourceBack, StepTargetBack:
		return h.recoverOwnerStep(ctx, o, step)
	case StepScaleSource, StepScaleTarget:
		c := h.Source
		if step == StepScaleTarget {
			c = h.Target
		}
		if err := setReplicas(ctx, c, o, 0); err != nil {
			return nil, err
		}
		if err := waitOwnerPodsGone(ctx, c, o, h.Timeout); err != nil {
			return nil, err
		}
		return map[string]string{DetailReplicas: intent[DetailReplicas]}, nil
	case StepScaleUp:
		rec := h.detail(o.Key(), StepScaleSource)[DetailReplicas]
		n, err := strconv.Atoi(rec)
		if err != nil {
			return nil, fmt.Errorf("journal: recorded replicas of %s: %q", o, rec)
		}
		if err := setReplicas(ctx, h.Target, o, int32(n)); err != nil {
			return nil, err
		}
		if err := waitReady(ctx, h.Target, o, int32(n), h.Timeout); err != nil {
			return nil, err
		}
		return map[string]string{DetailReplicas: rec}, nil
	}
	return nil, fmt.Errorf("unknown owner step %q", step)
}

// volumePrepare records, before the retain step acts, the source PV's reclaim
// policy in its intent: a crash after the patch still knows what to give back.
func (h *Handoff) volumePrepare(ctx context.Context, v Volume, step string, intent map[string]string) error {
	if _, ok := intent[DetailWas]; ok || step != StepRetain {
		return nil
	}
	pv, err := h.Source.Typed.CoreV1().PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("%s: PV %s: %w", h.Source.Context, v.PV, err)
	}
	intent[DetailWas] = string(pv.Spec.PersistentVolumeReclaimPolicy)
	return nil
}

func (h *Handoff) volumeStep(ctx context.Context, v Volume, step string, intent map[string]string) (map[string]string, error) {
	src := h.Source.Typed.CoreV1()
	switch step {
	case StepUnmounted:
		return nil, waitUnmounted(ctx, h.watchOf(h.Source), v.Namespace, v.Claim, h.Timeout)
	case StepDetached:
		return nil, h.waitDetached(ctx, v)
	case StepRetain:
		pv, err := src.PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: PV %s: %w", h.Source.Context, v.PV, err)
		}
		if err := setReclaimPolicy(ctx, h.Source, pv, "", corev1.PersistentVolumeReclaimRetain); err != nil {
			return nil, err
		}
		return map[string]string{DetailWas: intent[DetailWas]}, nil
	case StepSnapshot:
		pvc, pv, err := h.sourceObjects(ctx, v)
		if err != nil {
			return nil, err
		}
		id, err := h.Snapshotter.Snapshot(ctx, h.Source, pvc, pv)
		if err != nil {
			return nil, fmt.Errorf("snapshot (%s): %w", h.Snapshotter.Name(), err)
		}
		detail := map[string]string{DetailSnapshot: id, "snapshotter": h.Snapshotter.Name()}
		if sr, ok := h.Snapshotter.(StateReporter); ok && id != "" {
			detail[DetailSnapshotState] = sr.State(id)
		}
		return detail, nil
	case StepSave:
		pvc, pv, err := h.sourceObjects(ctx, v)
		if err != nil {
			return nil, err
		}
		if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
			return nil, fmt.Errorf("PV %s in %s is not Retain any more (%s): someone changed it", v.PV, h.Source.Context, pv.Spec.PersistentVolumeReclaimPolicy)
		}
		pb, _ := json.Marshal(pv)
		cb, _ := json.Marshal(pvc)
		return map[string]string{DetailPV: string(pb), DetailPVC: string(cb)}, nil
	case StepClearTarget:
		return nil, h.clearTarget(ctx, v)
	case StepCreatePVC:
		return h.createPVC(ctx, v)
	case StepCreatePV:
		return nil, h.createPV(ctx, v)
	case StepReleaseSource:
		return nil, h.releaseSource(ctx, v)
	case StepVerify:
		uid := types.UID(h.detail(v.Key(), StepCreatePVC)[DetailUID])
		return nil, waitBound(ctx, h.watchOf(h.Target), v, uid, true, h.Timeout)
	case StepReclaimPolicy:
		if h.Direction == DirectionRecover {
			return h.recoverVolumeStep(ctx, v, step)
		}
		return nil, h.policyBackInTarget(ctx, v)
	case StepRestoreSource, StepRemoveTarget:
		return h.recoverVolumeStep(ctx, v, step)
	}
	return nil, fmt.Errorf("unknown volume step %q", step)
}

func (h *Handoff) sourceObjects(ctx context.Context, v Volume) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume, error) {
	pvc, err := h.Source.Typed.CoreV1().PersistentVolumeClaims(v.Namespace).Get(ctx, v.Claim, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: claim %s: %w", h.Source.Context, v, err)
	}
	pv, err := h.Source.Typed.CoreV1().PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: PV %s: %w", h.Source.Context, v.PV, err)
	}
	return pvc, pv, nil
}

// saved returns the definitions the save step put in the journal.
func (h *Handoff) saved(v Volume) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume, error) {
	return decodeSaved(v, h.detail(v.Key(), StepSave))
}

// decodeSaved reads the definitions from a save step's done detail.
func decodeSaved(v Volume, d map[string]string) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume, error) {
	var pvc corev1.PersistentVolumeClaim
	var pv corev1.PersistentVolume
	if err := json.Unmarshal([]byte(d[DetailPVC]), &pvc); err != nil {
		return nil, nil, fmt.Errorf("journal: saved claim %s: %w", v, err)
	}
	if err := json.Unmarshal([]byte(d[DetailPV]), &pv); err != nil {
		return nil, nil, fmt.Errorf("journal: saved PV %s: %w", v.PV, err)
	}
	return &pvc, &pv, nil
}

// waitDetached refuses (after waiting Timeout) while a VolumeAttachment for
// the PV exists in the source: a node may still write to the disk.
func (h *Handoff) waitDetached(ctx context.Context, v Volume) error {
	w := h.watchOf(h.Source)
	attachments, err := w.attachments(ctx)
	if err != nil {
		return err
	}
	return w.until(ctx, h.Timeout, safetyTick, func() (bool, string, error) {
		vas, err := attachments.List(labels.Everything())
		if err != nil {
			return false, "", fmt.Errorf("%s: list VolumeAttachments: %w", h.Source.Context, err)
		}
		for _, va := range vas {
			if pv := va.Spec.Source.PersistentVolumeName; pv != nil && *pv == v.PV {
				return false, fmt.Sprintf("VolumeAttachment %s still attaches PV %s to node %s in %s", va.Name, v.PV, va.Spec.NodeName, h.Source.Context), nil
			}
		}
		return true, "", nil
	})
}
