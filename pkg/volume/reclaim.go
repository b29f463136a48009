package volume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// The reclaim policy across a handoff: the source PV is made Retain before
// anything stops (a claim deleted from then on leaves its disk), and the PV
// that holds the volume at the end gets back the policy the source PV had —
// a volume provisioned Delete is deleted with its claim in its new cluster as
// it was in the old one, not left behind as a disk nobody owns.

// setReclaimPolicy sets pv's reclaim policy in c, unless it has it already.
// The patch tests the PV's uid and, when claim is set, that its claimRef
// names that claim's uid: a policy is never put on a PV replaced or rebound
// meanwhile.
func setReclaimPolicy(ctx context.Context, c *cluster.Conn, pv *corev1.PersistentVolume, claim types.UID, policy corev1.PersistentVolumeReclaimPolicy) error {
	if pv.Spec.PersistentVolumeReclaimPolicy == policy {
		return nil
	}
	patch := fmt.Appendf(nil, `[{"op":"test","path":"/metadata/uid","value":%q}`, pv.UID)
	if claim != "" {
		patch = fmt.Appendf(patch, `,{"op":"test","path":"/spec/claimRef/uid","value":%q}`, claim)
	}
	patch = fmt.Appendf(patch, `,{"op":"replace","path":"/spec/persistentVolumeReclaimPolicy","value":%q}]`, policy)
	if _, err := c.Typed.CoreV1().PersistentVolumes().Patch(ctx, pv.Name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("%s: PV %s: set reclaim policy %s: %w", c.Context, pv.Name, policy, err)
	}
	return nil
}

// policyBefore is the reclaim policy the source PV had before the handoff's
// retain step, from that step's done detail or, when it crashed before
// writing one, its intent; "" when the step never ran.
func policyBefore(done, intent map[string]string) corev1.PersistentVolumeReclaimPolicy {
	if was, ok := done[DetailWas]; ok {
		return corev1.PersistentVolumeReclaimPolicy(was)
	}
	return corev1.PersistentVolumeReclaimPolicy(intent[DetailWas])
}

// givePolicyBack gives the PV of v in c, bound to the claim with uid, the
// policy it had before the handoff (nothing to do for Retain or unknown).
func givePolicyBack(ctx context.Context, c *cluster.Conn, v Volume, uid types.UID, was corev1.PersistentVolumeReclaimPolicy) error {
	if was == "" || was == corev1.PersistentVolumeReclaimRetain {
		return nil
	}
	pv, err := c.Typed.CoreV1().PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("%s: PV %s: %w", c.Context, v.PV, err)
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != uid || pv.Status.Phase != corev1.VolumeBound {
		return fmt.Errorf("PV %s in %s is %s to %s, not Bound to claim %s (uid %s): left Retain", v.PV, c.Context, pv.Status.Phase, claimRefString(pv.Spec.ClaimRef), v, uid)
	}
	return setReclaimPolicy(ctx, c, pv, uid, was)
}

// policyBackInTarget is the handoff's reclaim-policy step: the target PV,
// Bound to the claim the handoff made, gets the source's policy back
// (KeepRetain leaves it Retain).
func (h *Handoff) policyBackInTarget(ctx context.Context, v Volume) error {
	if h.KeepRetain {
		return nil
	}
	uid := types.UID(h.detail(v.Key(), StepCreatePVC)[DetailUID])
	// Through the locked readers: other volumes' steps write the state meanwhile.
	was := policyBefore(h.detail(v.Key(), StepRetain), h.intent(StepKey(v.Key(), StepRetain)))
	return givePolicyBack(ctx, h.Target, v, uid, was)
}

// policyBackInSource is a recovery's reclaim-policy step: once the target
// holds nothing of the volume, the source PV, Bound again to its claim, gets
// back the policy it had before the interrupted handoff (KeepRetain leaves it
// Retain).
func (h *Handoff) policyBackInSource(ctx context.Context, v Volume) error {
	if h.KeepRetain {
		return nil
	}
	pvc, err := h.Source.Typed.CoreV1().PersistentVolumeClaims(v.Namespace).Get(ctx, v.Claim, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("claim %s is not in %s: PV %s left Retain", v, h.Source.Context, v.PV)
	}
	if err != nil {
		return fmt.Errorf("%s: claim %s: %w", h.Source.Context, v, err)
	}
	sk := StepKey(v.Key(), StepRetain)
	return givePolicyBack(ctx, h.Source, v, pvc.UID, policyBefore(h.Origin.State[sk], h.Origin.Intents[sk]))
}
