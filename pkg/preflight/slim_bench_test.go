package preflight

import (
	"fmt"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// BenchmarkPlanHoldsPerObject measures the heap one source object takes in
// a plan's Env as Load keeps it (decoded from JSON as a list page is, then
// Env.add: read for Seen, kept slim only when its kind is one the checks
// read one by one). Baseline, same run: the same objects held whole, as
// decoded.
// 100,000 ConfigMaps and Secrets of 500 namespaces, as the apiserver
// serves them: labels, managedFields, ≈ 1 KiB of data.
//
//	go test -run '^$' -bench PlanHoldsPerObject -benchtime 1x ./pkg/preflight/
func BenchmarkPlanHoldsPerObject(b *testing.B) {
	const n = 100_000
	doc := func(i int) []byte {
		ns, app := fmt.Sprintf("shop-%03d", i%500), fmt.Sprintf("app-%02d", i%20)
		data := fmt.Sprintf(`{"config.yaml":%q,"LOG_LEVEL":"info"}`, fmt.Sprintf("%01000d", i))
		kind := `"kind":"ConfigMap"`
		if i%5 >= 3 {
			kind, data = `"kind":"Secret","type":"Opaque"`, fmt.Sprintf(`{"password":"%040x","token":"%0300x"}`, i, i)
		}
		return []byte(fmt.Sprintf(`{"apiVersion":"v1",%s,"metadata":{"name":"obj-%06d","namespace":%q,"uid":"2b0e8c3e-5f0a-4c7b-9f5e-%012d","resourceVersion":"%d","creationTimestamp":"2026-12-04T10:00:00Z","labels":{"bench.tandem.io/set":"cheap","app.kubernetes.io/name":%q,"app.kubernetes.io/part-of":"bench"},"managedFields":[{"manager":"bench.test","operation":"Update","apiVersion":"v1","time":"2026-12-04T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:config.yaml":{},"f:LOG_LEVEL":{}},"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{},"f:app.kubernetes.io/part-of":{},"f:bench.tandem.io/set":{}}}}}]},"data":%s}`,
			kind, i, ns, i, 1_000_000+i, app, data))
	}
	heapOf := func(add func(*unstructured.Unstructured), holder any) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < n; i++ {
			o := &unstructured.Unstructured{}
			if err := o.UnmarshalJSON(doc(i)); err != nil {
				b.Fatal(err)
			}
			add(o)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(holder)
		return (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	}
	for b.Loop() {
		served := NewServed() // a target serving what the objects were written at
		served.Add(schema.GroupVersion{Version: "v1"}, "ConfigMap", true)
		served.Add(schema.GroupVersion{Version: "v1"}, "Secret", true)
		env := newEnv(nil, nil, nil, served)
		kept := heapOf(env.add, env)
		if env.Seen.Objects != n {
			b.Fatalf("Seen read %d objects, want %d", env.Seen.Objects, n)
		}
		held := make([]*unstructured.Unstructured, 0, n)
		whole := heapOf(func(o *unstructured.Unstructured) { held = append(held, o) }, &held)
		b.ReportMetric(kept, "env_B/object")
		b.ReportMetric(whole, "whole_B/object")
		b.ReportMetric(kept/whole, "env/whole")
	}
}
