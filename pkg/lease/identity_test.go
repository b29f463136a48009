package lease

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIdentityString(t *testing.T) {
	for _, c := range []struct {
		name     string
		id       Identity
		str, out string // String and Display
	}{
		{"full", Identity{Who: "sre@box", PID: 4242, BootID: "3f2a-b1", Start: 987654, Note: "run r1 (switchover to green)"},
			"sre@box pid 4242 boot 3f2a-b1 start 987654 run r1 (switchover to green)", "sre@box pid 4242 run r1 (switchover to green)"},
		{"no /proc", Identity{Who: "sre@mac", PID: 7, Note: "(mirror from blue)"},
			"sre@mac pid 7 (mirror from blue)", "sre@mac pid 7 (mirror from blue)"},
		{"no note", Identity{Who: "sre@box", PID: 7, BootID: "b", Start: 1}, "sre@box pid 7 boot b start 1", "sre@box pid 7"},
		{"a note that looks like a key", Identity{Who: "sre@box", PID: 7, Note: "start of drill"}, "sre@box pid 7 start of drill", "sre@box pid 7 start of drill"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.id.String(); got != c.str {
				t.Errorf("String() = %q, want %q", got, c.str)
			}
			if got := c.id.Display(); got != c.out {
				t.Errorf("Display() = %q, want %q", got, c.out)
			}
			if diff := cmp.Diff(c.id, ParseIdentity(c.id.String())); diff != "" {
				t.Errorf("ParseIdentity(String()) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIdentityOlderAndForeign(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Identity
	}{
		// What tandem wrote before pkg/lease: no boot id, no start time.
		{"sre@box pid 4242 run r1 (switchover to green)", Identity{Who: "sre@box", PID: 4242, Note: "run r1 (switchover to green)"}},
		{"sre@box pid 9 (mirror from blue)", Identity{Who: "sre@box", PID: 9, Note: "(mirror from blue)"}},
		// Another tool's holder (e.g. a controller's pod name) stays whole.
		{"controller-7d9f_1b2c", Identity{Who: "controller-7d9f_1b2c"}},
		{"sre@box pid x", Identity{Who: "sre@box pid x"}},
	} {
		if diff := cmp.Diff(c.want, ParseIdentity(c.in)); diff != "" {
			t.Errorf("ParseIdentity(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestSelfIsUniquePerProcess(t *testing.T) {
	me := Self("x")
	if me.PID != os.Getpid() || me.Who == "" || me.Note != "x" {
		t.Fatalf("Self = %+v", me)
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil && me.Start == 0 {
		t.Errorf("Self = %+v: no start time although /proc is there", me)
	}
	if me.GoneHere() {
		t.Error("this process is taken for gone")
	}
}

func TestGoneHere(t *testing.T) {
	me := Identity{Who: "sre@box", PID: 100, BootID: "boot-1", Start: 5000}
	procs := map[int]uint64{100: 5000, 200: 6000, 300: 0}
	start := func(pid int) (uint64, bool) { n, ok := procs[pid]; return n, ok }
	for _, c := range []struct {
		name string
		id   Identity
		want bool
	}{
		{"this process", me, false},
		{"another machine", Identity{Who: "sre@other", PID: 999, BootID: "boot-9", Start: 1}, false},
		{"no such pid here", Identity{Who: "sre@box", PID: 999, BootID: "boot-1", Start: 1}, true},
		{"alive, same start", Identity{Who: "sre@box", PID: 200, BootID: "boot-1", Start: 6000}, false},
		{"pid reused by a later process", Identity{Who: "sre@box", PID: 200, BootID: "boot-1", Start: 10}, true},
		{"our pid, another start: an earlier process", Identity{Who: "sre@box", PID: 100, BootID: "boot-1", Start: 10}, true},
		{"an earlier boot of this machine", Identity{Who: "sre@box", PID: 200, BootID: "boot-0", Start: 6000}, true},
		{"older record, pid alive", Identity{Who: "sre@box", PID: 200}, false},
		{"older record, pid gone", Identity{Who: "sre@box", PID: 999}, true},
		{"start unknown here", Identity{Who: "sre@box", PID: 300, BootID: "boot-1", Start: 42}, false},
		{"no pid", Identity{Who: "sre@box"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := goneHere(c.id, me, start); got != c.want {
				t.Errorf("goneHere(%v) = %v, want %v", c.id, got, c.want)
			}
		})
	}
}

func TestParseStatStart(t *testing.T) {
	for _, c := range []struct {
		stat string
		want uint64
		ok   bool
	}{
		{"1234 (tandem) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 8 0 556677 123 45", 556677, true},
		// A command name with spaces and parentheses.
		{"1234 (a b) c)) R 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 8 0 42 123 45", 42, true},
		{"1234 (short) S 1 2", 0, false},
		{"garbage", 0, false},
	} {
		got, ok := parseStatStart(c.stat)
		if got != c.want || ok != c.ok {
			t.Errorf("parseStatStart(%q) = %d, %v; want %d, %v", c.stat, got, ok, c.want, c.ok)
		}
	}
}
