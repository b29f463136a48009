package labtest

import (
	"context"
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

	"github.com/tandem-io/tandem/pkg/statedir"
)

// Env is what tests need of the lab.
type Env struct {
	Root       string // the repository
	Bin        string // the tandem binary under test
	Dir        string // --dir of the lab
	Kubeconfig string
	Kubectl    string // the lab's kubectl (green's version)
	HAProxy    string // host:port
	Socket     string // HAProxy's admin socket
	Router     string // the router URL of the lab's HAProxy
	AWS        string // the lab's AWS endpoint (Route53, ELBv2, EC2)
	Zone       string // the lab's hosted zone id (example.)
	DNS        string // the lab's DNS server, host:port (UDP)
	DNSRouter  string // the externaldns router of the seeded app
	AppPort    string // the port the lab ingresses serve on at their own addresses
	UpTook     time.Duration
}

// Options say which lab and what to do with it.
type Options struct {
	Dir  string // the lab directory (see StateDir)
	What string // "e2e suite", "benchmark run": for messages
	Seed bool   // run `tandem lab seed` after `lab up`
}

// StateDir is $envVar if set, else $XDG_STATE_HOME/tandem/name (default ~/.local/state).
func StateDir(envVar, name string) string {
	if d := os.Getenv(envVar); d != "" {
		return d
	}
	return statedir.Path(name)
}

// Main brings the lab up, calls ready with its environment, runs the tests
// and takes the lab down; it returns the exit code for os.Exit.
func Main(m *testing.M, o Options, ready func(Env)) int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The binary under test carries the fault hooks of the crash tests
	// (build tag tandemfaults); the shipped one (make build) does not. Both
	// leave out kustomize's Go plugin loader, as the Makefile says why.
	env := Env{Root: root, Bin: filepath.Join(root, "bin", "tandem-e2e"), Dir: o.Dir}
	build := exec.Command("go", "build", "-tags", "tandemfaults,kustomize_disable_go_plugin_support", "-o", env.Bin, "./cmd/tandem")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tandem: %v\n%s", err, out)
		return 1
	}
	lock, err := lockDir(env.Dir)
	if err != nil {
		env.Dir = fmt.Sprintf("%s-%d", env.Dir, os.Getpid())
		fmt.Fprintf(os.Stderr, "another %s holds the lab; using %s\n", o.What, env.Dir)
		if lock, err = lockDir(env.Dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	defer lock.Close()
	run := func(timeout time.Duration, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, env.Bin, args...).CombinedOutput()
		return string(out), err
	}
	// A previous run that was killed may have left its lab behind.
	_, _ = run(2*time.Minute, "lab", "down", "--dir", env.Dir)

	var once sync.Once
	down := func() {
		once.Do(func() {
			out, err := run(2*time.Minute, "lab", "down", "--dir", env.Dir)
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute) // a cold first run builds Kubernetes
	defer cancel()
	up := exec.CommandContext(ctx, env.Bin, "lab", "up", "--dir", env.Dir)
	up.Stdout, up.Stderr = os.Stderr, os.Stderr
	if err := up.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "lab up: %v\n", err)
		return 1
	}
	env.UpTook = time.Since(start)
	out, err := run(time.Minute, "lab", "env", "--dir", env.Dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab env: %v\n%s", err, out)
		return 1
	}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `'"`)
		switch k {
		case "KUBECONFIG":
			env.Kubeconfig = v
		case "PATH":
			env.Kubectl = filepath.Join(strings.TrimSuffix(v, ":$PATH"), "kubectl")
		case "TANDEM_LAB_HAPROXY":
			env.HAProxy = v
		case "TANDEM_LAB_HAPROXY_SOCKET":
			env.Socket = v
		case "TANDEM_LAB_ROUTER":
			env.Router = v
		case "TANDEM_LAB_AWS":
			env.AWS = v
		case "TANDEM_LAB_ZONE":
			env.Zone = v
		case "TANDEM_LAB_DNS":
			env.DNS = v
		case "TANDEM_LAB_DNS_ROUTER":
			env.DNSRouter = v
		case "TANDEM_LAB_APP_PORT":
			env.AppPort = v
		}
	}
	if env.Kubeconfig == "" || env.Kubectl == "" {
		fmt.Fprintf(os.Stderr, "lab env: no KUBECONFIG or PATH in:\n%s", out)
		return 1
	}
	if o.Seed {
		if out, err := run(10*time.Minute, "lab", "seed", "--dir", env.Dir); err != nil {
			fmt.Fprintf(os.Stderr, "lab seed: %v\n%s", err, out)
			return 1
		}
	}
	ready(env)
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
