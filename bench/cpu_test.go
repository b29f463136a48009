package bench

import (
	"bufio"
	"fmt"
	"os"
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
	busy, total uint64 // jiffies since boot, every core
}

func newCPUSampler() *cpuSampler { return &cpuSampler{} }

func (c *cpuSampler) run(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if s, err := readCPU(); err == nil {
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

// busy is the share of the machine's CPU busy between from and to (the
// samples nearest inside), "?" when fewer than two samples fall there.
func (c *cpuSampler) busy(from, to time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first, last *cpuSample
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
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(last.busy-first.busy)/float64(last.total-first.total))
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
