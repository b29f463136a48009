package preflight

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(doc map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: doc}
}

func TestClassRefs(t *testing.T) {
	podSpec := map[string]any{"priorityClassName": "high", "runtimeClassName": "gvisor"}
	cases := []struct {
		name string
		o    *unstructured.Unstructured
		want []ClassRef
	}{
		{"PVC", obj(map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": map[string]any{"name": "d", "namespace": "a"},
			"spec": map[string]any{"storageClassName": "fast"}}),
			[]ClassRef{{Kind: "StorageClass", Name: "fast", Object: "PersistentVolumeClaim a/d"}}},
		{"PVC on the default class", obj(map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": map[string]any{"name": "d", "namespace": "a"}, "spec": map[string]any{}}), nil},
		{"Ingress", obj(map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": map[string]any{"name": "i", "namespace": "a"},
			"spec": map[string]any{"ingressClassName": "nginx"}}),
			[]ClassRef{{Kind: "IngressClass", Name: "nginx", Object: "Ingress.networking.k8s.io a/i"}}},
		{"StatefulSet", obj(map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": map[string]any{"name": "s", "namespace": "a"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"priorityClassName": "system-node-critical"}},
				"volumeClaimTemplates": []any{map[string]any{"spec": map[string]any{"storageClassName": "ssd"}}}}}),
			[]ClassRef{{Kind: "StorageClass", Name: "ssd", Object: "StatefulSet.apps a/s"}}},
		{"CronJob", obj(map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": map[string]any{"name": "c", "namespace": "a"},
			"spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": podSpec}}}}}),
			[]ClassRef{{Kind: "PriorityClass", Name: "high", Object: "CronJob.batch a/c"}, {Kind: "RuntimeClass", Name: "gvisor", Object: "CronJob.batch a/c"}}},
		{"owned Pod repeats its owner", obj(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "a",
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1"}}}, "spec": podSpec}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, ClassRefs(c.o)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestMissingClasses(t *testing.T) {
	refs := []ClassRef{
		{Kind: "StorageClass", Name: "standard", Object: "PVC a/1"},
		{Kind: "StorageClass", Name: "fast", Object: "PVC a/2"},
		{Kind: "StorageClass", Name: "fast", Object: "PVC a/3"},
		{Kind: "IngressClass", Name: "nginx", Object: "Ingress a/i"},
	}
	source := map[string]map[string]bool{"StorageClass": {"standard": true, "fast": true}}
	target := map[string]map[string]bool{"StorageClass": {"standard": true}}
	got := MissingClasses(refs, source, target)
	want := []struct {
		sev    Severity
		object string
	}{{Warning, "StorageClass.storage.k8s.io fast"}, {Error, "IngressClass.networking.k8s.io nginx"}}
	if len(got) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Severity != w.sev || got[i].Object != w.object {
			t.Errorf("finding %d = %s %s, want %s %s", i, got[i].Severity, got[i].Object, w.sev, w.object)
		}
	}
	if got[0].Message != "missing in the target, referenced by PVC a/2, PVC a/3; the sync copies it from the source" {
		t.Errorf("message %q", got[0].Message)
	}
}

func TestGatewayClassReferences(t *testing.T) {
	gw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "edge", "namespace": "shop"},
		"spec":     map[string]any{"gatewayClassName": "istio"},
	}}
	refs := ClassRefs(gw)
	if len(refs) != 1 || refs[0].Kind != "GatewayClass" || refs[0].Name != "istio" {
		t.Fatalf("ClassRefs(Gateway) = %+v", refs)
	}
	fs := MissingClasses(refs, map[string]map[string]bool{"GatewayClass": {}}, map[string]map[string]bool{"GatewayClass": {}})
	if len(fs) != 1 || fs[0].Severity != Error || fs[0].Object != "GatewayClass.gateway.networking.k8s.io istio" {
		t.Fatalf("findings %+v", fs)
	}
}
