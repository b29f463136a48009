package workload

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(kind string, generation int64, spec, status map[string]any) *unstructured.Unstructured {
	o := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       kind,
		"metadata":   map[string]any{"name": "x", "namespace": "ns", "generation": generation},
	}
	if spec != nil {
		o["spec"] = spec
	}
	if status != nil {
		o["status"] = status
	}
	return &unstructured.Unstructured{Object: o}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		obj   *unstructured.Unstructured
		want  Status
		ready bool
	}{
		{"deployment ready",
			obj("Deployment", 2, map[string]any{"replicas": int64(3)}, map[string]any{"observedGeneration": int64(2), "replicas": int64(3), "readyReplicas": int64(3), "availableReplicas": int64(3), "updatedReplicas": int64(3)}),
			Status{Desired: 3, Available: 3, Updated: 3, Pods: 3, Current: true}, true},
		{"deployment scale not observed yet",
			obj("Deployment", 3, map[string]any{"replicas": int64(0)}, map[string]any{"observedGeneration": int64(2), "replicas": int64(3), "availableReplicas": int64(3), "updatedReplicas": int64(3)}),
			Status{Desired: 0, Available: 3, Updated: 3, Pods: 3}, false},
		{"deployment replicas unset means 1",
			obj("Deployment", 1, map[string]any{}, map[string]any{"observedGeneration": int64(1)}),
			Status{Desired: 1, Current: true}, false},
		{"deployment mid-rollout",
			obj("Deployment", 4, map[string]any{"replicas": int64(2)}, map[string]any{"observedGeneration": int64(4), "replicas": int64(3), "availableReplicas": int64(2), "updatedReplicas": int64(1)}),
			Status{Desired: 2, Available: 2, Updated: 1, Pods: 3, Current: true}, false},
		{"deployment scaled to zero",
			obj("Deployment", 5, map[string]any{"replicas": int64(0)}, map[string]any{"observedGeneration": int64(5)}),
			Status{Current: true}, true},
		{"statefulset ready but not yet available",
			obj("StatefulSet", 1, map[string]any{"replicas": int64(2)}, map[string]any{"observedGeneration": int64(1), "replicas": int64(2), "readyReplicas": int64(2), "availableReplicas": int64(1), "updatedReplicas": int64(2)}),
			Status{Desired: 2, Available: 1, Updated: 2, Pods: 2, Current: true}, false},
		{"statefulset without availableReplicas (before 1.22) counts ready",
			obj("StatefulSet", 1, map[string]any{"replicas": int64(2)}, map[string]any{"observedGeneration": int64(1), "replicas": int64(2), "readyReplicas": int64(2), "updatedReplicas": int64(2)}),
			Status{Desired: 2, Available: 2, Updated: 2, Pods: 2, Current: true}, true},
		{"replicaset: every pod is at its template",
			obj("ReplicaSet", 1, map[string]any{"replicas": int64(2)}, map[string]any{"observedGeneration": int64(1), "replicas": int64(2), "availableReplicas": int64(2)}),
			Status{Desired: 2, Available: 2, Updated: 2, Pods: 2, Current: true}, true},
		{"daemonset ready",
			obj("DaemonSet", 2, map[string]any{}, map[string]any{"observedGeneration": int64(2), "desiredNumberScheduled": int64(4), "currentNumberScheduled": int64(4), "numberAvailable": int64(4), "updatedNumberScheduled": int64(4)}),
			Status{Desired: 4, Available: 4, Updated: 4, Pods: 4, Current: true}, true},
		{"daemonset old pods still available",
			obj("DaemonSet", 3, map[string]any{}, map[string]any{"observedGeneration": int64(3), "desiredNumberScheduled": int64(4), "currentNumberScheduled": int64(4), "numberAvailable": int64(4), "updatedNumberScheduled": int64(1)}),
			Status{Desired: 4, Available: 4, Updated: 1, Pods: 4, Current: true}, false},
		{"no status yet",
			obj("StatefulSet", 1, map[string]any{"replicas": int64(1)}, nil),
			Status{Desired: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StatusOf(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("status (-want +got):\n%s", d)
			}
			if got.Ready() != tc.ready {
				t.Errorf("Ready() = %v, want %v", got.Ready(), tc.ready)
			}
		})
	}
}

func TestStatusOfRefusesOtherKinds(t *testing.T) {
	for _, o := range []*unstructured.Unstructured{
		obj("Job", 1, nil, nil),
		{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}}},
		{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d"}}},
	} {
		if _, err := StatusOf(o); err == nil {
			t.Errorf("%s %s: no error", o.GetAPIVersion(), o.GetKind())
		}
	}
}
