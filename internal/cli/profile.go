package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// startProfiles starts what the environment asks for, for where a command's
// time and memory go (go tool pprof PATH) — a sync of a large cluster, the
// benchmarks: TANDEM_CPUPROFILE=PATH a CPU profile of the run,
// TANDEM_HEAPPROFILE=PATH the heap profile at the largest live heap seen
// (checked every second, written again each time it grows by a tenth). A
// "%p" in PATH becomes the process id, so several runs keep their own.
// The returned func stops them.
func startProfiles() (func(), error) {
	var stops []func()
	stop := func() {
		for _, f := range stops {
			f()
		}
	}
	if path := os.Getenv("TANDEM_CPUPROFILE"); path != "" {
		f, err := os.Create(profilePath(path))
		if err != nil {
			return nil, fmt.Errorf("TANDEM_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("TANDEM_CPUPROFILE: %w", err)
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if path := os.Getenv("TANDEM_HEAPPROFILE"); path != "" {
		path = profilePath(path)
		if err := writeHeapProfile(path); err != nil { // the path is good, and there is a profile even for a short run
			return nil, fmt.Errorf("TANDEM_HEAPPROFILE: %w", err)
		}
		done := make(chan struct{})
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			watchHeap(path, done)
		}()
		stops = append(stops, func() { close(done); <-finished })
	}
	return stop, nil
}

func profilePath(path string) string {
	return strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
}

// watchHeap writes the heap profile to path whenever the live heap (as of
// the last GC) has grown by a tenth since the profile last written.
func watchHeap(path string, done <-chan struct{}) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var written uint64
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if live := sample[0].Value.Uint64(); live > written+written/10 {
			if writeHeapProfile(path) == nil {
				written = live
			}
		}
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC() // the profile's in-use numbers are as of the last GC
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
