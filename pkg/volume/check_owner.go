package volume

// What Check asks of an owner the handoff stops in the source: that
// stopping it cannot delete its claims, and that every claim its pods mount
// moves with it.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// checkSourceOwner blocks the handoff of v when stopping its owner o in the
// source would lose data: a StatefulSet whose claims are deleted when it
// scales down (persistentVolumeClaimRetentionPolicy.whenScaled: Delete:
// each claim goes with its pod, and a volume of reclaim policy Delete with
// it), or an owner that mounts claims the selection leaves out (stopped in
// the source and started whole in the target, its pods there would start
// on empty volumes while their data stays behind). selected holds the
// selection's claims as namespace/name; claims caches the source's claim
// names per namespace.
func checkSourceOwner(ctx context.Context, source *cluster.Conn, o Owner, v Volume, selected map[string]bool, claims map[string]map[string]bool, add func(Volume, string, string, ...any)) error {
	var template corev1.PodSpec
	var perOrdinal []string // a StatefulSet's claims, one per template and ordinal
	switch o.Kind {
	case "StatefulSet":
		sts, err := source.Typed.AppsV1().StatefulSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			add(v, "", "%s is not in the source %s", o, source.Context)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", source.Context, o, err)
		}
		if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p != nil && p.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			add(v, fmt.Sprintf("set it to Retain for the handoff: kubectl -n %s patch statefulset %s -p '{\"spec\":{\"persistentVolumeClaimRetentionPolicy\":{\"whenScaled\":\"Retain\"}}}'", o.Namespace, o.Name),
				"%s deletes its claims when it scales down (persistentVolumeClaimRetentionPolicy.whenScaled: Delete): stopping it in the source would delete them, and the disks of those with reclaim policy Delete", o)
		}
		template = sts.Spec.Template.Spec
		perOrdinal = statefulSetClaims(sts)
	case "Deployment":
		d, err := source.Typed.AppsV1().Deployments(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			add(v, "", "%s is not in the source %s", o, source.Context)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", source.Context, o, err)
		}
		template = d.Spec.Template.Spec
	default:
		return nil
	}
	names := perOrdinal
	for _, vol := range template.Volumes {
		if vol.PersistentVolumeClaim != nil {
			names = append(names, vol.PersistentVolumeClaim.ClaimName)
		}
	}
	have, ok := claims[o.Namespace]
	if !ok {
		list, err := source.Typed.CoreV1().PersistentVolumeClaims(o.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("%s: list claims in %s: %w", source.Context, o.Namespace, err)
		}
		have = map[string]bool{}
		for _, c := range list.Items {
			have[c.Name] = true
		}
		claims[o.Namespace] = have
	}
	var left []string
	for _, n := range names {
		// A claim not made yet (a replica still Pending) is provisioned anew
		// in the target as it would be in the source.
		if have[n] && !selected[o.Namespace+"/"+n] && !slices.Contains(left, n) {
			left = append(left, n)
		}
	}
	if len(left) > 0 {
		slices.Sort(left)
		fix := "hand over every claim of " + o.String() + " in one run"
		if o.Kind == "StatefulSet" {
			fix += fmt.Sprintf(" (--namespace %s --statefulset %s)", o.Namespace, o.Name)
		}
		add(v, fix, "%s also mounts %s, which the selection leaves out: the handoff stops it in the source and starts it whole in the target, where those claims would start empty",
			o, "claim "+strings.Join(left, ", claim "))
	}
	return nil
}

// statefulSetClaims are the claims a StatefulSet's pods mount through its
// volumeClaimTemplates: <template>-<name>-<ordinal> for each replica, the
// ordinals counted from spec.ordinals.start.
func statefulSetClaims(sts *appsv1.StatefulSet) []string {
	replicas, start := int32(1), int32(0)
	if sts.Spec.Replicas != nil {
		replicas = *sts.Spec.Replicas
	}
	if sts.Spec.Ordinals != nil {
		start = sts.Spec.Ordinals.Start
	}
	var out []string
	for _, t := range sts.Spec.VolumeClaimTemplates {
		for i := start; i < start+replicas; i++ {
			out = append(out, fmt.Sprintf("%s-%s-%d", t.Name, sts.Name, i))
		}
	}
	return out
}

// stoppedWithOwner says whether pod p stops when the handoff scales owners
// to 0: its controller is one of them (a StatefulSet), or a ReplicaSet of
// one of them (a Deployment's, named after it and the pod's template hash).
func stoppedWithOwner(p *corev1.Pod, owners []Owner) bool {
	c := metav1.GetControllerOfNoCopy(p)
	if c == nil {
		return false
	}
	for _, o := range owners {
		switch {
		case o.Kind == "StatefulSet" && c.Kind == "StatefulSet" && c.Name == o.Name:
			return true
		case o.Kind == "Deployment" && c.Kind == "ReplicaSet" && p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != "" &&
			c.Name == o.Name+"-"+p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]:
			return true
		}
	}
	return false
}

// finished says whether pod p has ended (Succeeded or Failed): the kubelet
// unmounts its volumes, and nothing starts it again.
func finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// mounts says whether pod p, not finished, mounts the claim.
func mounts(p *corev1.Pod, claim string) bool {
	return !finished(p) && slices.ContainsFunc(p.Spec.Volumes, func(vol corev1.Volume) bool {
		return vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ClaimName == claim
	})
}
