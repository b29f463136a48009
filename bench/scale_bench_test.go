package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The data sets of BenchmarkSyncScale: "mixed" is BenchmarkSync10k's
// namespace of 200 objects (ConfigMaps, Secrets, Services, Deployments,
// RBAC); "cheap" is 120 ConfigMaps and 80 Secrets per namespace.
const (
	setMixed = "mixed"
	setCheap = "cheap"
)

// scalePoint is one data set at one size, measured in one run.
type scalePoint struct {
	Set        string `json:"set"`
	Objects    int    `json:"objects"`
	Namespaces int    `json:"namespaces"`
	// RawObjPerS is green's raw write limit measured before tandem's sync,
	// RawAfterObjPerS the same writes again after it (tandem's objects
	// deleted first, as raw's were before tandem): the lab's rate drifts
	// within a run (by up to 2× in run H), and green's etcd holds more
	// history with each phase. tandem's
	// ratio (OfRaw) is against their mean, the raw limit bracketing
	// tandem's own conditions; OfRawBefore is against the first alone (how
	// it was measured until 2026-12-04).
	RawObjPerS      float64 `json:"raw_obj_per_s"`
	RawAfterObjPerS float64 `json:"raw_after_obj_per_s,omitempty"`
	OfRawBefore     float64 `json:"tandem_of_raw_before,omitempty"`
	// RawApplyObjPerS: with TANDEM_BENCH_RAW_APPLY set, the same writes as
	// server-side applies (32 parallel dynamic-client applies).
	RawApplyObjPerS float64 `json:"raw_apply_obj_per_s,omitempty"`
	ObjPerS         float64 `json:"tandem_obj_per_s"`
	OfRaw           float64 `json:"tandem_of_raw"`
	WallS           float64 `json:"tandem_wall_s"`
	BeforeFirstS    float64 `json:"before_first_write_s"`
	// PartFirstS: the time before the first write when --namespace names
	// 5 of the set's namespaces (those 5 deleted from green first).
	PartFirstS float64        `json:"before_first_write_5_namespaces_s"`
	PeakRSSMB  float64        `json:"tandem_peak_rss_mb"`
	AnonMB     int64          `json:"tandem_peak_anon_mb"` // heap, stacks
	FileMB     int64          `json:"tandem_peak_file_mb"` // the binary's pages
	HeapMB     int            `json:"go_heap_mb"`
	LiveMB     int            `json:"go_live_mb"`
	Waves      map[string]int `json:"wave_obj_per_s"`
	NoopS      float64        `json:"noop_wall_s"`
	NoopRSSMB  float64        `json:"noop_peak_rss_mb"`
	// PlanS and PlanRSSMB: `tandem plan` blue → green once both hold the
	// set (every check; its wall time and peak RSS).
	PlanS     float64 `json:"plan_wall_s,omitempty"`
	PlanRSSMB float64 `json:"plan_peak_rss_mb,omitempty"`
	// Export and import of the set (measureExportImport): blue's archive,
	// imported into green without 5 of the set's namespaces.
	ExportS     float64 `json:"export_wall_s,omitempty"`
	ExportRSSMB float64 `json:"export_peak_rss_mb,omitempty"`
	ArchiveMB   float64 `json:"archive_mb,omitempty"`
	ImportS     float64 `json:"import_wall_s,omitempty"`
	ImportRSSMB float64 `json:"import_peak_rss_mb,omitempty"`
	Profile     string  `json:"cpu_profile_top,omitempty"`
	// HeapProfile and NoopHeapProfile: the top of the heap in use at its
	// largest (TANDEM_HEAPPROFILE), of the sync (with TANDEM_BENCH_HEAP=1)
	// and of the no-op re-run.
	HeapProfile     string `json:"heap_profile_top,omitempty"`
	NoopHeapProfile string `json:"noop_heap_profile_top,omitempty"`
}

// rawObjPerS is the raw write limit tandem is compared with: the mean of
// the two sides of the bracket, or the one before tandem where a point has
// no other.
func (p scalePoint) rawObjPerS() float64 {
	if p.RawAfterObjPerS == 0 {
		return p.RawObjPerS
	}
	return (p.RawObjPerS + p.RawAfterObjPerS) / 2
}

// BenchmarkSyncScale measures `tandem sync` at several sizes of two data
// sets, each in one run against green's raw write limit at the same size:
// TANDEM_BENCH_SETS (default "cheap,mixed") and TANDEM_BENCH_SIZES (default
// "10000,30000,100000" objects, 200 per namespace). Per point: raw creates
// (32 parallel client-go writers, no rate limit), tandem sync with default
// flags naming every namespace of the set (peak RSS, Go heap, time before
// the first write, objects/s per wave, a CPU profile), the re-run with
// nothing changed, `tandem plan` over both clusters (wall time, peak RSS),
// and a sync of 5 of the namespaces (the time before its
// first write), then raw creates again (tandem's objects deleted first, as
// raw's were before it): tandem is compared with the mean of the two. With
// TANDEM_BENCH_MERGE set, the points of an earlier run
// that this one did not measure are kept. Blue holds one point's data at a time. The numbers go to
// bench/scale.json and a plot of them to bench/scale.png. See README.md.
// TANDEM_BENCH_WORKERS=N runs tandem with --workers N instead, to compare
// with the default: such a run is printed, not saved.
func BenchmarkSyncScale(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Hour)
	defer cancel()
	sets := strings.Split(envOr("TANDEM_BENCH_SETS", setCheap+","+setMixed), ",")
	var sizes []int
	for _, s := range strings.Split(envOr("TANDEM_BENCH_SIZES", "10000,30000,100000"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < objectsPerNS || n%objectsPerNS != 0 {
			b.Fatalf("TANDEM_BENCH_SIZES: %q is not a multiple of %d", s, objectsPerNS)
		}
		sizes = append(sizes, n)
	}
	pair := connectPair(b)
	blueRC, greenRC, blue, green := pair.blueRC, pair.greenRC, pair.blue, pair.green
	report := func(format string, args ...any) { fmt.Printf("bench: "+format+"\n", args...) }
	b.ResetTimer()
	var points []scalePoint
	for _, set := range sets {
		for _, size := range sizes {
			p, err := measureScale(ctx, blue, green, blueRC, greenRC, set, size, report)
			if err != nil {
				b.Fatalf("%s %d: %v", set, size, err)
			}
			points = append(points, p)
			report("%s", scaleRow(p))
			// Saved after each point: a run stopped later keeps what it measured.
			if benchWorkers() > 0 {
				continue
			}
			if err := saveScale(points); err != nil {
				b.Error(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	for _, p := range points {
		b.ReportMetric(p.OfRaw, fmt.Sprintf("%s_%dk_tandem/raw", p.Set, p.Objects/1000))
		b.ReportMetric(p.PeakRSSMB, fmt.Sprintf("%s_%dk_peak_rss_MB", p.Set, p.Objects/1000))
	}
	report("markdown:\n%s", scaleTable(points))
}

// saveScale writes points to bench/scale.json (with TANDEM_BENCH_MERGE set,
// after the points of an earlier run that this one has not measured) and
// draws them into bench/scale.png. A run without the raw phases
// (TANDEM_BENCH_NO_RAW) has no ratios to draw: it writes
// bench/scale-tandem-only.json and .png instead (not kept in git), and the
// saved run stays as it is.
func saveScale(points []scalePoint) error {
	name := "scale"
	if os.Getenv("TANDEM_BENCH_NO_RAW") != "" {
		name = "scale-tandem-only"
	}
	jsonPath := filepath.Join(lab.root, "bench", name+".json")
	if os.Getenv("TANDEM_BENCH_MERGE") != "" {
		points = mergePoints(jsonPath, points)
	}
	out, _ := json.MarshalIndent(points, "", "  ")
	if err := os.WriteFile(jsonPath, append(out, '\n'), 0o644); err != nil {
		return err
	}
	return plotScale(points, filepath.Join(lab.root, "bench", name+".png"))
}

// mergePoints is the points of an earlier run in path that this run did
// not measure (another data set or size), then this run's: with
// TANDEM_BENCH_MERGE set, the sets can be run one at a time.
func mergePoints(path string, points []scalePoint) []scalePoint {
	var earlier []scalePoint
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &earlier)
	}
	measured := func(q scalePoint) bool {
		return slices.ContainsFunc(points, func(p scalePoint) bool { return p.Set == q.Set && p.Objects == q.Objects })
	}
	var out []scalePoint
	for _, q := range earlier {
		if !measured(q) {
			out = append(out, q)
		}
	}
	out = append(out, points...)
	slices.SortStableFunc(out, func(a, b scalePoint) int {
		if a.Set != b.Set {
			return strings.Compare(a.Set, b.Set)
		}
		return a.Objects - b.Objects
	})
	return out
}

// benchWorkers is TANDEM_BENCH_WORKERS: the --workers of tandem's runs
// (0: the default).
func benchWorkers() int {
	n, _ := strconv.Atoi(os.Getenv("TANDEM_BENCH_WORKERS"))
	return max(n, 0)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// setObjects is the data set's objects in names.
func setObjects(set string, names []string) []runtime.Object {
	var out []runtime.Object
	for _, ns := range names {
		if set == setCheap {
			out = append(out, cheapObjects(ns)...)
		} else {
			out = append(out, namespaceObjects(ns)...)
		}
	}
	return out
}

// measureScale fills blue with one point's data, measures raw, tandem and
// the no-op re-run, and leaves both clusters without it.
func measureScale(ctx context.Context, blue, green kubernetes.Interface, blueRC, greenRC *rest.Config, set string, size int, report func(string, ...any)) (scalePoint, error) {
	p := scalePoint{Set: set, Objects: size, Namespaces: size / objectsPerNS}
	tag := fmt.Sprintf("%s%dk", set[:1], size/1000) // c10k, m100k
	src, raw := namespaceNamesN("s"+tag, p.Namespaces), namespaceNamesN("r"+tag, p.Namespaces)
	defer func() {
		bg := context.Background()
		_ = deleteNamespaces(bg, green, append(slices.Clone(src), raw...), 30*time.Minute)
		_ = deleteNamespaces(bg, blue, src, 30*time.Minute)
	}()

	// Blue: not timed.
	start := time.Now()
	if _, err := createAll(ctx, blue, namespaceObjectsOf(src), workers, true); err != nil {
		return p, fmt.Errorf("blue namespaces: %w", err)
	}
	if _, err := createAll(ctx, blue, setObjects(set, src), workers, true); err != nil {
		return p, fmt.Errorf("blue objects: %w", err)
	}
	if set == setMixed {
		if _, err := waitReplicaSetsN(ctx, blue, "s"+tag, p.Namespaces*deploymentsPerNS, 30*time.Minute); err != nil {
			return p, fmt.Errorf("blue: %w", err)
		}
	}
	if n, byKind, err := countSet(ctx, blueRC, "s"+tag); err != nil || n != size {
		return p, fmt.Errorf("blue has %d objects of the set, want %d (%v): %v", n, size, byKind, err)
	}
	report("%s %d: blue filled in %s", set, size, time.Since(start).Round(time.Second))

	// Raw: green's write limit at this size (TANDEM_BENCH_NO_RAW skips it:
	// a re-measure of tandem alone, its ratios left at 0).
	if os.Getenv("TANDEM_BENCH_NO_RAW") != "" {
		return measureScaleTandem(ctx, green, greenRC, set, size, tag, src, p, report)
	}
	start = time.Now()
	if _, err := createAll(ctx, green, namespaceObjectsOf(raw), workers, false); err != nil {
		return p, fmt.Errorf("raw namespaces: %w", err)
	}
	if _, err := createAll(ctx, green, setObjects(set, raw), workers, false); err != nil {
		return p, fmt.Errorf("raw objects: %w", err)
	}
	rawPhase := phase{took: time.Since(start), objects: size}
	p.RawObjPerS = rawPhase.rate()
	report("%s %d: raw %s = %.0f obj/s", set, size, rawPhase.took.Round(time.Millisecond), p.RawObjPerS)
	if err := settle(ctx, green, raw); err != nil {
		return p, err
	}
	if os.Getenv("TANDEM_BENCH_RAW_APPLY") != "" {
		// The same writes as server-side applies (tandem's kind of write),
		// 32 parallel dynamic-client applies, no rate limit.
		dyn, err := dynamic.NewForConfig(greenRC)
		if err != nil {
			return p, err
		}
		ssa := namespaceNamesN("a"+tag, p.Namespaces)
		defer func() { _ = deleteNamespaces(context.Background(), green, ssa, 30*time.Minute) }()
		start = time.Now()
		if _, err := applyAll(ctx, dyn, namespaceObjectsOf(ssa), workers); err != nil {
			return p, fmt.Errorf("raw apply namespaces: %w", err)
		}
		if _, err := applyAll(ctx, dyn, setObjects(set, ssa), workers); err != nil {
			return p, fmt.Errorf("raw apply objects: %w", err)
		}
		p.RawApplyObjPerS = phase{took: time.Since(start), objects: size}.rate()
		report("%s %d: raw server-side apply = %.0f obj/s", set, size, p.RawApplyObjPerS)
		if err := settle(ctx, green, ssa); err != nil {
			return p, err
		}
	}

	p, err := measureScaleTandem(ctx, green, greenRC, set, size, tag, src, p, report)
	if err != nil {
		return p, err
	}

	// Raw again, after tandem: the other side of the bracket. Its
	// objects are gone from green first, as raw's were before tandem.
	if err := settle(ctx, green, src); err != nil {
		return p, err
	}
	after := namespaceNamesN("q"+tag, p.Namespaces)
	defer func() { _ = deleteNamespaces(context.Background(), green, after, 30*time.Minute) }()
	start = time.Now()
	if _, err := createAll(ctx, green, namespaceObjectsOf(after), workers, false); err != nil {
		return p, fmt.Errorf("raw namespaces (after): %w", err)
	}
	if _, err := createAll(ctx, green, setObjects(set, after), workers, false); err != nil {
		return p, fmt.Errorf("raw objects (after): %w", err)
	}
	afterPhase := phase{took: time.Since(start), objects: size}
	p.RawAfterObjPerS = afterPhase.rate()
	p.OfRawBefore = p.ObjPerS / p.RawObjPerS
	p.OfRaw = p.ObjPerS / p.rawObjPerS()
	report("%s %d: raw after tandem %s = %.0f obj/s; tandem %.2f of the mean raw (%.2f of raw before, %.2f of raw after)",
		set, size, afterPhase.took.Round(time.Millisecond), p.RawAfterObjPerS, p.OfRaw, p.OfRawBefore, p.ObjPerS/p.RawAfterObjPerS)
	return p, nil
}

// measureScaleTandem is a point's tandem phases: the sync, the no-op re-run and
// the sync of 5 namespaces, blue holding the point's data (src).
func measureScaleTandem(ctx context.Context, green kubernetes.Interface, greenRC *rest.Config, set string, size int, tag string, src []string, p scalePoint, report func(string, ...any)) (scalePoint, error) {
	// tandem, default flags, with a CPU profile.
	journal := filepath.Join(lab.dir, "scale-journal-"+tag)
	prof := filepath.Join(lab.dir, "scale-cpu-"+tag+".prof")
	heap := filepath.Join(lab.dir, "scale-heap-"+tag+".prof")
	// The timed run carries the CPU profiler only (≈ 1 % of its CPU); the
	// heap profiler forces a full GC each time the live heap grows by a
	// tenth, so it rides on the timed run only when asked for
	// (TANDEM_BENCH_HEAP=1), and on the no-op re-run always.
	env := []string{"TANDEM_CPUPROFILE=" + prof}
	if os.Getenv("TANDEM_BENCH_HEAP") != "" {
		env = append(env, "TANDEM_HEAPPROFILE="+heap)
	}
	run, err := runSync(ctx, src, benchWorkers(), journal, env...)
	if err != nil {
		return p, err
	}
	run.objects = size
	if c := run.total["created"]; c < size {
		return p, fmt.Errorf("tandem created %d objects, want at least %d: totals %v", c, size, run.total)
	}
	if n, byKind, err := countSet(ctx, greenRC, "s"+tag); err != nil || n != size {
		return p, fmt.Errorf("green has %d objects of the set after tandem, want %d (%v): %v", n, size, byKind, err)
	}
	report("%s %d: tandem sync: %s", set, size, run)
	p.ObjPerS, p.WallS, p.PeakRSSMB = run.rate(), run.wall.Seconds(), run.rssMiB()
	if p.RawObjPerS > 0 {
		p.OfRaw = p.ObjPerS / p.RawObjPerS
	}
	p.HeapMB, p.LiveMB = run.heapMB, run.liveMB
	p.AnonMB, p.FileMB = run.anonKiB/1024, run.fileKiB/1024
	p.Waves = map[string]int{}
	for _, w := range run.waves {
		if w.took > 0 {
			p.Waves[w.name] = int(float64(w.objects) / w.took.Seconds())
		}
	}
	p.BeforeFirstS = run.firstWrite.Seconds()
	if top, err := profileTop(prof, "-cum"); err == nil {
		p.Profile = top
		report("%s %d: where tandem's CPU went (top, cumulative):\n%s", set, size, top)
	}
	if top, err := profileTop(prof, "-flat"); err == nil {
		report("%s %d: where tandem's CPU went (top, its own):\n%s", set, size, top)
	}
	if top, err := profileTop(heap, "-sample_index=inuse_space"); err == nil {
		p.HeapProfile = top
		report("%s %d: tandem's heap at its largest (in use):\n%s", set, size, top)
	}

	// The re-run with nothing changed.
	noopHeap := filepath.Join(lab.dir, "scale-noop-heap-"+tag+".prof")
	noop, err := runSync(ctx, src, benchWorkers(), journal, "TANDEM_HEAPPROFILE="+noopHeap)
	if err != nil {
		return p, err
	}
	if w := noop.total["created"] + noop.total["updated"]; w != 0 {
		return p, fmt.Errorf("tandem re-run with nothing changed wrote %d objects (totals %v)", w, noop.total)
	}
	p.NoopS, p.NoopRSSMB = noop.wall.Seconds(), noop.rssMiB()
	report("%s %d: tandem's no-op re-run: %s", set, size, noop)
	if top, err := profileTop(noopHeap, "-sample_index=inuse_space"); err == nil {
		p.NoopHeapProfile = top
		report("%s %d: the no-op re-run's heap at its largest (in use):\n%s", set, size, top)
	}

	// The preflight over the same clusters: every check reads the whole
	// source once.
	planWall, planKiB, _, err := runPlan(ctx, size)
	if err != nil {
		return p, err
	}
	p.PlanS, p.PlanRSSMB = planWall.Seconds(), float64(planKiB)/1024
	report("%s %d: tandem plan: %s, peak RSS %.0f MB", set, size, planWall.Round(time.Millisecond), p.PlanRSSMB)

	// Export and import: the archive of the set, imported into green
	// without 5 of its namespaces.
	part := src[:min(5, len(src))]
	exp, imp, archiveBytes, err := measureExportImport(ctx, green, src, part, tag)
	if err != nil {
		return p, err
	}
	p.ExportS, p.ExportRSSMB, p.ArchiveMB = exp.wall.Seconds(), exp.rssMiB(), float64(archiveBytes)/(1<<20)
	p.ImportS, p.ImportRSSMB = imp.wall.Seconds(), imp.rssMiB()
	report("%s %d: tandem export: %s, peak RSS %.0f MB, archive %.1f MB; tandem import (%d namespaces deleted from green first): %s, peak RSS %.0f MB, totals %v",
		set, size, exp.wall.Round(time.Millisecond), p.ExportRSSMB, p.ArchiveMB, len(part), imp.wall.Round(time.Millisecond), p.ImportRSSMB, imp.total)

	// A selection: 5 namespaces of the set, gone from green again.
	if err := deleteNamespaces(ctx, green, part, 10*time.Minute); err != nil {
		return p, err
	}
	sel, err := runSync(ctx, part, benchWorkers(), journal)
	if err != nil {
		return p, err
	}
	sel.objects = len(part) * objectsPerNS
	if c := sel.total["created"]; c < len(part)*objectsPerNS {
		return p, fmt.Errorf("tandem created %d objects of %d namespaces, want at least %d: totals %v", c, len(part), len(part)*objectsPerNS, sel.total)
	}
	p.PartFirstS = sel.firstWrite.Seconds()
	report("%s %d: tandem sync of %d namespaces: %s", set, size, len(part), sel)
	return p, nil
}

func scaleRow(p scalePoint) string {
	return fmt.Sprintf("| %s | %d | %.0f / %.0f | %.0f | %.2f (%.2f) | %.1f s | %.1f s (5 ns: %.1f s) | %.0f MB (anon %d, binary %d; heap ≤ %d, live ≤ %d) | %.1f s, %.0f MB |",
		p.Set, p.Objects, p.RawObjPerS, p.RawAfterObjPerS, p.ObjPerS, p.OfRaw, p.OfRawBefore, p.WallS, p.BeforeFirstS, p.PartFirstS, p.PeakRSSMB, p.AnonMB, p.FileMB, p.HeapMB, p.LiveMB, p.NoopS, p.NoopRSSMB)
}

func scaleTable(points []scalePoint) string {
	rows := []string{"| set | objects | raw obj/s (before / after tandem) | tandem obj/s | tandem / mean raw (/ raw before) | wall | before the first write | peak RSS | no-op re-run |", "|---|---|---|---|---|---|---|---|---|"}
	for _, p := range points {
		rows = append(rows, scaleRow(p))
	}
	return strings.Join(rows, "\n")
}

// plotScale draws peak RSS and objects/s (tandem's and raw's) against the
// object count, one line per data set, side by side in one PNG.
func plotScale(points []scalePoint, path string) error {
	points = slices.Clone(points)
	slices.SortStableFunc(points, func(a, b scalePoint) int { return a.Objects - b.Objects }) // each line left to right
	sets := map[string][]scalePoint{}
	var order []string
	for _, p := range points {
		if _, ok := sets[p.Set]; !ok {
			order = append(order, p.Set)
		}
		sets[p.Set] = append(sets[p.Set], p)
	}
	rss, rate := plot.New(), plot.New()
	rss.Title.Text, rss.X.Label.Text, rss.Y.Label.Text = "tandem sync: peak RSS", "objects", "MB"
	rate.Title.Text, rate.X.Label.Text, rate.Y.Label.Text = "objects/s", "objects", "objects/s"
	for _, pl := range []*plot.Plot{rss, rate} {
		pl.Add(plotter.NewGrid())
		pl.Legend.Top, pl.Legend.Left = false, false // bottom right: the lines start at the left
		pl.X.Min, pl.Y.Min = 0, 0
	}
	palette := []color.RGBA{{R: 0x1f, G: 0x77, B: 0xb4, A: 255}, {R: 0xd6, G: 0x27, B: 0x28, A: 255}, {R: 0x2c, G: 0xa0, B: 0x2c, A: 255}}
	line := func(pl *plot.Plot, name string, c color.RGBA, dashed bool, xys plotter.XYs) error {
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		l.Color, s.Color = c, c
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		pl.Add(l, s)
		pl.Legend.Add(name, l, s)
		return nil
	}
	for i, set := range order {
		c := palette[i%len(palette)]
		var mem, noop, tnd, raw plotter.XYs
		for _, p := range sets[set] {
			x := float64(p.Objects)
			mem = append(mem, plotter.XY{X: x, Y: p.PeakRSSMB})
			noop = append(noop, plotter.XY{X: x, Y: p.NoopRSSMB})
			tnd = append(tnd, plotter.XY{X: x, Y: p.ObjPerS})
			raw = append(raw, plotter.XY{X: x, Y: p.rawObjPerS()})
		}
		for _, err := range []error{
			line(rss, set+": sync", c, false, mem), line(rss, set+": no-op re-run", c, true, noop),
			line(rate, set+": tandem", c, false, tnd), line(rate, set+": raw creates (mean of before and after)", c, true, raw),
		} {
			if err != nil {
				return err
			}
		}
	}
	img := vgimg.New(vg.Points(960), vg.Points(400))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(16), PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{rss, rate}}, tiles, dc)
	rss.Draw(canvases[0][0])
	rate.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
