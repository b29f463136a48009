package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tandem-io/tandem/pkg/journal"
)

// A sync's journal does not grow with history: after 20 syncs of a
// 10,000-object namespace it is under 1 MB and holds the last run alone (its
// start and end), so opening it reads the same two records whatever ran before.
func TestSyncJournalStaysSmall(t *testing.T) {
	labAtRest(t)
	const n = 10000
	ns := fmt.Sprintf("e2e-journal-%d", time.Now().Unix()%100000)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--timeout=300s")
		}
	})
	createConfigMaps(t, "blue", ns, n)

	jd := t.TempDir()
	var sizes []int64
	for i := 0; i < 20; i++ {
		out, _ := syncJSON(t, jd, 0, "--namespace", ns)
		if i == 0 && len(out.with("created")) < n {
			t.Fatalf("first sync created %d objects, want at least %d", len(out.with("created")), n)
		}
		files, _ := filepath.Glob(filepath.Join(jd, "sync-*.jsonl"))
		if len(files) != 1 {
			t.Fatalf("journal files after sync %d: %v, want one", i+1, files)
		}
		st, err := os.Stat(files[0])
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, st.Size())
		if st.Size() >= 1<<20 {
			t.Fatalf("journal after sync %d of %d objects: %d bytes, want < 1 MB", i+1, n, st.Size())
		}
	}
	files, _ := filepath.Glob(filepath.Join(jd, "sync-*.jsonl"))
	recs, err := journal.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Op != journal.OpStart || recs[1].Op != journal.OpEnd || recs[0].Run != recs[1].Run {
		t.Fatalf("journal after 20 syncs holds %d records, want the last run's start and end: %+v", len(recs), recs)
	}
	t.Logf("journal sizes after each of 20 syncs of %d objects: %v bytes", n, sizes)
}

// createConfigMaps creates ns and n small ConfigMaps in it, 16 at a time.
func createConfigMaps(t *testing.T, ctxName, ns string, n int) {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: lab.kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: ctxName}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	names := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i), Namespace: ns},
					Data: map[string]string{"index": fmt.Sprint(i)}}
				if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		names <- i
	}
	close(names)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("creating %d ConfigMaps in %s: %d failed, first: %s", n, ctxName, len(errs), strings.Join(errs[:1], ""))
	}
}
