package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TANDEM_HEAPPROFILE and TANDEM_CPUPROFILE write pprof files (gzipped
// protocol buffers) at their paths, "%p" made the process id; a path that
// cannot be written is an error at the start, not a silent nothing.
func TestProfilesFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TANDEM_HEAPPROFILE", filepath.Join(dir, "heap-%p.prof"))
	t.Setenv("TANDEM_CPUPROFILE", filepath.Join(dir, "cpu.prof"))
	stop, err := startProfiles()
	if err != nil {
		t.Fatal(err)
	}
	held := make([][]byte, 0, 64)
	for range 64 {
		held = append(held, make([]byte, 1<<20))
	}
	stop()
	_ = held
	for _, name := range []string{"heap-" + strconv.Itoa(os.Getpid()) + ".prof", "cpu.prof"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			t.Errorf("%s is not a gzipped profile (%d bytes)", name, len(data))
		}
	}
	t.Setenv("TANDEM_CPUPROFILE", "")
	t.Setenv("TANDEM_HEAPPROFILE", filepath.Join(dir, "no", "such", "dir", "heap.prof"))
	if _, err := startProfiles(); err == nil {
		t.Error("an unwritable TANDEM_HEAPPROFILE was accepted")
	}
}
