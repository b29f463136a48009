package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

const (
	mirrorLabel    = "bench=mirror"
	writtenAt      = "bench.tandem.io/written-at" // RFC3339Nano, set by the writer just before the request
	goalMirrorP99  = time.Second
	mirrorRate     = 50 // changes per second
	mirrorSettling = 30 * time.Second
	mirrorWindow   = 10 * time.Second // the lags are also told by when the change was written, per window
)

// lagBook collects, per change, when it was written and when each watcher saw it.
type lagBook struct {
	mu      sync.Mutex
	written map[string]time.Time // change id → written
	kind    map[string]string    // change id → what the change was (create, update…)
	seen    map[string]map[string]time.Time
}

func newLagBook() *lagBook {
	return &lagBook{written: map[string]time.Time{}, kind: map[string]string{}, seen: map[string]map[string]time.Time{"blue": {}, "green": {}}}
}

func (l *lagBook) write(id, kind string, at time.Time) {
	l.mu.Lock()
	l.written[id] = at
	l.kind[id] = kind
	l.mu.Unlock()
}

func (l *lagBook) saw(cluster, id string) {
	now := time.Now()
	l.mu.Lock()
	if _, ok := l.seen[cluster][id]; !ok {
		l.seen[cluster][id] = now
	}
	l.mu.Unlock()
}

// lags returns the sorted lags of cluster and how many written changes it has not seen.
func (l *lagBook) lags(cluster string) ([]time.Duration, int) { return l.lagsOf(cluster, "") }

// lagsOf is lags of the changes of one kind ("": every change).
func (l *lagBook) lagsOf(cluster, kind string) ([]time.Duration, int) {
	return l.lagsWhere(cluster, func(id string, _ time.Time) bool { return kind == "" || l.kind[id] == kind })
}

// lagsWritten is lags of the changes written in [from, to).
func (l *lagBook) lagsWritten(cluster string, from, to time.Time) ([]time.Duration, int) {
	return l.lagsWhere(cluster, func(_ string, w time.Time) bool { return !w.Before(from) && w.Before(to) })
}

func (l *lagBook) lagsWhere(cluster string, keep func(id string, written time.Time) bool) ([]time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	missing := 0
	for id, w := range l.written {
		if !keep(id, w) {
			continue
		}
		s, ok := l.seen[cluster][id]
		if !ok {
			missing++
			continue
		}
		out = append(out, s.Sub(w))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, missing
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, len(ds)*p/100)]
}

// watchChanges feeds the book from a cluster's watches of the bench objects:
// creates and updates by their written-at stamp, deletes by name.
func watchChanges(ctx context.Context, cs kubernetes.Interface, cluster string, book *lagBook, ready *sync.WaitGroup) error {
	cms, err := cs.CoreV1().ConfigMaps("").Watch(ctx, metav1.ListOptions{LabelSelector: mirrorLabel})
	if err != nil {
		return err
	}
	deps, err := cs.AppsV1().Deployments("").Watch(ctx, metav1.ListOptions{LabelSelector: mirrorLabel})
	if err != nil {
		return err
	}
	ready.Done()
	go func() {
		defer cms.Stop()
		defer deps.Stop()
		for {
			var ev watch.Event
			var ok bool
			select {
			case <-ctx.Done():
				return
			case ev, ok = <-cms.ResultChan():
			case ev, ok = <-deps.ResultChan():
			}
			if !ok {
				return
			}
			m, err := metaOf(ev.Object)
			if err != nil {
				continue
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if at := m.GetAnnotations()[writtenAt]; at != "" {
					book.saw(cluster, m.GetNamespace()+"/"+m.GetName()+"@"+at)
				}
			case watch.Deleted:
				book.saw(cluster, "delete "+m.GetNamespace()+"/"+m.GetName())
			}
		}
	}()
	return nil
}

func metaOf(o any) (metav1.Object, error) {
	switch v := o.(type) {
	case *corev1.ConfigMap:
		return v, nil
	case *appsv1.Deployment:
		return v, nil
	}
	return nil, fmt.Errorf("unexpected %T", o)
}

// BenchmarkMirrorLag measures how long a change in blue takes to appear in
// green through `tandem mirror`: a bounded writer makes ~50 changes/s
// (ConfigMap creates, updates and deletes, Deployment image changes, new
// namespaces) for TANDEM_BENCH_MIRROR_SECONDS (default 60), each stamped
// with its write time; watches on green see them arrive. The baseline, in
// the same run: a watch on blue itself seeing the same changes — the floor of
// any watch-based copy. With TANDEM_BENCH_MIRROR_OBJECTS=N (a multiple of
// 200), blue also holds N objects of the scale benchmark's cheap set before
// the mirror starts: what the mirror costs with a large cluster watched.
// See README.md.
func BenchmarkMirrorLag(b *testing.B) {
	seconds := 60
	if s := os.Getenv("TANDEM_BENCH_MIRROR_SECONDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 600 {
			seconds = n
		}
	}
	watched := 0
	if s := os.Getenv("TANDEM_BENCH_MIRROR_OBJECTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n%objectsPerNS != 0 {
			b.Fatalf("TANDEM_BENCH_MIRROR_OBJECTS: %q is not a multiple of %d", s, objectsPerNS)
		}
		watched = n
	}
	// The initial pass copies the watched objects: its limit grows with them
	// (≥ 100 objects/s; tandem syncs 300–400 here).
	initialLimit := 5*time.Minute + time.Duration(watched/100)*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second+10*time.Minute+2*initialLimit)
	defer cancel()
	blue, err := clientset("blue")
	if err != nil {
		b.Fatal(err)
	}
	green, err := clientset("green")
	if err != nil {
		b.Fatal(err)
	}
	report := func(format string, args ...any) { fmt.Printf("bench: "+format+"\n", args...) }
	base := []string{"mbench-0", "mbench-1", "mbench-2", "mbench-3", "mbench-4"}
	var created []string
	defer func() {
		for _, cs := range []kubernetes.Interface{green, blue} {
			for _, n := range append(base, created...) {
				_ = cs.CoreV1().Namespaces().Delete(context.Background(), n, metav1.DeleteOptions{})
			}
		}
	}()
	if watched > 0 {
		names := namespaceNamesN("mwatch", watched/objectsPerNS)
		defer func() {
			_ = deleteNamespaces(context.Background(), green, names, 30*time.Minute)
			_ = deleteNamespaces(context.Background(), blue, names, 30*time.Minute)
		}()
		start := time.Now()
		if _, err := createAll(ctx, blue, namespaceObjectsOf(names), workers, true); err != nil {
			b.Fatal(err)
		}
		if _, err := createAll(ctx, blue, setObjects(setCheap, names), workers, true); err != nil {
			b.Fatal(err)
		}
		report("blue: %d more objects to watch (%d namespaces) in %s", watched, len(names), time.Since(start).Round(time.Second))
	}
	labels := map[string]string{"bench": "mirror"}
	for _, ns := range base {
		if _, err := blue.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%d", i), Namespace: ns, Labels: labels},
				Spec: appsv1.DeploymentSpec{
					Replicas: new(int32),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprint(i)}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": fmt.Sprint(i)}},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1"}}},
					},
				},
			}
			if _, err := blue.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}

	// The mirror, as a user runs it.
	mctx, mcancel := context.WithCancel(ctx)
	defer mcancel()
	mirror := exec.CommandContext(mctx, lab.bin, "mirror", "--source", "blue", "--target", "green", "--prune", "-v",
		"--duration", strconv.Itoa(seconds+int((mirrorSettling+initialLimit)/time.Second)+120)+"s", "--progress-every", "10s")
	// TANDEM_BENCH_MIRROR_HEAP=1: the mirror's heap profile at its largest
	// live heap (off by default: the lags are measured without it).
	heap := ""
	mirror.Env = labEnv()
	if os.Getenv("TANDEM_BENCH_MIRROR_HEAP") != "" {
		heap = filepath.Join(lab.dir, "mirror-heap.prof")
		mirror.Env = append(mirror.Env, "TANDEM_HEAPPROFILE="+heap)
	}
	mirror.Cancel = func() error { return mirror.Process.Signal(syscall.SIGTERM) }
	stderr, err := mirror.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := mirror.Start(); err != nil {
		b.Fatal(err)
	}
	// Its RSS from /proc (rssPeak): over the whole run, and from the end
	// of the initial pass on (the mirror watching).
	var whole, watching rssPeak
	stopPolls := make(chan struct{})
	defer close(stopPolls)
	go whole.watch(mirror.Process.Pid, stopPolls)
	initial := make(chan time.Time, 1)
	exited := make(chan struct{}) // its stderr ended: the mirror is gone
	var mirrorLog strings.Builder
	var logMu sync.Mutex
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			mirrorLog.WriteString(line + "\n")
			logMu.Unlock()
			if strings.Contains(line, "initial pass done") {
				initial <- time.Now()
			}
		}
	}()
	started := time.Now()
	select {
	case at := <-initial:
		report("mirror: initial pass done %s after start (peak RSS so far %d MB: anonymous %d, the binary's pages %d)",
			at.Sub(started).Round(time.Millisecond), max(whole.hwm.Load(), whole.sum.Load())/1024, whole.anon.Load()/1024, whole.file.Load()/1024)
	case <-exited:
		logMu.Lock()
		b.Fatalf("the mirror exited before its initial pass was done; its log:\n%s", tailLines(mirrorLog.String(), 20))
	case <-time.After(initialLimit):
		logMu.Lock()
		b.Fatalf("the mirror's initial pass did not finish in %s; its log:\n%s", initialLimit, tailLines(mirrorLog.String(), 20))
	}
	go watching.watch(mirror.Process.Pid, stopPolls)

	book := newLagBook()
	var ready sync.WaitGroup
	ready.Add(2)
	if err := watchChanges(ctx, blue, "blue", book, &ready); err != nil {
		b.Fatal(err)
	}
	if err := watchChanges(ctx, green, "green", book, &ready); err != nil {
		b.Fatal(err)
	}
	ready.Wait()

	// The machine's CPU, sampled while the writer runs: a lag that comes
	// with every core busy is the machine's, not the mirror's alone.
	cpu := &cpuSampler{}
	go cpu.run(stopPolls)

	// The writer: one change every 1/rate s, bounded by the duration.
	b.ResetTimer()
	rng := rand.New(rand.NewSource(1))
	live := map[string][]string{} // namespace → ConfigMaps that exist
	kinds := map[string]int{}
	tick := time.NewTicker(time.Second / mirrorRate)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		<-tick.C
		n++
		ns := base[rng.Intn(len(base))]
		stamp := time.Now().UTC().Format(time.RFC3339Nano)
		ann := map[string]string{writtenAt: stamp}
		var err error
		switch r := rng.Intn(100); {
		case r < 50 || len(live[ns]) == 0: // create
			name := fmt.Sprintf("cm-%05d", n)
			book.write(ns+"/"+name+"@"+stamp, "create", time.Now())
			_, err = blue.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: ann}, Data: map[string]string{"n": strconv.Itoa(n)}}, metav1.CreateOptions{})
			live[ns] = append(live[ns], name)
			kinds["create"]++
		case r < 75: // update
			name := live[ns][rng.Intn(len(live[ns]))]
			book.write(ns+"/"+name+"@"+stamp, "update", time.Now())
			_, err = blue.CoreV1().ConfigMaps(ns).Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: ann}, Data: map[string]string{"n": strconv.Itoa(n)}}, metav1.UpdateOptions{})
			kinds["update"]++
		case r < 90: // delete
			i := rng.Intn(len(live[ns]))
			name := live[ns][i]
			live[ns] = append(live[ns][:i], live[ns][i+1:]...)
			book.write("delete "+ns+"/"+name, "delete", time.Now())
			err = blue.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{})
			kinds["delete"]++
		case r < 95: // a Deployment's image
			name := fmt.Sprintf("app-%d", rng.Intn(4))
			book.write(ns+"/"+name+"@"+stamp, "image", time.Now())
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.%d"}]}}}}`, writtenAt, stamp, n)
			_, err = blue.AppsV1().Deployments(ns).Patch(ctx, name, "application/strategic-merge-patch+json", []byte(patch), metav1.PatchOptions{})
			kinds["image"]++
		default: // a new namespace with a ConfigMap in it
			nns := fmt.Sprintf("mbench-new-%05d", n)
			created = append(created, nns)
			if _, err = blue.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nns}}, metav1.CreateOptions{}); err == nil {
				book.write(nns+"/first@"+stamp, "namespace", time.Now())
				_, err = blue.CoreV1().ConfigMaps(nns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first", Namespace: nns, Labels: labels, Annotations: ann}}, metav1.CreateOptions{})
			}
			kinds["namespace"]++
		}
		if err != nil {
			b.Fatalf("change %d: %v", n, err)
		}
	}
	tick.Stop()
	writeTook := time.Since(deadline.Add(-time.Duration(seconds) * time.Second))
	// Let the last changes arrive (bounded).
	settle := time.Now().Add(mirrorSettling)
	for time.Now().Before(settle) {
		if _, missing := book.lags("green"); missing == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.StopTimer()
	// The final states compared object by object, the mirror still running:
	// a coalesced update leaves no difference, a lost one does.
	var diffs []string
	eventuallyIn := time.Now().Add(mirrorSettling)
	for {
		diffs = finalDifferences(ctx, blue, green, append(append([]string{}, base...), created...), labels)
		if len(diffs) == 0 || time.Now().After(eventuallyIn) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	mcancel()
	_ = mirror.Wait()

	gl, gMissing := book.lags("green")
	bl, bMissing := book.lags("blue")
	rss := max(whole.hwm.Load(), whole.sum.Load()) / 1024
	watchingRSS := watching.sum.Load() / 1024
	rate := float64(n) / writeTook.Seconds()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(float64(n), "changes")
	b.ReportMetric(rate, "changes/s")
	b.ReportMetric(ms(pct(gl, 50)), "mirror_p50_ms")
	b.ReportMetric(ms(pct(gl, 99)), "mirror_p99_ms")
	b.ReportMetric(ms(pct(bl, 50)), "floor_p50_ms")
	b.ReportMetric(ms(pct(bl, 99)), "floor_p99_ms")
	b.ReportMetric(float64(gMissing), "missed")
	b.ReportMetric(float64(len(diffs)), "final_differences")
	b.ReportMetric(float64(rss), "mirror_peak_rss_MB")
	b.ReportMetric(float64(watchingRSS), "mirror_watching_peak_rss_MB")
	b.ReportMetric(float64(watched), "objects_watched")
	if f := pct(bl, 99); f > 0 {
		b.ReportMetric(float64(pct(gl, 99))/float64(f), "p99/floor_p99")
	}
	report("%d changes in %s (%.1f/s): %v", n, writeTook.Round(time.Millisecond), rate, kinds)
	report("green via tandem mirror: p50 %s p90 %s p99 %s max %s, %d of %d not seen", pct(gl, 50), pct(gl, 90), pct(gl, 99), pct(gl, 100), gMissing, len(book.written))
	report("blue's own watch (floor): p50 %s p99 %s, %d not seen", pct(bl, 50), pct(bl, 99), bMissing)
	for _, kind := range []string{"create", "update", "delete", "image", "namespace"} {
		g, _ := book.lagsOf("green", kind)
		f, _ := book.lagsOf("blue", kind)
		report("  %-9s green p50 %s p99 %s max %s; floor p50 %s p99 %s", kind, pct(g, 50), pct(g, 99), pct(g, 100), pct(f, 50), pct(f, 99))
	}
	// By when the change was written: a lag that falls as the run goes on
	// is what follows the initial pass (the look for deletes not heard,
	// queueGone, listing the target: bench/README, run 10).
	writeStart := deadline.Add(-time.Duration(seconds) * time.Second)
	for from := writeStart; from.Before(deadline); from = from.Add(mirrorWindow) {
		to := from.Add(mirrorWindow)
		g, gm := book.lagsWritten("green", from, to)
		f, _ := book.lagsWritten("blue", from, to)
		report("  %3.0f–%3.0f s: green p50 %s p99 %s (%d not seen); floor p50 %s p99 %s; the machine's CPU %s busy",
			from.Sub(writeStart).Seconds(), to.Sub(writeStart).Seconds(), pct(g, 50), pct(g, 99), gm, pct(f, 50), pct(f, 99), cpu.busy(from, to))
		report("            the most of it: %s", cpu.top(from, to, 5))
	}
	report("mirror peak RSS %d MB (initial pass included), %d MB while watching (anonymous ≤ %d MB, the binary's pages ≤ %d MB), %d more objects watched",
		rss, watchingRSS, watching.anon.Load()/1024, watching.file.Load()/1024, watched)
	report("final states: %d differences between blue and green (ConfigMaps and Deployments of the benchmark)", len(diffs))
	logMu.Lock()
	for _, line := range strings.Split(mirrorLog.String(), "\n") {
		if strings.HasPrefix(line, "mirror stopped:") {
			report("the mirror's own count: %s", line)
		}
	}
	logMu.Unlock()
	if heap != "" {
		if top, err := profileTop(heap, "-sample_index=inuse_space"); err == nil {
			report("the mirror's heap at its largest (in use):\n%s", top)
		}
	}
	for i, d := range diffs {
		if i == 10 {
			report("  … %d more", len(diffs)-10)
			break
		}
		report("  %s", d)
	}
	verdict := "met"
	if pct(gl, 99) >= goalMirrorP99 || gMissing > 0 || len(diffs) > 0 {
		verdict = "NOT met"
	}
	b.Logf("goal p99 < %s and nothing missed: %s (p99 %s, %d missed)", goalMirrorP99, verdict, pct(gl, 99), gMissing)
	if gMissing > 0 {
		logMu.Lock()
		b.Logf("mirror log tail:\n%s", tailLines(mirrorLog.String(), 20))
		logMu.Unlock()
	}
}

// finalDifferences compares the benchmark's ConfigMaps (data and the
// written-at stamp) and Deployments (image) in the namespaces, blue against
// green, and says each difference.
func finalDifferences(ctx context.Context, blue, green kubernetes.Interface, namespaces []string, labels map[string]string) []string {
	sel := metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: labels})}
	state := func(cs kubernetes.Interface) (map[string]string, error) {
		out := map[string]string{}
		for _, ns := range namespaces {
			cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, sel)
			if err != nil {
				return nil, err
			}
			for _, c := range cms.Items {
				out["configmap "+ns+"/"+c.Name] = fmt.Sprint(c.Data, c.Annotations[writtenAt])
			}
			ds, err := cs.AppsV1().Deployments(ns).List(ctx, sel)
			if err != nil {
				return nil, err
			}
			for _, d := range ds.Items {
				out["deployment "+ns+"/"+d.Name] = d.Spec.Template.Spec.Containers[0].Image
			}
		}
		return out, nil
	}
	bs, err := state(blue)
	if err != nil {
		return []string{"blue: " + err.Error()}
	}
	gs, err := state(green)
	if err != nil {
		return []string{"green: " + err.Error()}
	}
	var diffs []string
	for k, v := range bs {
		switch g, ok := gs[k]; {
		case !ok:
			diffs = append(diffs, k+": missing in green")
		case g != v:
			diffs = append(diffs, fmt.Sprintf("%s: green has %q, blue %q", k, g, v))
		}
	}
	for k := range gs {
		if _, ok := bs[k]; !ok {
			diffs = append(diffs, k+": in green only (not pruned)")
		}
	}
	sort.Strings(diffs)
	return diffs
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
