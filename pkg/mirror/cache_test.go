package mirror

import (
	"fmt"
	"runtime"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// BenchmarkCachePerObject measures the heap one watched object takes in the
// mirror's informer cache (a cached, keyed and indexed by namespace), read
// page by page as the informers read it. Baseline, same run: the same
// objects cached as the metadata informer decodes them
// (PartialObjectMetadata, managedFields and all), as a cache without a
// transform keeps them. 100,000 ConfigMaps in 500 namespaces.
//
//	go test -run '^$' -bench CachePerObject -benchtime 1x ./pkg/mirror/
func BenchmarkCachePerObject(b *testing.B) {
	const n, perPage = 100_000, 500
	page := func(first int) *metav1.PartialObjectMetadataList {
		l := &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: "9000000"}}
		for i := first; i < first+perPage; i++ {
			l.Items = append(l.Items, metav1.PartialObjectMetadata{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{
					Namespace: fmt.Sprintf("shop-%03d", i%500), Name: fmt.Sprintf("settings-%06d", i),
					UID: "2b0e8c3e-5f0a-4c7b-9f5e-0c1d2e3f4a5b", ResourceVersion: fmt.Sprint(1_000_000 + i),
					CreationTimestamp: metav1.Now(), Labels: map[string]string{"app": "shop", "tier": "web"},
					ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-create", Operation: metav1.ManagedFieldsOperationUpdate,
						APIVersion: "v1", Time: &metav1.Time{}, FieldsType: "FieldsV1",
						FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{".":{},"f:app.conf":{}},"f:metadata":{"f:labels":{".":{},"f:app":{},"f:tier":{}}}}`)}}},
				},
			})
		}
		return l
	}
	heapAfter := func(fill func(cache.Indexer)) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		fill(idx)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(idx.ListKeys()) != n {
			b.Fatalf("the cache holds %d objects, want %d", len(idx.ListKeys()), n)
		}
		return float64(after.HeapAlloc-before.HeapAlloc) / n
	}
	for b.Loop() {
		slim := heapAfter(func(idx cache.Indexer) {
			for first := 0; first < n; first += perPage {
				for _, c := range slimList(page(first)).Items {
					_ = idx.Add(c)
				}
			}
		})
		whole := heapAfter(func(idx cache.Indexer) {
			for first := 0; first < n; first += perPage {
				l := page(first)
				for i := range l.Items {
					_ = idx.Add(&l.Items[i])
				}
			}
		})
		b.ReportMetric(slim, "cached_B/object")
		b.ReportMetric(whole, "metadata_B/object")
		b.ReportMetric(slim/whole, "cached/metadata")
	}
}
