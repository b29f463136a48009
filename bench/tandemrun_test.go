package bench

// How a tandem process is run and measured from outside: its wall time,
// its progress and log lines, its RSS from /proc, the top of its profiles.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// syncRun is one `tandem sync` subprocess.
type syncRun struct {
	objects int // 0: the 10k data set
	workers int // 0: the default
	wall    time.Duration
	seconds float64 // tandem's own "seconds" (after process start, before printing)
	total   map[string]int
	rssKiB  int64
	// The largest anonymous (heap, stacks) and file-backed (the binary's
	// own pages) parts of the RSS seen in /proc every 50 ms, in KiB.
	anonKiB, fileKiB int64
	waves            []wave
	// firstWrite is when the first wave began, after the process started
	// (-1: no wave): its line's stamp less the wave's time.
	firstWrite time.Duration
	// From GODEBUG=gctrace=1: the largest heap at the start of a GC and the
	// largest live heap after one, in MB.
	heapMB, liveMB int
	// steps are how long each step before the writes took, from tandem's
	// -v log lines ("read the source 412ms").
	steps []string
	// progress is the objects/s between a long wave's progress lines (one
	// every 10 s): a rate that falls during the wave is a cost that grows
	// with what was written.
	progress []string
}

type wave struct {
	name    string
	objects int
	took    time.Duration
}

func (s syncRun) rate() float64   { return float64(orTotal(s.objects)) / s.wall.Seconds() }
func (s syncRun) rssMiB() float64 { return float64(s.rssKiB) / 1024 }

func (s syncRun) String() string {
	var applied time.Duration
	var ws []string
	for _, w := range s.waves {
		applied += w.took
		ws = append(ws, fmt.Sprintf("%s %d in %s", w.name, w.objects, w.took))
	}
	progress := ""
	if len(s.progress) > 0 {
		progress = "; objects/s every 10 s: " + strings.Join(s.progress, " ")
	}
	steps := ""
	if len(s.steps) > 0 {
		steps = "; steps (-v): " + strings.Join(s.steps, ", ")
	}
	return fmt.Sprintf("wall %s = %.0f obj/s, peak RSS %.0f MB (anonymous ≤ %d MB, the binary's pages ≤ %d MB; Go heap ≤ %d MB, live ≤ %d MB), totals %v; tandem's own time %.2fs: the first write at %.2fs, waves %.2fs (%s)%s%s",
		s.wall.Round(time.Millisecond), s.rate(), s.rssMiB(), s.anonKiB/1024, s.fileKiB/1024, s.heapMB, s.liveMB, s.total, s.seconds,
		s.firstWrite.Seconds(), applied.Seconds(), strings.Join(ws, ", "), progress, steps)
}

// waveLine is the line tandem's progress prints per wave without a terminal.
var waveLine = regexp.MustCompile(`^wave\s+\d+\s+(.+?)\s+(\d+) objects: .*\((\S+)\)$`)

// stepLine is one of tandem's -v log lines that says how long a step took.
var stepLine = regexp.MustCompile(`level=INFO msg="?([^"=]+?)"? .*took=(\S+)`)

// progressLine is a long wave's progress line without a terminal; its rate.
var progressLine = regexp.MustCompile(`^wave\s+\d+\s+.+?: (\d+) of \d+ objects done`)

// gcLine is the heap part of a GODEBUG=gctrace=1 line: start->end->live MB.
var gcLine = regexp.MustCompile(`^gc \d+ .* (\d+)->(\d+)->(\d+) MB`)

// runSync runs `tandem sync` of names from blue to green and measures it;
// env is added to its environment.
func runSync(ctx context.Context, names []string, workers int, journalDir string, env ...string) (syncRun, error) {
	args := []string{"sync", "--kubeconfig", lab.kubeconfig, "--source", "blue", "--target", "green",
		"--namespace", strings.Join(names, ","), "-o", "json", "--journal-dir", journalDir, "-v"}
	if workers > 0 {
		args = append(args, "--workers", strconv.Itoa(workers))
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, lab.bin, args...)
	cmd.Env = append(append(labEnv(), "GODEBUG=gctrace=1"), env...)
	start := time.Now()
	var out bytes.Buffer
	errb := &stamped{start: start}
	cmd.Stdout, cmd.Stderr = &out, errb
	var peak rssPeak
	runErr := peak.run(cmd)
	s := syncRun{workers: workers, wall: time.Since(start), anonKiB: peak.anon.Load(), fileKiB: peak.file.Load()}
	// The last VmHWM read is at most 50 ms old; what the parts reached together is a floor.
	s.rssKiB = max(peak.hwm.Load(), peak.sum.Load())
	var res struct {
		Results []struct {
			Kind, Namespace, Name, Status, Reason string
		} `json:"results"`
		Total   map[string]int `json:"total"`
		Seconds float64        `json:"seconds"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return s, fmt.Errorf("tandem %s: %v; output not JSON (%v)\nstderr:\n%s", strings.Join(args, " "), runErr, err, tail(errb.String(), 3000))
	}
	s.total, s.seconds = res.Total, res.Seconds
	s.firstWrite = -1
	lastDone, lastAt := 0, 0.0
	for _, line := range strings.Split(errb.String(), "\n") {
		// Each line is stamped with the time since the process started.
		stamp, line, _ := strings.Cut(strings.TrimSpace(line), "s ")
		at, _ := strconv.ParseFloat(stamp, 64)
		if m := waveLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			n, _ := strconv.Atoi(m[2])
			d, _ := time.ParseDuration(m[3])
			s.waves = append(s.waves, wave{name: m[1], objects: n, took: d})
			// A wave's line comes when it ends: it started its took earlier.
			if began := time.Duration(at*float64(time.Second)) - d; s.firstWrite < 0 || began < s.firstWrite {
				s.firstWrite = max(began, 0)
			}
		}
		if m := stepLine.FindStringSubmatch(line); m != nil {
			s.steps = append(s.steps, m[1]+" "+m[2])
		}
		if m := progressLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			done, _ := strconv.Atoi(m[1])
			if done > lastDone && at > lastAt && lastAt > 0 {
				s.progress = append(s.progress, strconv.Itoa(int(float64(done-lastDone)/(at-lastAt))))
			}
			lastDone, lastAt = done, at
		}
		if m := gcLine.FindStringSubmatch(line); m != nil {
			heap, _ := strconv.Atoi(m[1])
			live, _ := strconv.Atoi(m[3])
			s.heapMB, s.liveMB = max(s.heapMB, heap), max(s.liveMB, live)
		}
	}
	if runErr != nil {
		var bad []string
		for _, r := range res.Results {
			if r.Status == "failed" || r.Status == "conflict" {
				bad = append(bad, fmt.Sprintf("%s %s/%s: %s", r.Kind, r.Namespace, r.Name, r.Reason))
			}
		}
		return s, fmt.Errorf("tandem sync: %v; totals %v; e.g. %s\nstderr:\n%s", runErr, res.Total, strings.Join(first(bad, 5), "; "), tail(errb.String(), 3000))
	}
	return s, nil
}

// profileTop is the first lines of `go tool pprof -top` of a profile, with
// the extra option (-cum, -sample_index=…).
func profileTop(prof, option string) (string, error) {
	out, err := exec.Command("go", "tool", "pprof", "-top", option, "-nodecount=12", lab.bin, prof).Output()
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat") {
			return strings.Join(lines[max(i-2, 0):], "\n"), nil
		}
	}
	return strings.Join(lines, "\n"), nil
}

// rssPeak follows a process's RSS in /proc/PID/status: its anonymous part
// (heap, stacks), its file-backed part (pages of the binary it touched),
// and VmHWM, the kernel's own high-water mark of the whole. The rusage
// Maxrss of a child is not used: Linux folds the RSS of the memory the
// child ran in before its exec into it — with os/exec's vfork, the
// parent's, i.e. this benchmark's, which holds the data set.
type rssPeak struct{ anon, file, hwm, sum atomic.Int64 }

// run starts cmd and waits for it, following its RSS meanwhile.
func (r *rssPeak) run(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go r.watch(cmd.Process.Pid, done)
	err := cmd.Wait()
	close(done)
	return err
}

func (r *rssPeak) watch(pid int, done <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			var sum int64
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if len(f) < 2 {
					continue
				}
				v, _ := strconv.ParseInt(f[1], 10, 64)
				switch f[0] {
				case "RssAnon:", "RssFile:":
					sum += v
				}
				switch f[0] {
				case "RssAnon:":
					if v > r.anon.Load() {
						r.anon.Store(v)
					}
				case "RssFile:":
					if v > r.file.Load() {
						r.file.Store(v)
					}
				case "VmHWM:":
					if v > r.hwm.Load() {
						r.hwm.Store(v)
					}
				}
			}
			if sum > r.sum.Load() {
				r.sum.Store(sum)
			}
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}
