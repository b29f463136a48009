package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lab is the environment of the suite's lab.
var lab struct {
	bin        string // the tandem binary under test
	dir        string // --dir of the lab
	kubeconfig string
	kubectl    string
	haproxy    string // host:port
	socket     string // HAProxy admin socket
	upTook     time.Duration
}

// E2EDir is the suite's fixed lab directory, so `make test` can always clean
// up after a run that was killed.
func e2eDir() string {
	if d := os.Getenv("TANDEM_E2E_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "tandem", "e2e-lab")
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lab.bin = filepath.Join(root, "bin", "tandem")
	build := exec.Command("go", "build", "-o", lab.bin, "./cmd/tandem")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tandem: %v\n%s", err, out)
		return 1
	}
	lab.dir = e2eDir()
	// One suite per lab directory: a second suite running at the same time
	// gets a directory of its own instead of tearing down the first one's lab.
	lock, err := lockDir(lab.dir)
	if err != nil {
		lab.dir = fmt.Sprintf("%s-%d", lab.dir, os.Getpid())
		fmt.Fprintf(os.Stderr, "another e2e suite holds the lab; using %s\n", lab.dir)
		if lock, err = lockDir(lab.dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	defer lock.Close()
	// A previous run that was killed may have left its lab behind.
	_, _ = tandemRaw("lab", "down", "--dir", lab.dir)

	down := func() {
		out, err := tandemRaw("lab", "down", "--dir", lab.dir)
		fmt.Fprintf(os.Stderr, "lab down: %s %v\n", strings.TrimSpace(out), err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		down()
		os.Exit(1)
	}()
	defer down()

	start := time.Now()
	cmd := exec.Command(lab.bin, "lab", "up", "--dir", lab.dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "lab up: %v\n", err)
		return 1
	}
	lab.upTook = time.Since(start)
	env, err := tandemRaw("lab", "env", "--dir", lab.dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab env: %v\n%s", err, env)
		return 1
	}
	for _, line := range strings.Split(env, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		switch k {
		case "KUBECONFIG":
			lab.kubeconfig = v
		case "PATH":
			lab.kubectl = filepath.Join(strings.TrimSuffix(v, ":$PATH"), "kubectl")
		case "TANDEM_LAB_HAPROXY":
			lab.haproxy = v
		case "TANDEM_LAB_HAPROXY_SOCKET":
			lab.socket = v
		}
	}
	if out, err := tandemRaw("lab", "seed", "--dir", lab.dir); err != nil {
		fmt.Fprintf(os.Stderr, "lab seed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// lockDir takes an exclusive, non-blocking lock beside dir; the kernel drops
// it when the process dies, so a killed suite never leaves it held.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// result is one run of the tandem CLI.
type result struct {
	stdout, stderr string
	code           int
}

// tandem runs the CLI against the lab's kubeconfig, bounded to 5 minutes.
func tandem(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, lab.bin, args...)
}

func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, lab.kubectl, args...)
}

func runCmd(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runCmdEnv(t, nil, bin, args...)
}

// runCmdEnv is runCmd with extra environment variables (e.g. a test hook).
func runCmdEnv(t *testing.T, env []string, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+lab.kubeconfig, "TANDEM_SOURCE=", "TANDEM_TARGET="), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return r
}

// mustTandem runs the CLI and fails the test unless it exits 0.
func mustTandem(t *testing.T, args ...string) string {
	t.Helper()
	r := tandem(t, args...)
	if r.code != 0 {
		t.Fatalf("tandem %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	r := kubectl(t, args...)
	if r.code != 0 {
		t.Fatalf("kubectl %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// tandemRaw runs the CLI outside a test (TestMain).
func tandemRaw(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, lab.bin, args...).CombinedOutput()
	return string(out), err
}

// eventually polls f until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not true after %s: %v", timeout, err)
}
