package syncer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

func archiveFixture() []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	for i := range 3 {
		objs = append(objs, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"namespace": "shop", "name": fmt.Sprintf("settings-%d", i), "labels": map[string]any{"app": "shop"}},
			"data":     map[string]any{"color": fmt.Sprintf("blue-%d", i)},
		}})
	}
	objs = append(objs, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"},
	}})
	return objs
}

// writeFixture is the archive WriteArchive makes of objs.
func writeFixture(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var items []plan.Item
	for _, o := range objs {
		res := "configmaps"
		if o.GetKind() == "Namespace" {
			res = "namespaces"
		}
		items = append(items, plan.Item{Resource: schema.GroupVersionResource{Version: "v1", Resource: res}, Namespaced: o.GetNamespace() != "", Desired: o.DeepCopy()})
	}
	var buf bytes.Buffer
	var heard []int
	w, err := NewArchiveWriter(&buf, "blue", func(done, total int) { heard = append(heard, done, total) })
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		w.Expect(it.Desired.GroupVersionKind().GroupKind())
	}
	w.Start(context.Background())
	for _, wv := range plan.Build(items, plan.Options{}).Waves {
		for _, s := range wv.Steps {
			w.Add(s)
		}
	}
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	n, err := w.Close()
	if err != nil || n != len(objs) {
		t.Fatalf("the archive: %d objects, %v", n, err)
	}
	if want := []int{1, len(objs)}; len(heard) != 2*len(objs) || !reflect.DeepEqual(heard[:2], want) {
		t.Errorf("progress heard %v, want (done, total) per object from %v", heard, want)
	}
	return buf.Bytes()
}

// An archive read back holds each object as it was written, on disk, with
// the hash a sync would give it; the index's order is kept.
func TestArchiveReadsBackWhatWasWritten(t *testing.T) {
	objs := archiveFixture()
	var heard []int
	a, err := ReadArchive(bytes.NewReader(writeFixture(t, objs)), func(n int) { heard = append(heard, n) })
	if err != nil {
		t.Fatal(err)
	}
	if len(heard) != len(objs) || heard[len(heard)-1] != len(objs) {
		t.Errorf("progress heard %v, want 1 … %d", heard, len(objs))
	}
	defer a.Close()
	if a.Len() != len(objs) || a.Source != "blue" {
		t.Fatalf("read %d objects from %q, want %d from blue", a.Len(), a.Source, len(objs))
	}
	want := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		want[o.GetKind()+"/"+o.GetName()] = o
	}
	for i, e := range a.entries {
		w := want[e.ref.Kind+"/"+e.ref.Name]
		if w == nil {
			t.Fatalf("entry %d: %s/%s was not written", i, e.ref.Kind, e.ref.Name)
		}
		got, err := e.obj.Load()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Object, w.Object) {
			t.Errorf("%s/%s read back as %v, want %v", e.ref.Kind, e.ref.Name, got.Object, w.Object)
		}
		if e.hash != plan.Hash(w) || e.ref.Key() != plan.RefOf(w).Key() {
			t.Errorf("%s/%s: hash %s, key %v; want %s, %v", e.ref.Kind, e.ref.Name, e.hash, e.ref.Key(), plan.Hash(w), plan.RefOf(w).Key())
		}
		body, err := e.obj.Body()
		if err != nil || !bytes.Contains(body, []byte(plan.HashAnnotation)) {
			t.Errorf("%s/%s: the body an apply sends lacks the hash: %s %v", e.ref.Kind, e.ref.Name, body, err)
		}
	}
	if a.entries[0].ref.Kind != "Namespace" {
		t.Errorf("first entry %s, want the namespaces wave first", a.entries[0].ref.Kind)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.entries[0].obj.Load(); err == nil {
		t.Error("an object read after Close")
	}
}

// What is not an archive, or one that lacks what its index names, is bad
// input, not a partial import.
func TestArchiveRejectsWhatIsNotOne(t *testing.T) {
	good := writeFixture(t, archiveFixture())
	withFiles := func(keep func(name string) bool) []byte {
		gz, err := gzip.NewReader(bytes.NewReader(good))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		tw := tar.NewWriter(zw)
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if !keep(h.Name) {
				continue
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			_ = tw.WriteHeader(h)
			_, _ = tw.Write(data)
		}
		_ = tw.Close()
		_ = zw.Close()
		return out.Bytes()
	}
	for name, data := range map[string][]byte{
		"not gzip":         []byte("not an archive"),
		"truncated":        good[:len(good)/2],
		"without index":    withFiles(func(n string) bool { return n != "index.json" }),
		"without a object": withFiles(func(n string) bool { return n == "index.json" }),
	} {
		a, err := ReadArchive(bytes.NewReader(data), nil)
		if !errors.Is(err, cluster.ErrBadInput) {
			t.Errorf("%s: read as %v, %v; want bad input", name, a, err)
		}
	}
}

// A skipped step is not archived; the Secrets archived are counted (export
// warns of them).
func TestArchiveWriterSkipsAndCountsSecrets(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"namespace": "shop", "name": "creds"}, "data": map[string]any{"password": "aHVudGVyMg=="}}}
	skipped := secret.DeepCopy()
	skipped.SetName("token")
	items := []plan.Item{
		{Resource: schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, Namespaced: true, Desired: secret},
		{Resource: schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, Namespaced: true, Desired: skipped, Decision: sanitize.Decision{Skip: true, Reason: "made by the cluster"}},
	}
	var buf bytes.Buffer
	w, err := NewArchiveWriter(&buf, "blue", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, wv := range plan.Build(items, plan.Options{}).Waves {
		for _, s := range wv.Steps {
			w.Add(s)
		}
	}
	n, err := w.Close()
	if err != nil || n != 1 || w.Secrets() != 1 {
		t.Fatalf("archived %d objects (%d Secrets), %v; want the one not skipped", n, w.Secrets(), err)
	}
	select {
	case <-w.Done():
	default:
		t.Error("a closed archive does not say it takes no more")
	}
	if _, err := w.Close(); err == nil {
		t.Error("closed twice without an error")
	}
	w.Abort() // after Close: nothing
	a, err := ReadArchive(bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Len() != 1 || a.entries[0].ref.Name != "creds" {
		t.Errorf("read back %d objects (%+v), want creds alone", a.Len(), a.entries)
	}
}

// tarGz is an archive of files, in order.
func tarGz(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o600, Size: int64(len(f[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Archives written before the index was streamed (json.MarshalIndent of
// Index; an empty one with "objects": null) read as they did; an object
// file that is not the object its index names is bad input, not a crash.
func TestArchiveReadsOlderIndexesAndChecksEachFile(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  color: blue\n"
	entry := IndexEntry{File: "objects/06-config/ConfigMap_shop_settings.yaml", Wave: "config", Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true, Namespace: "shop", Name: "settings"}
	indented, err := json.MarshalIndent(Index{Source: "blue", Objects: []IndexEntry{entry}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := json.MarshalIndent(Index{Source: "blue"}, "", "  ")
	if !bytes.Contains(empty, []byte(`"objects": null`)) {
		t.Fatalf("the old form of an empty index: %s", empty)
	}
	a, err := ReadArchive(bytes.NewReader(tarGz(t, [2]string{entry.File, cm}, [2]string{"index.json", string(indented)})), nil)
	if err != nil || a.Len() != 1 || a.Source != "blue" || a.entries[0].ref.Name != "settings" {
		t.Fatalf("an indented index: %v, %+v", err, a)
	}
	a.Close()
	if a, err = ReadArchive(bytes.NewReader(tarGz(t, [2]string{"index.json", string(empty)})), nil); err != nil || a.Len() != 0 {
		t.Fatalf("an empty archive: %v, %+v", err, a)
	}
	a.Close()
	for name, body := range map[string]string{
		"no kind":      "apiVersion: v1\nmetadata:\n  name: settings\n  namespace: shop\n",
		"another name": strings.Replace(cm, "name: settings", "name: other", 1),
		"not a map":    "- 1\n- 2\n",
	} {
		a, err := ReadArchive(bytes.NewReader(tarGz(t, [2]string{entry.File, body}, [2]string{"index.json", string(indented)})), nil)
		if !errors.Is(err, cluster.ErrBadInput) {
			t.Errorf("%s: read as %+v, %v; want bad input", name, a, err)
		}
	}
}

// An archive packed again in another order (index.json first, the objects
// in any order, as tar of the unpacked files makes it) reads as the one
// ArchiveWriter wrote; a file the index does not name is left out, and an
// index that names a file twice or a file that is not there is bad input.
func TestArchiveReadsInAnyOrder(t *testing.T) {
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: shop\ndata:\n  color: blue\n"
	}
	entry := func(name string) IndexEntry {
		return IndexEntry{File: "objects/06-config/ConfigMap_shop_" + name + ".yaml", Wave: "config", Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true, Namespace: "shop", Name: name}
	}
	index := func(entries ...IndexEntry) [2]string {
		b, err := json.Marshal(Index{Source: "blue", Objects: entries})
		if err != nil {
			t.Fatal(err)
		}
		return [2]string{"index.json", string(b)}
	}
	file := func(name string) [2]string { return [2]string{entry(name).File, cm(name)} }
	for name, files := range map[string][][2]string{
		"index first":                    {index(entry("a"), entry("b")), file("b"), file("a")},
		"index last, files reversed":     {file("b"), file("a"), index(entry("a"), entry("b"))},
		"a file the index does not name": {file("a"), file("stray"), file("b"), index(entry("a"), entry("b"))},
	} {
		a, err := ReadArchive(bytes.NewReader(tarGz(t, files...)), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, e := range a.entries {
			if e.res == nil || e.res.resource != "configmaps" || !e.res.namespaced || e.res.wave != "config" {
				t.Errorf("%s: %s read without its resource: %+v", name, e.ref.Name, e.res)
			}
			got = append(got, e.ref.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%s: read %v, want a and b", name, got)
		}
		a.Close()
	}
	for name, c := range map[string]struct {
		files [][2]string
		says  string
	}{
		"named twice":      {[][2]string{file("a"), index(entry("a"), entry("a"))}, "lists " + entry("a").File + " twice"},
		"named, not there": {[][2]string{file("a"), index(entry("a"), entry("b"))}, "does not contain it"},
	} {
		if a, err := ReadArchive(bytes.NewReader(tarGz(t, c.files...)), nil); !errors.Is(err, cluster.ErrBadInput) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: read as %+v, %v; want bad input that says %q", name, a, err, c.says)
		}
	}
}

// BenchmarkArchiveHoldsPerObject measures what an archive read for import
// (ReadArchive) holds per object once read: the heap in use after a GC,
// against the archive of 100,000 ConfigMaps in 500 namespaces that
// ArchiveWriter makes. The objects themselves wait on disk.
//
//	go test -run '^$' -bench ArchiveHoldsPerObject -benchtime 1x ./pkg/syncer/
func BenchmarkArchiveHoldsPerObject(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	w, err := NewArchiveWriter(&buf, "source", nil)
	if err != nil {
		b.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	for i := range n {
		o := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"namespace": fmt.Sprintf("shop-%03d", i%500), "name": fmt.Sprintf("settings-%06d", i),
				"labels": map[string]any{"app.kubernetes.io/name": fmt.Sprintf("app-%02d", i%20)}},
			"data": map[string]any{"config.yaml": fmt.Sprintf("%0200d", i)},
		}}
		s, _ := plan.Decide(plan.Item{Resource: gvr, Namespaced: true, Ref: plan.RefOf(o), Desired: o, DesiredHash: plan.Hash(o)}, plan.Options{})
		w.Expect(o.GroupVersionKind().GroupKind())
		w.Add(s)
	}
	if err := w.Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		// The heap's largest while reading, sampled (garbage not yet
		// collected included): what the reading holds at once.
		done, peak := make(chan struct{}), make(chan uint64)
		go func() {
			var largest uint64
			var m runtime.MemStats
			for {
				select {
				case <-done:
					peak <- largest
					return
				case <-time.After(5 * time.Millisecond):
					runtime.ReadMemStats(&m)
					largest = max(largest, m.HeapAlloc)
				}
			}
		}()
		a, err := ReadArchive(bytes.NewReader(data), nil)
		close(done)
		largest := <-peak
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if a.Len() != n {
			b.Fatalf("read %d objects, want %d", a.Len(), n)
		}
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/n, "held_B/object")
		b.ReportMetric((float64(largest)-float64(before.HeapAlloc))/n, "peak_B/object")
		a.Close()
	}
}
