package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/internal/labtest"
)

// lab is the environment of the suite's lab.
var lab struct {
	bin        string // the tandem binary under test
	dir        string // --dir of the lab
	kubeconfig string
	kubectl    string
	haproxy    string // host:port
	socket     string // HAProxy admin socket
	aws        string // the lab's AWS endpoint
	zone       string // the lab's hosted zone id
	dns        string // the lab's DNS server
	dnsRouter  string // the seeded app's externaldns router
	appPort    string // the lab ingresses' port at their own addresses
	upTook     time.Duration
}

func TestMain(m *testing.M) {
	// The suite's fixed lab directory, so `make test` can always clean up after a run that was killed.
	dir := labtest.StateDir("TANDEM_E2E_DIR", "e2e-lab")
	// The AWS routers' tests run the SDK against local fakes that take any
	// credentials; tandem invents none, so the suite brings its own.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "e2e", "AWS_SECRET_ACCESS_KEY": "e2e", "AWS_EC2_METADATA_DISABLED": "true"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	os.Exit(labtest.Main(m, labtest.Options{Dir: dir, What: "e2e suite", Seed: true}, func(e labtest.Env) {
		lab.bin, lab.dir, lab.kubeconfig, lab.kubectl = e.Bin, e.Dir, e.Kubeconfig, e.Kubectl
		lab.haproxy, lab.socket, lab.upTook, lab.aws = e.HAProxy, e.Socket, e.UpTook, e.AWS
		lab.zone, lab.dns, lab.dnsRouter, lab.appPort = e.Zone, e.DNS, e.DNSRouter, e.AppPort
	}))
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
	r, err := runCmdErr(env, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// kubectlResult is kubectl for goroutines other than the test's own: it never
// calls t.Fatal, a command that cannot run is its error.
func kubectlResult(args ...string) (result, error) {
	return runCmdErr(nil, lab.kubectl, args...)
}

// runCmdErr runs bin against the lab's kubeconfig, bounded to 5 minutes; a
// non-zero exit is in the result, a command that could not run is the error.
func runCmdErr(env []string, bin string, args ...string) (result, error) {
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
		return r, fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	return r, nil
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
