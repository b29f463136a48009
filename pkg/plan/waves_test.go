package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestWaveOf(t *testing.T) {
	type wave struct {
		Index int
		Name  string
	}
	cases := []struct {
		gk   schema.GroupKind
		want wave
	}{
		{schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}, wave{WaveCRDs, "crds"}},
		{schema.GroupKind{Kind: "Namespace"}, wave{WaveNamespaces, "namespaces"}},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}, wave{WaveClusterClasses, "cluster classes"}},
		{schema.GroupKind{Group: "snapshot.storage.k8s.io", Kind: "VolumeSnapshotClass"}, wave{WaveClusterClasses, "cluster classes"}},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}, wave{WaveClusterRBAC, "cluster rbac"}},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"}, wave{WaveNamespacePolicy, "namespace policy"}},
		{schema.GroupKind{Kind: "LimitRange"}, wave{WaveNamespacePolicy, "namespace policy"}},
		{schema.GroupKind{Kind: "ServiceAccount"}, wave{WaveServiceAccounts, "service accounts"}},
		{schema.GroupKind{Kind: "Secret"}, wave{WaveConfig, "config"}},
		{schema.GroupKind{Kind: "PersistentVolumeClaim"}, wave{WaveStorage, "storage"}},
		{schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, wave{WaveServices, "services"}},
		{schema.GroupKind{Group: "batch", Kind: "CronJob"}, wave{WaveWorkloads, "workloads"}},
		{schema.GroupKind{Kind: "Pod"}, wave{WaveWorkloads, "workloads"}},
		{schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}, wave{WaveWorkloadPolicy, "workload policy"}},
		{schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}, wave{WaveRoutes, "routes"}},
		{schema.GroupKind{Group: "velero.io", Kind: "Backup"}, wave{WaveCustomResources, "custom resources"}},
		{schema.GroupKind{Group: "extensions", Kind: "Deployment"}, wave{WaveCustomResources, "custom resources"}},
		{schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}, wave{WaveAdmission, "admission"}},
		{schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}, wave{WaveAPIServices, "api services"}},
	}
	for _, tc := range cases {
		t.Run(tc.gk.String(), func(t *testing.T) {
			i, name := WaveOf(tc.gk)
			if diff := cmp.Diff(tc.want, wave{i, name}); diff != "" {
				t.Errorf("WaveOf (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWaveTable guards the table itself: every wave named, no kind in two waves.
func TestWaveTable(t *testing.T) {
	if len(waves) != WaveAPIServices+1 {
		t.Fatalf("%d waves in the table, %d constants", len(waves), WaveAPIServices+1)
	}
	seen := map[schema.GroupKind]int{}
	for i, w := range waves {
		if w.name == "" {
			t.Errorf("wave %d has no name", i)
		}
		for _, gk := range w.kinds {
			if j, dup := seen[gk]; dup {
				t.Errorf("%s in waves %d and %d", gk, j, i)
			}
			seen[gk] = i
		}
	}
}
