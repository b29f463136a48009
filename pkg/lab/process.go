package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tandem-io/tandem/pkg/lease"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Process is one process the lab started, as recorded in its PID file.
type Process struct {
	Cluster string   `json:"cluster,omitempty"`
	Name    string   `json:"name"`
	PID     int      `json:"pid"`
	Binary  string   `json:"binary"`
	Args    []string `json:"args"`
	// Env is added to the process's environment (not recorded).
	Env  []string `json:"-"`
	Log  string   `json:"log"`
	Port int      `json:"port,omitempty"`
	// Start is when the process started (lease.ProcessStart): with the PID,
	// it tells our process from a later one that reuses its PID.
	Start uint64 `json:"start,omitempty"`
	Alive bool   `json:"alive"`
}

// pidFile is where a process's record lives.
func pidFile(dir, name string) string { return filepath.Join(dir, "run", name+".json") }

// start launches a process in its own session so it outlives `tandem lab up`;
// with dieWithParent (tests) the kernel kills it when the parent dies.
func start(dir string, p Process, dieWithParent bool) (Process, error) {
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
		return p, err
	}
	if err := os.MkdirAll(filepath.Dir(p.Log), 0o755); err != nil {
		return p, err
	}
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return p, err
	}
	defer logf.Close()
	cmd := exec.Command(p.Binary, p.Args...)
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if dieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return p, fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.PID = cmd.Process.Pid
	p.Start, _ = lease.ProcessStart(p.PID)
	p.Alive = true
	// Reap it if it exits while we still run, so it never lingers as a zombie.
	go func() { _ = cmd.Wait() }()
	data, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(pidFile(dir, processKey(p)), data, 0o644); err != nil {
		return p, err
	}
	return p, nil
}

func processKey(p Process) string {
	if p.Cluster == "" {
		return p.Name
	}
	return p.Cluster + "-" + p.Name
}

// recorded lists the processes with a PID file in dir, marking which still run.
func recorded(dir string) ([]Process, error) {
	files, err := filepath.Glob(filepath.Join(dir, "run", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var p Process
		if json.Unmarshal(data, &p) != nil {
			continue
		}
		p.Alive = running(p)
		out = append(out, p)
	}
	return out, nil
}

// running reports whether the PID is alive and still runs our binary, so a
// recycled PID is never taken for ours (and never signalled).
func running(p Process) bool {
	if p.PID <= 0 {
		return false
	}
	if err := syscall.Kill(p.PID, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err == nil {
		// A zombie has exited; field 3 is the state.
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return false
		}
	}
	if p.Start != 0 {
		if now, ok := lease.ProcessStart(p.PID); !ok || (now != 0 && now != p.Start) {
			return false // another process has the PID now
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	if err != nil {
		return false
	}
	argv0 := strings.SplitN(string(cmdline), "\x00", 2)[0]
	return argv0 == p.Binary || filepath.Base(argv0) == filepath.Base(p.Binary)
}

// stop ends one recorded process: SIGTERM, then SIGKILL after grace.
func stop(ctx context.Context, dir string, p Process, grace time.Duration) error {
	defer os.Remove(pidFile(dir, processKey(p)))
	if !running(p) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	gone := func(context.Context) (bool, error) { return !running(p), nil }
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, grace, true, gone)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.PID, err)
	}
	// SIGKILL is sent: give the kernel a moment to reap it, even if ctx ends now.
	_ = wait.PollUntilContextTimeout(context.WithoutCancel(ctx), 20*time.Millisecond, 2*time.Second, true, gone)
	return nil
}
