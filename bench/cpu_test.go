package bench

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuSampler samples the machine's CPU (/proc/stat) once a second: the
// busy share of every core over a window of a benchmark.
type cpuSampler struct {
	mu      sync.Mutex
	samples []cpuSample
}

type cpuSample struct {
	at          time.Time
	busy, total uint64            // jiffies since boot, every core
	procs       map[string]uint64 // the lab's processes: group (name, cluster) → their jiffies (user + system)
}

func (c *cpuSampler) run(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if s, err := readCPU(); err == nil {
			s.procs = readProcs()
			c.mu.Lock()
			c.samples = append(c.samples, s)
			c.mu.Unlock()
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// window is the first and the last sample between from and to, nil when
// fewer than two fall there (or no time passed between them).
func (c *cpuSampler) window(from, to time.Time) (first, last *cpuSample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.samples {
		s := &c.samples[i]
		if s.at.Before(from) || s.at.After(to) {
			continue
		}
		if first == nil {
			first = s
		}
		last = s
	}
	if first == nil || last == first || last.total == first.total {
		return nil, nil
	}
	return first, last
}

// busy is the share of the machine's CPU busy between from and to (the
// samples nearest inside), "?" when fewer than two samples fall there.
func (c *cpuSampler) busy(from, to time.Time) string {
	first, last := c.window(from, to)
	if first == nil {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(last.busy-first.busy)/float64(last.total-first.total))
}

// top names the groups of processes that took the most of the machine's
// CPU between from and to, as a share of the whole machine (n at most).
func (c *cpuSampler) top(from, to time.Time, n int) string {
	first, last := c.window(from, to)
	if first == nil {
		return "?"
	}
	type share struct {
		group string
		j     uint64
	}
	var shares []share
	for g, j := range last.procs {
		if j0, ok := first.procs[g]; ok && j > j0 {
			shares = append(shares, share{g, j - j0})
		}
	}
	sort.Slice(shares, func(i, j int) bool { return shares[i].j > shares[j].j })
	var out []string
	for i, sh := range shares {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%s %.0f%%", sh.group, 100*float64(sh.j)/float64(last.total-first.total)))
	}
	return strings.Join(out, ", ")
}

// readProcs sums user and system jiffies per group of processes: the name
// (comm) and the lab cluster its command line names, if any.
func readProcs() map[string]uint64 {
	out := map[string]uint64{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state … utime is the 14th field, stime the 15th.
		open, end := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(stat[end+1:]))
		if len(fields) < 13 {
			continue
		}
		u, err1 := strconv.ParseUint(fields[11], 10, 64)
		st, err2 := strconv.ParseUint(fields[12], 10, 64)
		if err1 != nil || err2 != nil || u+st == 0 {
			continue
		}
		group := string(stat[open+1 : end])
		if cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline"); err == nil {
			for _, c := range []string{"blue", "green"} {
				if strings.Contains(string(cmd), "/"+c+"/") {
					group += " (" + c + ")"
					break
				}
			}
		}
		out[group] += u + st
	}
	return out
}

// readCPU reads the first line of /proc/stat: user nice system idle iowait
// irq softirq steal…; idle and iowait are not busy.
func readCPU() (cpuSample, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuSample{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuSample{}, fmt.Errorf("/proc/stat: empty")
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 6 || fields[0] != "cpu" {
		return cpuSample{}, fmt.Errorf("/proc/stat: %q", sc.Text())
	}
	s := cpuSample{at: time.Now()}
	for i, f := range fields[1:min(len(fields), 9)] { // guest time is in user already
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return cpuSample{}, fmt.Errorf("/proc/stat: %w", err)
		}
		s.total += v
		if i != 3 && i != 4 {
			s.busy += v
		}
	}
	return s, nil
}
