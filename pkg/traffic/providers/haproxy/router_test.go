package haproxy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/haproxy"
	"github.com/tandem-io/tandem/pkg/traffic/providertest"
)

// instance is a real HAProxy started by a test.
type instance struct {
	dir, cfg, socket, state string
	stop                    func()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startHAProxy writes a config with backend "app" (servers blue 100, green 0)
// and starts HAProxy in the foreground; it is killed in t.Cleanup.
func startHAProxy(t *testing.T) instance {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy not installed: %v", err)
	}
	// Unix socket paths are limited to 108 bytes: keep the directory short.
	dir, err := os.MkdirTemp("", "hap")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	in := instance{dir: dir, cfg: filepath.Join(dir, "haproxy.cfg"), socket: filepath.Join(dir, "admin.sock"), state: filepath.Join(dir, "haproxy.state")}
	cfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
    server-state-file %s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    load-server-state-from-file global
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    balance roundrobin
    server blue 127.0.0.1:%d weight 100
    server green 127.0.0.1:%d weight 0
backend other
    server blue 127.0.0.1:%d weight 100
    server green 127.0.0.1:%d weight 0
`, in.socket, in.state, freePort(t), freePort(t), freePort(t), freePort(t), freePort(t))
	if err := os.WriteFile(in.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	in.stop = in.start(t, bin)
	return in
}

// start runs HAProxy and returns a function that kills it (also run in t.Cleanup).
func (in instance) start(t *testing.T, bin string) (stop func()) {
	t.Helper()
	_ = os.Remove(in.socket)
	cmd := exec.Command(bin, "-f", in.cfg, "-db")
	logf, err := os.OpenFile(filepath.Join(in.dir, "haproxy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := (haproxy.Runtime{Socket: in.socket}).Command(context.Background(), "show info"); err == nil {
			return stop
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(in.dir, "haproxy.log"))
			t.Fatalf("haproxy did not open %s:\n%s", in.socket, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) traffic.Router {
		in := startHAProxy(t)
		return haproxy.New(haproxy.Config{Socket: in.socket, Backends: []string{"app", "other"}, StateFile: in.state})
	}, []string{"app", "other"}, []string{"blue", "green"})
}

// Weights written through the router survive a restart of HAProxy, which
// loads them from the server-state file.
func TestWeightsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	in := startHAProxy(t)
	r := haproxy.New(haproxy.Config{Socket: in.socket, Backends: []string{"app"}, StateFile: in.state})
	want := traffic.Weights{"app": {"blue": 30, "green": 70}}
	if err := r.SetWeights(ctx, want); err != nil {
		t.Fatal(err)
	}
	in.stop()
	bin, _ := exec.LookPath("haproxy")
	in.start(t, bin)
	got, err := r.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !want.Covers(got) {
		t.Fatalf("after restart: %s, want %s", got, want)
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		in      string
		wantErr bool
		socket  string
		backs   int
		state   string
	}{
		{"haproxy:///run/h.sock?backend=clusters", false, "/run/h.sock", 1, ""},
		{"haproxy:///run/h.sock?backend=a,b&state=/var/h.state&blue=s1", false, "/run/h.sock", 2, "/var/h.state"},
		{"haproxy:///run/h.sock", true, "", 0, ""},
		{"haproxy://host/run/h.sock?backend=a", true, "", 0, ""},
		{"route66:///x?backend=a", true, "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			cfg, err := haproxy.ParseURL(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if cfg.Socket != c.socket || len(cfg.Backends) != c.backs || cfg.StateFile != c.state {
				t.Errorf("got %+v", cfg)
			}
		})
	}
}

// A router URL that maps a cluster to a server the backend lacks (a typo,
// a key the URL does not know) is refused by name, not read as a backend
// of no cluster.
func TestObserveRefusesAServerTheBackendLacks(t *testing.T) {
	in := startHAProxy(t)
	for _, raw := range []string{"haproxy://" + in.socket + "?backend=app&bogus=1", "haproxy://" + in.socket + "?backend=app&blue=nosrv"} {
		cfg, err := haproxy.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = haproxy.New(cfg).Observe(context.Background())
		if !errors.Is(err, traffic.ErrInvalid) || !strings.Contains(err.Error(), "has no server") {
			t.Errorf("%s: Observe error %v, want ErrInvalid naming the missing server", raw, err)
		}
	}
	cfg, _ := haproxy.ParseURL("haproxy://" + in.socket + "?backend=app&blue=blue&green=green")
	if _, err := haproxy.New(cfg).Observe(context.Background()); err != nil {
		t.Errorf("a URL mapping each cluster to its server: %v", err)
	}
}

// A server-state file that cannot be written is refused before a shift
// (Preflight), not found failing at its first step.
func TestPreflightRefusesAStateFileThatCannotBeWritten(t *testing.T) {
	var p traffic.Preflighter = haproxy.New(haproxy.Config{Socket: "/nonexistent.sock", Backends: []string{"app"}, StateFile: "/nonexistent/dir/x.state"})
	if _, err := p.Preflight(context.Background()); !errors.Is(err, traffic.ErrInvalid) || !strings.Contains(err.Error(), "/nonexistent/dir/x.state") {
		t.Errorf("Preflight of an unwritable state file: %v, want ErrInvalid naming it", err)
	}
	ok := haproxy.New(haproxy.Config{Socket: "/nonexistent.sock", Backends: []string{"app"}, StateFile: filepath.Join(t.TempDir(), "x.state")})
	if _, err := ok.Preflight(context.Background()); err != nil {
		t.Errorf("Preflight of a writable state file: %v", err)
	}
}
