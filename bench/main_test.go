package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// lab is the environment of the benchmarks' own lab.
var lab struct {
	root       string // the repository
	bin        string // the tandem binary under test
	dir        string // --dir of the lab
	kubeconfig string
	kubectl    string // the lab's kubectl (green's version)
	upTook     time.Duration
}

// benchDir is the benchmarks' fixed lab directory (never the user's lab or
// the e2e suite's), so a killed run is cleaned up by the next one.
func benchDir() string {
	if d := os.Getenv("TANDEM_BENCH_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "tandem", "bench-lab")
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	// `go test ./...` without -bench runs nothing here: no lab for it.
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		return m.Run()
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lab.root = root
	lab.bin = filepath.Join(root, "bin", "tandem")
	build := exec.Command("go", "build", "-o", lab.bin, "./cmd/tandem")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tandem: %v\n%s", err, out)
		return 1
	}
	lab.dir = benchDir()
	// One run per lab directory: a second run at the same time gets a
	// directory of its own instead of tearing down the first one's lab.
	lock, err := lockDir(lab.dir)
	if err != nil {
		lab.dir = fmt.Sprintf("%s-%d", lab.dir, os.Getpid())
		fmt.Fprintf(os.Stderr, "another benchmark run holds the lab; using %s\n", lab.dir)
		if lock, err = lockDir(lab.dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	defer lock.Close()
	// A previous run that was killed may have left its lab behind.
	_, _ = tandemRaw(2*time.Minute, "lab", "down", "--dir", lab.dir)

	var once sync.Once
	down := func() {
		once.Do(func() {
			out, err := tandemRaw(2*time.Minute, "lab", "down", "--dir", lab.dir)
			fmt.Fprintf(os.Stderr, "lab down: %s %v\n", strings.TrimSpace(out), err)
		})
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
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lab.bin, "lab", "up", "--dir", lab.dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "lab up: %v\n", err)
		return 1
	}
	lab.upTook = time.Since(start)
	env, err := tandemRaw(time.Minute, "lab", "env", "--dir", lab.dir)
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
		}
	}
	if lab.kubeconfig == "" || lab.kubectl == "" {
		fmt.Fprintf(os.Stderr, "lab env: no KUBECONFIG or PATH in:\n%s", env)
		return 1
	}
	return m.Run()
}

// lockDir takes an exclusive, non-blocking lock beside dir; the kernel drops
// it when the process dies, so a killed run never leaves it held.
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

// tandemRaw runs the CLI outside a benchmark (TestMain), bounded by timeout.
func tandemRaw(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, lab.bin, args...).CombinedOutput()
	return string(out), err
}

// labEnv is the environment for the lab's CLIs: its kubeconfig and no
// TANDEM_SOURCE/TANDEM_TARGET from the caller's shell.
func labEnv() []string {
	return append(os.Environ(), "KUBECONFIG="+lab.kubeconfig, "TANDEM_SOURCE=", "TANDEM_TARGET=")
}

// kubectl runs the lab's kubectl with stdin, bounded by timeout, and returns stdout.
func kubectl(timeout time.Duration, stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, lab.kubectl, append([]string{"--kubeconfig", lab.kubeconfig}, args...)...)
	cmd.Env = labEnv()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), nil
}

// restConfig is a context of the lab's kubeconfig with no client-side rate limit.
func restConfig(context string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: lab.kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", context, err)
	}
	rc.QPS = -1 // no client-side limiter
	rc.Burst = 0
	rc.WarningHandler = rest.NoWarnings{}
	return rc, nil
}

// clientset connects to a context of the lab.
func clientset(context string) (kubernetes.Interface, error) {
	rc, err := restConfig(context)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}
