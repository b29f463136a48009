package volume

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// The CSI snapshot API (external-snapshotter's CRDs), read and written
// through the dynamic client: no Go module of the snapshotter is needed.
var (
	gvrSnapshots       = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	gvrSnapshotClasses = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
)

// defaultSnapshotClass marks a cluster's default VolumeSnapshotClass (per driver).
const defaultSnapshotClass = "snapshot.storage.kubernetes.io/is-default-class"

// CSI snapshots a CSI volume with a VolumeSnapshot of its claim, in the
// VolumeSnapshotClass of the volume's driver (the default one when there are
// several), and waits until it is readyToUse. The snapshot is named after
// the claim and the run, so a re-run after a crash finds it.
type CSI struct {
	Run      string
	Timeout  time.Duration
	Progress func(pv, state string) // may be nil
}

// Name implements Snapshotter.
func (*CSI) Name() string { return "csi" }

// SnapshotClass returns the VolumeSnapshotClass c has for driver ("" when
// none, or when c does not serve the snapshot API).
func SnapshotClass(ctx context.Context, c *cluster.Conn, driver string) (string, error) {
	list, err := c.Dynamic.Resource(gvrSnapshotClasses).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil // the API is not installed
	}
	if err != nil {
		return "", fmt.Errorf("list VolumeSnapshotClasses in %s: %w", c.Context, err)
	}
	pick := ""
	for _, cl := range list.Items {
		if d, _, _ := unstructured.NestedString(cl.Object, "driver"); d != driver {
			continue
		}
		if cl.GetAnnotations()[defaultSnapshotClass] == "true" {
			return cl.GetName(), nil
		}
		if pick == "" {
			pick = cl.GetName()
		}
	}
	return pick, nil
}

// SnapshotName is the VolumeSnapshot a run takes of a claim.
func SnapshotName(claim, run string) string {
	suffix := run
	if len(suffix) > 8 {
		suffix = suffix[len(suffix)-8:]
	}
	name := "tandem-" + claim + "-" + suffix
	if len(name) > 253 {
		name = name[:253]
	}
	return name
}

// CanSnapshot implements SnapshotChecker: pv must be a CSI volume whose
// driver has a VolumeSnapshotClass in c.
func (s *CSI) CanSnapshot(ctx context.Context, c *cluster.Conn, pv *corev1.PersistentVolume) (string, string, error) {
	if pv.Spec.CSI == nil {
		return fmt.Sprintf("PV %s is not a CSI volume: --snapshot csi cannot snapshot it", pv.Name), "use --snapshot none (or ebs for in-tree EBS, or auto)", nil
	}
	class, err := SnapshotClass(ctx, c, pv.Spec.CSI.Driver)
	if err != nil {
		return "", "", err
	}
	if class == "" {
		return fmt.Sprintf("%s has no VolumeSnapshotClass for driver %s (PV %s)", c.Context, pv.Spec.CSI.Driver, pv.Name), "create one, or use --snapshot none", nil
	}
	return "", "", nil
}

// Snapshot implements Snapshotter.
func (s *CSI) Snapshot(ctx context.Context, c *cluster.Conn, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) (string, error) {
	if pv.Spec.CSI == nil {
		return "", fmt.Errorf("PV %s is not a CSI volume: use --snapshot none (or ebs for in-tree EBS)", pv.Name)
	}
	class, err := SnapshotClass(ctx, c, pv.Spec.CSI.Driver)
	if err != nil {
		return "", err
	}
	if class == "" {
		return "", fmt.Errorf("%s has no VolumeSnapshotClass for driver %s (PV %s): create one, or use --snapshot none", c.Context, pv.Spec.CSI.Driver, pv.Name)
	}
	name := SnapshotName(pvc.Name, s.Run)
	snaps := c.Dynamic.Resource(gvrSnapshots).Namespace(pvc.Namespace)
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": name, "namespace": pvc.Namespace, "labels": map[string]any{"tandem.io/handoff": s.Run, "app.kubernetes.io/managed-by": "tandem"}},
		"spec": map[string]any{
			"volumeSnapshotClassName": class,
			"source":                  map[string]any{"persistentVolumeClaimName": pvc.Name},
		},
	}}
	if _, err := snaps.Create(ctx, vs, metav1.CreateOptions{FieldManager: plan.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create VolumeSnapshot %s/%s: %w", pvc.Namespace, name, err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	ref := pvc.Namespace + "/" + name
	err = poll(ctx, timeout, func() (bool, string, error) {
		got, err := snaps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if msg, _, _ := unstructured.NestedString(got.Object, "status", "error", "message"); msg != "" {
			return false, "", fmt.Errorf("VolumeSnapshot %s failed: %s", ref, msg)
		}
		ready, _, _ := unstructured.NestedBool(got.Object, "status", "readyToUse")
		if s.Progress != nil {
			state := "pending"
			if ready {
				state = "readyToUse"
			}
			s.Progress(pv.Name, state)
		}
		return ready, "VolumeSnapshot " + ref + " not readyToUse", nil
	})
	return ref, err
}

// ChooseSnapshotter is --snapshot's default: csi when every volume is a CSI
// volume whose driver has a VolumeSnapshotClass in c, else none, with the
// reason (for the warning).
func ChooseSnapshotter(ctx context.Context, c *cluster.Conn, vols []Volume, run string) (Snapshotter, string, error) {
	classes := map[string]string{}
	for _, v := range vols {
		pv, err := c.Typed.CoreV1().PersistentVolumes().Get(ctx, v.PV, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // moved already by an interrupted run: its snapshot step is behind it
		}
		if err != nil {
			return nil, "", fmt.Errorf("PV %s in %s: %w", v.PV, c.Context, err)
		}
		if pv.Spec.CSI == nil {
			return None{}, fmt.Sprintf("PV %s is not a CSI volume", v.PV), nil
		}
		d := pv.Spec.CSI.Driver
		if _, seen := classes[d]; !seen {
			if classes[d], err = SnapshotClass(ctx, c, d); err != nil {
				return nil, "", err
			}
		}
		if classes[d] == "" {
			return None{}, fmt.Sprintf("%s has no VolumeSnapshotClass for driver %s", c.Context, d), nil
		}
	}
	return &CSI{Run: run}, "", nil
}
