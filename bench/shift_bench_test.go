package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/haproxy"
)

const (
	shiftNS       = "bench-shift"
	shiftHost     = "shift.bench"
	shiftRate     = 300 // requests per second through HAProxy
	shiftRuns     = 5
	goalRollback  = time.Second
	shiftReplicas = 2
)

// sample is one request of the load.
type sample struct {
	sent, answered time.Time
	ok             bool
	cluster        string
}

// load is the probe drills use (traffic.Probe), with every request kept.
type load struct {
	mu      sync.Mutex
	samples []sample
	probe   *traffic.Probe
}

// startLoad sends shiftRate requests/s to HAProxy with Host shiftHost, bounded by limit.
func startLoad(limit time.Duration) *load {
	l := &load{}
	l.probe = &traffic.Probe{URL: "http://" + lab.haproxy + "/", Host: shiftHost, Rate: shiftRate, Max: limit, Timeout: 3 * time.Second,
		ClusterHeader: "X-Tandem-Cluster", OnAnswer: func(a traffic.Answer) {
			l.mu.Lock()
			l.samples = append(l.samples, sample{sent: a.Sent, answered: a.Answered, ok: a.Err == nil && a.Status == http.StatusOK, cluster: a.Cluster})
			l.mu.Unlock()
		}}
	l.probe.Start(context.Background())
	return l
}

func (l *load) stop() []sample {
	l.probe.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sample(nil), l.samples...)
}

// deployShiftApp runs the app answering shiftHost in a cluster (replicas 2, an Ingress).
func deployShiftApp(ctx context.Context, cs kubernetes.Interface) error {
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: shiftNS}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	labels := map[string]string{"app": "web"}
	n := int32(shiftReplicas)
	if _, err := cs.AppsV1().Deployments(shiftNS).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.k8s.io/pause:3.10"}}}}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := cs.CoreV1().Services(shiftNS).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	prefix := networkingv1.PathTypePrefix
	_, err := cs.NetworkingV1().Ingresses(shiftNS).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: shiftHost, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
		}}}}},
	}, metav1.CreateOptions{})
	return err
}

func scaleWeb(ctx context.Context, cs kubernetes.Interface, n int32) error {
	_, err := cs.AppsV1().Deployments(shiftNS).Patch(ctx, "web", "application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)), metav1.PatchOptions{})
	return err
}

// waitAnswers waits until HAProxy's server for cluster answers 200 for shiftHost.
func waitAnswers(ctx context.Context, rt haproxy.Runtime, cluster string) error {
	states, err := rt.Servers(ctx, "clusters")
	if err != nil {
		return err
	}
	addr := ""
	for _, s := range states {
		if s.Server == cluster {
			addr = fmt.Sprintf("%s:%d", s.Address, s.Port)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		req.Host = shiftHost
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s's ingress (%s) does not answer %s", cluster, addr, shiftHost)
}

// BenchmarkShiftRollback breaks green at the 25 % step of a gated shift
// (its Deployment scaled to 0: the lab ingress answers 503) while a bounded
// load of 300 requests/s runs through HAProxy, shiftRuns times, and measures
// from the first failed request to HAProxy serving only blue, and how many
// requests users saw fail. Baseline, same run: the raw runtime-API round trip
// of the same weight change (set weight on both servers + read back) — what
// any HAProxy-driving tool pays. See README.md.
func BenchmarkShiftRollback(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	blue, err := clientset("blue")
	if err != nil {
		b.Fatal(err)
	}
	green, err := clientset("green")
	if err != nil {
		b.Fatal(err)
	}
	for _, cs := range []kubernetes.Interface{blue, green} {
		if err := deployShiftApp(ctx, cs); err != nil {
			b.Fatal(err)
		}
		defer func(cs kubernetes.Interface) {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), shiftNS, metav1.DeleteOptions{})
		}(cs)
	}
	rt := haproxy.Runtime{Socket: lab.socket}
	for _, c := range []string{"blue", "green"} {
		if err := waitAnswers(ctx, rt, c); err != nil {
			b.Fatal(err)
		}
	}
	report := func(format string, args ...any) { fmt.Printf("bench: "+format+"\n", args...) }
	setWeights := func(bw, gw int) error {
		if err := rt.SetWeight(ctx, "clusters", "blue", bw); err != nil {
			return err
		}
		return rt.SetWeight(ctx, "clusters", "green", gw)
	}

	// Baseline: the raw round trip of the rollback's weight change.
	var raw []time.Duration
	for i := 0; i < 50; i++ {
		if err := setWeights(75, 25); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := setWeights(100, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := rt.Servers(ctx, "clusters"); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(start))
	}
	sort.Slice(raw, func(i, j int) bool { return raw[i] < raw[j] })

	b.ResetTimer()
	var episodes, verifies []time.Duration
	var failedTotal, sentTotal int
	for run := 0; run < shiftRuns; run++ {
		if err := setWeights(100, 0); err != nil {
			b.Fatal(err)
		}
		if err := scaleWeb(ctx, green, shiftReplicas); err != nil {
			b.Fatal(err)
		}
		if err := waitAnswers(ctx, rt, "green"); err != nil {
			b.Fatal(err)
		}
		l := startLoad(2 * time.Minute)
		cmd := exec.CommandContext(ctx, lab.bin, "shift", "--router", lab.router, "--from", "blue", "--to", "green",
			"--steps", "25,50,100", "--pause", "20s", "--gate-http", "http://"+lab.haproxy+"/", "--gate-host", shiftHost,
			"--gate-requests", "5", "--gate-interval", "100ms", "--journal-dir", b.TempDir(), "-o", "json")
		cmd.Env = labEnv()
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		pipe, err := cmd.StderrPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(pipe)
		broke := false
		for sc.Scan() {
			if !broke && strings.Contains(sc.Text(), "step 1/3 25%: pause") {
				broke = true
				if err := scaleWeb(ctx, green, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
		_ = cmd.Wait()
		time.Sleep(500 * time.Millisecond) // requests after the rollback: blue alone
		samples := l.stop()
		var rep struct {
			RolledBack bool `json:"rolledBack"`
			Rollback   *struct {
				Started    time.Time     `json:"started"`
				Verified   time.Duration `json:"verified"`
				VerifiedOK bool          `json:"verifiedOK"`
			} `json:"rollback"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || !broke || !rep.RolledBack || rep.Rollback == nil || !rep.Rollback.VerifiedOK {
			b.Fatalf("run %d: no verified rollback (broke %v, err %v):\n%s", run, broke, err, stdout.String())
		}
		// From the first failed request to the last request HAProxy sent to green.
		var firstFail, lastGreen time.Time
		failed := 0
		for _, s := range samples {
			if !s.ok {
				failed++
				if firstFail.IsZero() || s.sent.Before(firstFail) {
					firstFail = s.sent
				}
			}
			if s.cluster == "green" && s.answered.After(lastGreen) {
				lastGreen = s.answered
			}
		}
		episode := time.Duration(0)
		if !firstFail.IsZero() && lastGreen.After(firstFail) {
			episode = lastGreen.Sub(firstFail)
		}
		episodes = append(episodes, episode)
		verifies = append(verifies, rep.Rollback.Verified)
		failedTotal += failed
		sentTotal += len(samples)
		report("run %d: %d of %d requests failed; first failure → HAProxy only blue: %s; tandem's rollback set+verified in %s",
			run+1, failed, len(samples), episode.Round(time.Millisecond), rep.Rollback.Verified.Round(time.Millisecond))
	}
	b.StopTimer()
	sort.Slice(episodes, func(i, j int) bool { return episodes[i] < episodes[j] })
	sort.Slice(verifies, func(i, j int) bool { return verifies[i] < verifies[j] })
	med := func(ds []time.Duration) time.Duration { return ds[len(ds)/2] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(med(episodes)), "episode_median_ms")
	b.ReportMetric(ms(episodes[len(episodes)-1]), "episode_max_ms")
	b.ReportMetric(ms(med(verifies)), "rollback_verified_median_ms")
	b.ReportMetric(ms(med(raw)), "raw_runtime_api_median_ms")
	b.ReportMetric(float64(failedTotal)/float64(shiftRuns), "failed_requests/run")
	if m := med(raw); m > 0 {
		b.ReportMetric(float64(med(verifies))/float64(m), "rollback/raw")
	}
	report("baseline: raw runtime-API weight change + read back: median %s, p90 %s (50 tries)", med(raw), raw[len(raw)*9/10])
	report("episodes (first failed request → HAProxy only blue): %v", episodes)
	report("%d failed of %d requests over %d runs", failedTotal, sentTotal, shiftRuns)
	verdict := "met"
	if episodes[len(episodes)-1] >= goalRollback {
		verdict = "NOT met"
	}
	b.Logf("goal: first failed request → only blue < %s in every run: %s (max %s)", goalRollback, verdict, episodes[len(episodes)-1].Round(time.Millisecond))
}
