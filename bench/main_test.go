package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tandem-io/tandem/internal/labtest"
)

// lab is the environment of the benchmarks' own lab.
var lab struct {
	root       string // the repository
	bin        string // the tandem binary under test
	dir        string // --dir of the lab
	kubeconfig string
	kubectl    string // the lab's kubectl (green's version)
	haproxy    string // host:port of the lab's HAProxy
	socket     string // its admin socket
	router     string // its router URL
	aws        string // its AWS endpoint
	zone       string // its hosted zone id
	dns        string // its DNS server
	upTook     time.Duration
}

func TestMain(m *testing.M) {
	flag.Parse()
	// `go test ./...` without -bench runs nothing here: no lab for it.
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	// The benchmarks' fixed lab directory (never the user's lab or the e2e
	// suite's), so a killed run is cleaned up by the next one.
	dir := labtest.StateDir("TANDEM_BENCH_DIR", "bench-lab")
	os.Exit(labtest.Main(m, labtest.Options{Dir: dir, What: "benchmark run"}, func(e labtest.Env) {
		lab.root, lab.bin, lab.dir, lab.kubeconfig, lab.kubectl, lab.upTook = e.Root, e.Bin, e.Dir, e.Kubeconfig, e.Kubectl, e.UpTook
		lab.haproxy, lab.socket, lab.router = e.HAProxy, e.Socket, e.Router
		lab.aws, lab.zone, lab.dns = e.AWS, e.Zone, e.DNS
	}))
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

// labPair is blue and green: their configs and clientsets, unthrottled.
type labPair struct {
	blueRC, greenRC *rest.Config
	blue, green     kubernetes.Interface
}

// connectPair connects to blue and green, or ends the benchmark.
func connectPair(b *testing.B) labPair {
	b.Helper()
	var p labPair
	var err error
	if p.blueRC, err = restConfig("blue"); err != nil {
		b.Fatal(err)
	}
	if p.greenRC, err = restConfig("green"); err != nil {
		b.Fatal(err)
	}
	if p.blue, err = kubernetes.NewForConfig(p.blueRC); err != nil {
		b.Fatal(err)
	}
	if p.green, err = kubernetes.NewForConfig(p.greenRC); err != nil {
		b.Fatal(err)
	}
	return p
}

// clientset connects to a context of the lab.
func clientset(context string) (kubernetes.Interface, error) {
	rc, err := restConfig(context)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}
