package volume

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A StatefulSet's pods mount one claim per template and ordinal, the
// ordinals counted from spec.ordinals.start (a StatefulSet split across
// clusters starts past 0).
func TestStatefulSetClaims(t *testing.T) {
	sts := func(replicas *int32, start int32) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{Replicas: replicas,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}, {ObjectMeta: metav1.ObjectMeta{Name: "wal"}}}}}
		if start != 0 {
			s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: start}
		}
		return s
	}
	for _, tc := range []struct {
		name string
		sts  *appsv1.StatefulSet
		want []string
	}{
		{"two replicas", sts(ptr.To[int32](2), 0), []string{"data-db-0", "data-db-1", "wal-db-0", "wal-db-1"}},
		{"replicas unset is one", sts(nil, 0), []string{"data-db-0", "wal-db-0"}},
		{"ordinals from 3", sts(ptr.To[int32](2), 3), []string{"data-db-3", "data-db-4", "wal-db-3", "wal-db-4"}},
		{"at 0", sts(ptr.To[int32](0), 0), nil},
	} {
		if diff := cmp.Diff(tc.want, statefulSetClaims(tc.sts)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// A pod stops with the handoff's owners when its controller is one of them,
// or a ReplicaSet of an owning Deployment; not a Job's, a ReplicaSet of its
// own, one of another StatefulSet, or a pod with no controller.
func TestStoppedWithOwner(t *testing.T) {
	pod := func(kind, name, hash string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{}}}
		if hash != "" {
			p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
		}
		if kind != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: ptr.To(true)}}
		}
		return p
	}
	owners := []Owner{{Kind: "StatefulSet", Name: "db"}, {Kind: "Deployment", Name: "web"}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"the StatefulSet's", pod("StatefulSet", "db", ""), true},
		{"the Deployment's ReplicaSet's", pod("ReplicaSet", "web-5d8f7c9b6", "5d8f7c9b6"), true},
		{"another StatefulSet's", pod("StatefulSet", "cache", ""), false},
		{"a ReplicaSet of its own", pod("ReplicaSet", "web-side", ""), false},
		{"a ReplicaSet named like the Deployment's, another hash", pod("ReplicaSet", "web-5d8f7c9b6", "abc"), false},
		{"a Job's", pod("Job", "backup", ""), false},
		{"no controller", pod("", "", ""), false},
	} {
		if got := stoppedWithOwner(tc.pod, owners); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A PV's CSI driver is its own, or the one CSI migration serves its in-tree
// source with; none for volumes no CSI driver serves.
func TestCSIDriverOf(t *testing.T) {
	for _, tc := range []struct {
		name           string
		src            corev1.PersistentVolumeSource
		driver, inTree string
	}{
		{"csi", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "rbd.csi.ceph.com"}}, "rbd.csi.ceph.com", ""},
		{"ebs", corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-1"}}, "ebs.csi.aws.com", "awsElasticBlockStore"},
		{"gce", corev1.PersistentVolumeSource{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: "d"}}, "pd.csi.storage.gke.io", "gcePersistentDisk"},
		{"azure disk", corev1.PersistentVolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d"}}, "disk.csi.azure.com", "azureDisk"},
		{"hostPath", corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/d"}}, "", ""},
		{"nfs", corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}, "", ""},
	} {
		d, in := csiDriverOf(&corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: tc.src}})
		if d != tc.driver || in != tc.inTree {
			t.Errorf("%s: %q %q, want %q %q", tc.name, d, in, tc.driver, tc.inTree)
		}
	}
}
