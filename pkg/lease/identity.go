package lease

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// Identity names a lease holder: one process on one machine, since its boot.
type Identity struct {
	Who    string // user@host
	PID    int
	BootID string // /proc/sys/kernel/random/boot_id; "" where unreadable
	Start  uint64 // the process's start, in clock ticks since boot (/proc/<pid>/stat); 0 where unknown
	Note   string // what the process is doing, e.g. "run R (switchover to green)"
}

// Who names the person and machine running this process: user@host.
func Who() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// Self is this process, doing note.
func Self(note string) Identity {
	return Process(Who(), os.Getpid(), note)
}

// Process is the process pid of this machine, run by who, doing note.
func Process(who string, pid int, note string) Identity {
	id := Identity{Who: who, PID: pid, BootID: bootID(), Note: note}
	id.Start, _ = processStart(pid)
	return id
}

// String is the identity as a lease records it:
// "user@host pid N boot B start S note" (boot and start only when known).
func (id Identity) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s pid %d", id.Who, id.PID)
	if id.BootID != "" {
		b.WriteString(" boot " + id.BootID)
	}
	if id.Start != 0 {
		b.WriteString(" start " + strconv.FormatUint(id.Start, 10))
	}
	if id.Note != "" {
		b.WriteString(" " + id.Note)
	}
	return b.String()
}

// Display is the identity for people: "user@host pid N note", without the
// boot id and start time that only make it unique.
func (id Identity) Display() string {
	s := fmt.Sprintf("%s pid %d", id.Who, id.PID)
	if id.Note != "" {
		s += " " + id.Note
	}
	return s
}

// ParseIdentity reads what String wrote; it also reads the older
// "user@host pid N note" (no boot, no start). A string without a pid is kept
// whole in Who.
func ParseIdentity(s string) Identity {
	f := strings.Fields(s)
	if len(f) < 3 || f[1] != "pid" {
		return Identity{Who: s}
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil {
		return Identity{Who: s}
	}
	id := Identity{Who: f[0], PID: pid}
	f = f[3:]
	if len(f) >= 2 && f[0] == "boot" {
		id.BootID, f = f[1], f[2:]
	}
	if len(f) >= 2 && f[0] == "start" {
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			id.Start, f = n, f[2:]
		}
	}
	id.Note = strings.Join(f, " ")
	return id
}

// GoneHere reports whether id was a process of this machine (the same
// user@host) that no longer runs: this machine booted again since, or no
// process has its pid, or the one that has it started at another time. Its
// lease can be taken over at once: nobody is left to write under it.
func (id Identity) GoneHere() bool {
	return goneHere(id, Process(Who(), os.Getpid(), ""), processStart)
}

// goneHere decides GoneHere for me, with start looking processes up.
func goneHere(id, me Identity, start func(pid int) (uint64, bool)) bool {
	if id.Who != me.Who || id.PID <= 0 {
		return false
	}
	if id.BootID != "" && me.BootID != "" && id.BootID != me.BootID {
		return true // this machine booted again: every process of the old boot is gone
	}
	if id.PID == me.PID && (id.Start == 0 || me.Start == 0 || id.Start == me.Start) {
		return false // this very process
	}
	began, alive := start(id.PID)
	if !alive {
		return true
	}
	return id.Start != 0 && began != 0 && began != id.Start // the pid now belongs to another process
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ProcessStart is when the process pid started, in clock ticks since boot
// (/proc/<pid>/stat): with the pid, it tells a process from a later one
// that reuses its pid. ok is false when no process has the pid.
func ProcessStart(pid int) (start uint64, ok bool) { return processStart(pid) }

// processStart returns when pid started (0 where /proc is not there) and
// whether such a process runs.
func processStart(pid int) (uint64, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil {
		if n, ok := parseStatStart(string(b)); ok {
			return n, true
		}
	}
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return 0, false
	}
	return 0, true
}

// parseStatStart reads starttime, field 22 of /proc/<pid>/stat. The command
// name (field 2) is in parentheses and may hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseStatStart(stat string) (uint64, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	const startField = 22 - 3 // f[0] is field 3 (state)
	if len(f) <= startField {
		return 0, false
	}
	n, err := strconv.ParseUint(f[startField], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
