package volume

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// Blocker is a reason a volume cannot be handed over; nothing was changed.
type Blocker struct {
	Volume  string `json:"volume"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// NodeLocal says whether pv's data lives on the disk of one node that
// nothing in the PV names: a hostPath volume without node affinity (a
// local volume must have one, and the node affinity check judges it). Its
// path is given. Handed over, a pod in the target mounts that path on
// whichever target node it runs on: the same data only where the two
// clusters' nodes share it (one machine, a shared mount).
func NodeLocal(pv *corev1.PersistentVolume) (path string, ok bool) {
	hp := pv.Spec.HostPath
	if hp == nil {
		return "", false
	}
	if na := pv.Spec.NodeAffinity; na != nil && na.Required != nil {
		return "", false
	}
	return hp.Path, true
}

// Check looks for every reason the handoff of vols from source to target
// would fail, before anything changes, and what it cannot judge (warnings:
// a volume whose data may be out of the target's reach). Volumes already
// under way (per state) are not checked again: their source objects may be
// gone by design.
func Check(ctx context.Context, source, target *cluster.Conn, vols []Volume, state State, replaceTargetClaims bool, snap Snapshotter) ([]Blocker, []string, error) {
	var out []Blocker
	var warnings []string
	add := func(v Volume, fix, format string, args ...any) {
		out = append(out, Blocker{Volume: v.String(), Message: fmt.Sprintf(format, args...), Fix: fix})
	}
	nodes, err := target.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: list nodes: %w", target.Context, err)
	}
	selected := map[string]bool{}
	for _, v := range vols {
		selected[v.Namespace+"/"+v.Claim] = true
	}
	claims := map[string]map[string]bool{} // the source's, per namespace
	checkedOwners := map[Owner]bool{}
	for _, v := range vols {
		for _, o := range v.Owners {
			if checkedOwners[o] {
				continue
			}
			checkedOwners[o] = true
			if !state.Done(o.Key(), StepScaleSource) {
				if err := checkSourceOwner(ctx, source, o, v, selected, claims, add); err != nil {
					return nil, nil, err
				}
			}
			if state.Done(o.Key(), StepScaleTarget) {
				continue
			}
			if _, err := getReplicas(ctx, target, o); apierrors.IsNotFound(err) {
				add(v, "run `tandem sync` first (it creates the owner in the target)", "%s does not exist in the target %s", o, target.Context)
			} else if err != nil {
				return nil, nil, err
			}
		}
		if state.Started(v) {
			continue
		}
		pvc, err := source.Typed.CoreV1().PersistentVolumeClaims(v.Namespace).Get(ctx, v.Claim, metav1.GetOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: claim %s: %w", source.Context, v, err)
		}
		pv, err := source.Typed.CoreV1().PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: PV %s: %w", source.Context, v.PV, err)
		}
		if cr := pv.Spec.ClaimRef; cr == nil || cr.Namespace != v.Namespace || cr.Name != v.Claim || cr.UID != pvc.UID {
			add(v, "", "PV %s in the source is not bound to this claim", pv.Name)
		}
		if sc, ok := snap.(SnapshotChecker); ok {
			// Before the source is stopped: a snapshot that cannot be
			// taken would stop the handoff with the source down.
			problem, fix, err := sc.CanSnapshot(ctx, source, pv)
			if err != nil {
				return nil, nil, err
			}
			if problem != "" {
				add(v, fix, "%s", problem)
			}
		}
		if sc := pv.Spec.StorageClassName; sc != "" {
			if _, err := target.Typed.StorageV1().StorageClasses().Get(ctx, sc, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				add(v, "create the StorageClass in the target (tandem sync copies it)", "StorageClass %q missing in the target", sc)
			} else if err != nil {
				return nil, nil, err
			}
		}
		if tpv, err := target.Typed.CoreV1().PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{}); err == nil {
			if cr := tpv.Spec.ClaimRef; cr == nil || cr.Namespace != v.Namespace || cr.Name != v.Claim {
				add(v, "delete or rename the target's PV if it is not in use", "PV name %s is already taken in the target (claim %s)", v.PV, claimRefString(tpv.Spec.ClaimRef))
			}
		} else if !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
		if err := checkTargetClaim(ctx, target, v, replaceTargetClaims, add); err != nil {
			return nil, nil, err
		}
		if err := checkPods(ctx, source, v, add); err != nil {
			return nil, nil, err
		}
		if driver, inTree := csiDriverOf(pv); driver != "" {
			if _, err := target.Typed.StorageV1().CSIDrivers().Get(ctx, driver, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				served := ""
				if inTree != "" {
					served = fmt.Sprintf(" (the PV's in-tree %s volume is served by it: CSI migration)", inTree)
				}
				add(v, "install the "+driver+" CSI driver in the target first", "the target has no CSIDriver %s%s: no pod there could mount the volume", driver, served)
			} else if err != nil {
				return nil, nil, fmt.Errorf("%s: CSIDriver %s: %w", target.Context, driver, err)
			}
		}
		if err := checkCSISecrets(ctx, target, v, pv, add); err != nil {
			return nil, nil, err
		}
		if path, ok := NodeLocal(pv); ok {
			warnings = append(warnings, fmt.Sprintf("%s: PV %s is a hostPath volume (%s) without node affinity: its data is on the source node that wrote it, and a pod in %s mounts that path on its own node — the same data only where both clusters' nodes share it (one machine, a shared mount); copy the data otherwise", v, pv.Name, path, target.Context))
		}
		if na := pv.Spec.NodeAffinity; na != nil && na.Required != nil {
			if !AnyNodeMatches(na.Required, nodes.Items) {
				add(v, "add a node with matching labels (zone, hostname) to the target", "no target node matches the PV's node affinity")
			}
		}
		for _, m := range pvc.Spec.AccessModes {
			if !slices.Contains(pv.Spec.AccessModes, m) {
				add(v, "", "claim asks for access mode %s that PV %s does not offer", m, pv.Name)
			}
		}
		if req, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			if capa, ok := pv.Spec.Capacity[corev1.ResourceStorage]; !ok || capa.Cmp(req) < 0 {
				add(v, "", "PV %s capacity %s is less than the claim's request %s", pv.Name, capa.String(), req.String())
			}
		}
		if pvc.Spec.VolumeMode != nil && pv.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode != *pv.Spec.VolumeMode {
			add(v, "", "claim volumeMode %s differs from PV %s", *pvc.Spec.VolumeMode, *pv.Spec.VolumeMode)
		}
	}
	return out, warnings, nil
}

// checkTargetClaim blocks when the target already has a claim of the same
// name that clear-target would refuse to delete: one no handoff made, unless
// replace; one that may hold data (a handoff's, or on a PV that is not
// Delete), always.
func checkTargetClaim(ctx context.Context, target *cluster.Conn, v Volume, replace bool, add func(Volume, string, string, ...any)) error {
	pvc, err := target.Typed.CoreV1().PersistentVolumeClaims(v.Namespace).Get(ctx, v.Claim, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: claim %s: %w", target.Context, v, err)
	}
	run, made := pvc.Annotations[AnnotationRun]
	if made {
		add(v, "hand it back with --rollback, or delete the claim yourself if the target does not need that volume",
			"claim %s in the target was made by handoff run %s%s: it holds a volume handed over before", v, run, boundTo(pvc))
		return nil
	}
	if !replace {
		add(v, "delete it yourself if it is empty, or pass --replace-target-claims to let the handoff delete it",
			"claim %s already exists in the target and no handoff made it%s: deleting it could delete its disk", v, boundTo(pvc))
		return nil
	}
	name := pvc.Spec.VolumeName
	switch {
	case name == "":
		return nil
	case name == v.PV:
		add(v, "delete the target's claim if it is not yours", "claim %s in the target already names PV %s (spec.volumeName)", v, name)
		return nil
	}
	pv, err := target.Typed.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: PV %s: %w", target.Context, name, err)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		add(v, "delete the target's claim yourself if it is empty", "claim %s in the target is bound to PV %s with reclaim policy %s: it may hold data", v, name, pv.Spec.PersistentVolumeReclaimPolicy)
	}
	return nil
}

// boundTo says which PV a claim is bound to (" (bound to PV x)"), "" when none.
func boundTo(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.VolumeName == "" {
		return ""
	}
	return " (bound to PV " + pvc.Spec.VolumeName + ")"
}

// checkPods blocks when a pod that scaling the owners down would not stop
// mounts the claim: one without a controller, or one whose controller is not
// an owner the handoff scales (a Job's, a DaemonSet's, a ReplicaSet of its
// own). The handoff would wait for it to let go of the volume, the owners
// already at 0. A pod that has finished mounts nothing.
func checkPods(ctx context.Context, source *cluster.Conn, v Volume, add func(Volume, string, string, ...any)) error {
	pods, err := source.Typed.CoreV1().Pods(v.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("%s: list pods: %w", source.Context, err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if !mounts(p, v.Claim) || stoppedWithOwner(p, v.Owners) {
			continue
		}
		if c := metav1.GetControllerOfNoCopy(p); c != nil {
			fix := "stop it first (scale its controller to 0, or wait for it to finish)"
			if g := schema.FromAPIVersionAndKind(c.APIVersion, c.Kind).Group; g != "" && g != "apps" && g != "batch" {
				// An operator's own workload (CloudNativePG's instances, a
				// Strimzi StrimziPodSet's brokers): it has no replicas to set.
				fix = "stop it first by its operator's own means (hibernate the database, or pause the operator's reconciliation and delete the pod): the handoff cannot scale a " + c.Kind
			}
			add(v, fix, "pod %s mounts the claim and its controller, %s %s, is not one the handoff scales down", p.Name, c.Kind, c.Name)
			continue
		}
		add(v, "delete the pod (or give the claim to a Deployment or StatefulSet)", "pod %s mounts the claim and has no controller to scale down", p.Name)
	}
	return nil
}

func claimRefString(cr *corev1.ObjectReference) string {
	if cr == nil {
		return "none"
	}
	return cr.Namespace + "/" + cr.Name
}

// AnyNodeMatches says whether some node satisfies a PV's required node
// affinity, with the scheduler's own matching (matchExpressions with every
// operator, and matchFields).
func AnyNodeMatches(sel *corev1.NodeSelector, nodes []corev1.Node) bool {
	ns, err := nodeaffinity.NewNodeSelector(sel)
	if err != nil {
		return true // an invalid selector is the apiserver's to refuse, not ours to judge
	}
	return slices.ContainsFunc(nodes, func(n corev1.Node) bool { return ns.Match(&n) })
}

// inTreeDrivers are the CSI drivers that serve the in-tree volume sources
// through CSI migration (GA for each by Kubernetes 1.27; the in-tree code
// is gone since): a PV of one needs the driver in the target.
var inTreeDrivers = []struct {
	source string
	has    func(*corev1.PersistentVolumeSource) bool
	driver string
}{
	{"awsElasticBlockStore", func(s *corev1.PersistentVolumeSource) bool { return s.AWSElasticBlockStore != nil }, "ebs.csi.aws.com"},
	{"gcePersistentDisk", func(s *corev1.PersistentVolumeSource) bool { return s.GCEPersistentDisk != nil }, "pd.csi.storage.gke.io"},
	{"azureDisk", func(s *corev1.PersistentVolumeSource) bool { return s.AzureDisk != nil }, "disk.csi.azure.com"},
	{"azureFile", func(s *corev1.PersistentVolumeSource) bool { return s.AzureFile != nil }, "file.csi.azure.com"},
	{"cinder", func(s *corev1.PersistentVolumeSource) bool { return s.Cinder != nil }, "cinder.csi.openstack.org"},
	{"vsphereVolume", func(s *corev1.PersistentVolumeSource) bool { return s.VsphereVolume != nil }, "csi.vsphere.vmware.com"},
	{"portworxVolume", func(s *corev1.PersistentVolumeSource) bool { return s.PortworxVolume != nil }, "pxd.portworx.com"},
}

// csiDriverOf is the CSI driver that mounts pv: its own, or the one CSI
// migration serves its in-tree source with (inTree names that source);
// "" for a volume no CSI driver serves (hostPath, local, nfs).
func csiDriverOf(pv *corev1.PersistentVolume) (driver, inTree string) {
	if pv.Spec.CSI != nil {
		return pv.Spec.CSI.Driver, ""
	}
	for _, d := range inTreeDrivers {
		if d.has(&pv.Spec.PersistentVolumeSource) {
			return d.driver, d.source
		}
	}
	return "", ""
}

// checkCSISecrets blocks when a Secret the PV's CSI driver is given (to
// stage, publish or expand the volume: a Ceph or vSphere credential, often
// in the driver's own namespace) is not in the target: the volume would be
// handed over, and no pod there could mount it. A Secret tandem may not
// read there is not judged.
func checkCSISecrets(ctx context.Context, target *cluster.Conn, v Volume, pv *corev1.PersistentVolume, add func(Volume, string, string, ...any)) error {
	csi := pv.Spec.CSI
	if csi == nil {
		return nil
	}
	for _, ref := range []struct {
		field string
		ref   *corev1.SecretReference
	}{
		{"nodeStageSecretRef", csi.NodeStageSecretRef}, {"nodePublishSecretRef", csi.NodePublishSecretRef},
		{"controllerPublishSecretRef", csi.ControllerPublishSecretRef}, {"controllerExpandSecretRef", csi.ControllerExpandSecretRef},
		{"nodeExpandSecretRef", csi.NodeExpandSecretRef},
	} {
		if ref.ref == nil || ref.ref.Name == "" {
			continue
		}
		_, err := target.Typed.CoreV1().Secrets(ref.ref.Namespace).Get(ctx, ref.ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			add(v, "create it in the target (tandem sync copies it with its namespace, but never a system one such as kube-system)", "the PV's CSI %s names Secret %s/%s, which the target does not have: no pod there could mount the volume", ref.field, ref.ref.Namespace, ref.ref.Name)
		case apierrors.IsForbidden(err):
		case err != nil:
			return fmt.Errorf("%s: Secret %s/%s: %w", target.Context, ref.ref.Namespace, ref.ref.Name, err)
		}
	}
	return nil
}
