package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
)

// goalPlanSeconds is the bound for a plan over 10,000 objects.
const goalPlanSeconds = 10.0

// planRuns is how many times `tandem plan` runs; the median is reported.
const planRuns = 3

// BenchmarkPlan10k measures `tandem plan` blue → green over the 10,000-object
// data set against a baseline measured in the same run: listing every
// listable resource of blue, page by page, with no checks (the read floor).
func BenchmarkPlan10k(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	blueRC, err := restConfig("blue")
	if err != nil {
		b.Fatal(err)
	}
	blue, err := kubernetes.NewForConfig(blueRC)
	if err != nil {
		b.Fatal(err)
	}
	if err := fillBlue(ctx, blue, blueRC); err != nil {
		b.Fatal(err)
	}
	floor, listed, err := planListFloor(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var walls []time.Duration
	var rss []int64
	objects := 0
	b.ResetTimer()
	for i := 0; i < planRuns; i++ {
		wall, rssKiB, n, err := runPlan(ctx, totalObjects)
		if err != nil {
			b.Fatal(err)
		}
		walls, rss, objects = append(walls, wall), append(rss, rssKiB), n
	}
	b.StopTimer()
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	median, peak := walls[len(walls)/2], rss[len(rss)-1]
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median.Seconds(), "plan_s")
	b.ReportMetric(floor.Seconds(), "list_floor_s")
	b.ReportMetric(float64(peak)/1024, "plan_peak_rss_MB")
	b.ReportMetric(float64(objects), "objects")
	verdict := "meets"
	if median.Seconds() > goalPlanSeconds {
		verdict = "MISSES"
	}
	b.Logf("plan over %d objects (floor listed %d): median %s of %d runs %v, list floor %s (plan/floor %.2f), peak RSS %.0f MiB; %s the goal ≤ %.0f s",
		objects, listed, median.Round(time.Millisecond), planRuns, walls, floor.Round(time.Millisecond),
		median.Seconds()/floor.Seconds(), float64(peak)/1024, verdict, goalPlanSeconds)
}

// runPlan runs `tandem plan -o json` and returns its wall time, peak RSS and
// the number of objects it read, which must be at least minObjects. Exit 1
// (error findings) is expected: the lab's seed holds APIs green does not
// serve.
func runPlan(ctx context.Context, minObjects int) (time.Duration, int64, int, error) {
	cmd := exec.CommandContext(ctx, lab.bin, "plan", "--kubeconfig", lab.kubeconfig, "--source", "blue", "--target", "green", "-o", "json")
	cmd.Env = labEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	var peak rssPeak // VmHWM from /proc, not rusage (see rssPeak)
	runErr := peak.run(cmd)
	wall := time.Since(start)
	rssKiB := max(peak.hwm.Load(), peak.sum.Load())
	if cmd.ProcessState == nil {
		return wall, rssKiB, 0, fmt.Errorf("tandem plan: %v", runErr)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 1 {
		return wall, rssKiB, 0, fmt.Errorf("tandem plan: %v\n%s", runErr, tail(errb.String(), 3000))
	}
	var rep struct {
		Objects int `json:"objects"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return wall, rssKiB, 0, fmt.Errorf("tandem plan -o json: %v\n%s", err, tail(out.String(), 3000))
	}
	if rep.Objects < minObjects {
		return wall, rssKiB, rep.Objects, fmt.Errorf("plan read %d objects, want at least %d", rep.Objects, minObjects)
	}
	return wall, rssKiB, rep.Objects, nil
}

// planListFloor lists every listable resource of blue once, as plan does,
// and does nothing with the objects.
func planListFloor(ctx context.Context) (time.Duration, int, error) {
	source, err := cluster.Connect(lab.kubeconfig, "blue")
	if err != nil {
		return 0, 0, err
	}
	target, err := cluster.Connect(lab.kubeconfig, "green")
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resources, err := inventory.DiscoverCopy(ctx, source, target)
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for _, r := range resources {
		if err := inventory.List(ctx, source, r, "", func(*unstructured.Unstructured) error { n++; return nil }); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(start), n, nil
}
