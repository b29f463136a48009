package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"k8s.io/client-go/tools/clientcmd"
)

// The page of a pair in a real browser: roles, the weights following a
// shift within 2 s of each step, a drill's phases in order, /api/status as
// `tandem status -o json`, usable on a laptop and on a phone.
func TestDashboard(t *testing.T) {
	jdir, rdir := t.TempDir(), t.TempDir()
	pairWithGreenStandby(t, jdir)
	base := startDashboard(t, "--source", "blue", "--target", "green", "--router", shiftRouter(), "--journal-dir", jdir, "--report-dir", rdir)
	ctx := browser(t, 1280, 800)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	role := func(c string) string {
		s := pageEval[string](t, ctx, fmt.Sprintf(`(document.querySelector('[data-cluster=%s] .role')||{}).textContent||""`, jsString(c)))
		return s
	}
	waitFor(t, "the page shows blue active, green standby", 30*time.Second, func() (bool, string) {
		b, g := role("blue"), role("green")
		return b == "active" && g == "standby", b + "/" + g
	})
	screenshot(t, ctx, "dashboard-standby")

	// /api/status is `tandem status -o json` at the same moment.
	var api statusOut
	apiJSON(t, base+"/api/status", &api)
	cli, _ := pairStatus(t)
	if api.Verdict != cli.Verdict || fmt.Sprint(api.Weights) != fmt.Sprint(cli.Weights) || len(api.Clusters) != len(cli.Clusters) {
		t.Fatalf("/api/status %+v\ntandem status %+v", api, cli)
	}
	for i := range api.Clusters {
		a, c := api.Clusters[i], cli.Clusters[i]
		if a.Context != c.Context || a.Role != c.Role || a.Standby != c.Standby || (a.Record == nil) != (c.Record == nil) || (a.Record != nil && *a.Record != *c.Record) {
			t.Fatalf("cluster %d: api %+v, cli %+v", i, a, c)
		}
	}

	// A shift: each weight the router takes shows on the page within 2 s.
	share := func() string {
		s := pageEval[string](t, ctx, `(document.querySelector('.share[data-cluster="green"][data-route="clusters"]')||{}).textContent||""`)
		return strings.TrimSpace(s)
	}
	var wg sync.WaitGroup
	var shiftRes result
	var shiftErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		shiftRes, shiftErr = runCmdErr(nil, lab.bin, "shift", "--router", shiftRouter(), "--from", "blue", "--to", "green", "--steps", "0,50,100", "--pause", "4s", "--journal-dir", jdir, "--force")
	}()
	routerAt, pageAt := map[int]time.Time{}, map[string]time.Time{}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if w := shiftRuntimeWeights(t)["green"]; routerAt[w].IsZero() {
			routerAt[w] = time.Now()
		}
		if s := share(); pageAt[s].IsZero() {
			pageAt[s] = time.Now()
			if s == "green 50%" {
				screenshot(t, ctx, "dashboard-shifting")
			}
		}
		if !pageAt["green 100%"].IsZero() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	if shiftErr != nil || shiftRes.code != 0 {
		t.Fatalf("shift: %v exit %d\n%s", shiftErr, shiftRes.code, shiftRes.stderr)
	}
	for _, w := range []int{50, 100} {
		r, p := routerAt[w], pageAt[fmt.Sprintf("green %d%%", w)]
		if r.IsZero() || p.IsZero() {
			t.Fatalf("green %d%%: router at %v, page at %v (page showed %v)", w, r, p, pageAt)
		}
		if lag := p.Sub(r); lag > 2*time.Second {
			t.Fatalf("green %d%% showed on the page %s after the router took it", w, lag)
		}
		t.Logf("green %d%%: on the page %s after the router", w, p.Sub(r).Round(10*time.Millisecond))
	}
	mustTandem(t, "shift", "--router", shiftRouter(), "--from", "blue", "--to", "green", "--rollback", "--journal-dir", jdir)

	// A drill: its phases appear on the page in their order.
	var drill result
	wg.Add(1)
	go func() {
		defer wg.Done()
		drill, _ = runCmdErr(nil, lab.bin, "drill", "--source", "blue", "--target", "green", "--router", shiftRouter(), "--steps", "0,100", "--pause", "1s",
			"--journal-dir", jdir, "--report-dir", rdir)
	}()
	order := map[string][]string{} // run → phases in the order they first showed
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	shot := false
poll:
	for {
		select {
		case <-done:
			break poll
		case <-time.After(150 * time.Millisecond):
		}
		seen := pageEval[[]string](t, ctx, `(() => { const r = document.querySelector('#run strong'); return [r ? r.textContent : ""].concat([...document.querySelectorAll('#run .phase[data-phase]')].map(e => e.dataset.phase)); })()`)
		run := seen[0]
		for _, p := range seen[1:] {
			if !slices.Contains(order[run], p) {
				order[run] = append(order[run], p)
			}
		}
		if !shot && slices.Contains(seen, "shift") {
			screenshot(t, ctx, "dashboard-drill")
			shot = true
		}
	}
	if drill.code != 0 {
		t.Fatalf("drill: exit %d\n%s", drill.code, drill.stderr)
	}
	phases := []string{"pause-mirror", "sync", "activate", "shift", "deactivate", "records"}
	legs := 0
	for run, seen := range order {
		if run == "" {
			continue
		}
		legs++
		last := -1
		for _, p := range seen {
			i := slices.Index(phases, p)
			if i < last {
				t.Fatalf("%s: phases showed out of order: %v", run, seen)
			}
			last = i
		}
		// Sampled every 150 ms, a phase of a few milliseconds may pass unseen; most may not.
		if len(seen) < 4 || !slices.Contains(seen, "activate") || !slices.Contains(seen, "shift") {
			t.Errorf("%s: the page missed phases: %v", run, seen)
		}
	}
	if legs < 2 {
		t.Fatalf("the page showed %d switchovers of the drill, want its 2 legs: %v", legs, order)
	}
	waitFor(t, "the drill in the list", 10*time.Second, func() (bool, string) {
		s := pageEval[string](t, ctx, `document.querySelector('#drills').textContent`)
		return strings.Contains(s, "passed"), s
	})
	screenshot(t, ctx, "dashboard-1280x800")
	// The drill's report, linked from its row.
	link := pageEval[string](t, ctx, `(document.querySelector('#drills a')||{}).href||""`)
	if resp, err := http.Get(link); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the drill's report link %s: %v %v", link, err, resp)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "passed") {
			t.Fatalf("the drill's report:\n%s", b)
		}
	}

	// A phone: one column, nothing wider than the screen.
	phone := browser(t, 390, 844)
	if err := chromedp.Do(phone, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the phone page filled", 30*time.Second, func() (bool, string) {
		s := pageEval[string](t, phone, `(document.querySelector('[data-cluster=blue] .role')||{}).textContent||""`)
		return s == "active", s
	})
	if wide := pageEval[string](t, phone, `(() => { const w = window.innerWidth; if (document.documentElement.scrollWidth <= w + 1) return ""; return [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > w + 1).map(e => e.tagName + "." + e.className + "#" + e.id).slice(0, 8).join(", ") || "?"; })()`); wide != "" {
		t.Fatalf("the page is wider than a phone's screen: %s", wide)
	}
	screenshot(t, phone, "dashboard-phone")
}

// Bad input: an address in use or malformed is one line and exit 2; a
// cluster that does not answer is said in its column while the other
// column keeps updating.
func TestDashboardBadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, addr := range []string{ln.Addr().String(), "nonsense"} {
		r := tandem(t, "dashboard", "--source", "blue", "--target", "green", "--addr", addr)
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "--addr") {
			t.Fatalf("--addr %s: exit %d, stderr %q", addr, r.code, r.stderr)
		}
	}

	// A kubeconfig whose "gone" context points at a port nobody serves.
	cfg, err := clientcmd.LoadFromFile(lab.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dead := cfg.Clusters["green"].DeepCopy()
	dead.Server = "https://127.0.0.1:1"
	cfg.Clusters["gone"] = dead
	ctxCopy := cfg.Contexts["green"].DeepCopy()
	ctxCopy.Cluster = "gone"
	cfg.Contexts["gone"] = ctxCopy
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}
	base := startDashboard(t, "--kubeconfig", kc, "--source", "blue", "--target", "gone", "--router", shiftRouter(), "--journal-dir", t.TempDir())
	ctx := browser(t, 1280, 800)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gone cluster's column says so", 40*time.Second, func() (bool, string) {
		s := pageEval[string](t, ctx, `(document.querySelector('[data-cluster=gone] .f-reachable')||{}).textContent||""`)
		return strings.HasPrefix(s, "UNREACHABLE"), s
	})
	first := pageEval[string](t, ctx, `document.querySelector('#conn').dataset.updated||""`)
	waitFor(t, "the page keeps updating", 10*time.Second, func() (bool, string) {
		later := pageEval[string](t, ctx, `document.querySelector('#conn').dataset.updated||""`)
		return later != first, later
	})
	blue := pageEval[string](t, ctx, `(document.querySelector('[data-cluster=blue] .f-reachable')||{}).textContent||""`)
	if blue != "yes" {
		t.Fatalf("blue's column: reachable %q", blue)
	}
}
