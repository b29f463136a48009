package lab

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// HAProxyBackend and its servers (one per cluster) are what the traffic
// router changes.
const HAProxyBackend = "clusters"

// IngressHealthHost is the Host header of the lab ingress health check.
const IngressHealthHost = "tandem-lab-ingress"

func haproxyConfig(st *State) string {
	var servers []string
	for i, c := range st.Clusters {
		// Blue is live, green waits at weight 0: the start of every blue/green story.
		w := 0
		if i == 0 {
			w = 100
		}
		servers = append(servers, fmt.Sprintf("    server %s 127.0.0.1:%d weight %d check inter 1s fall 2 rise 1", c.Name, c.IngressPort, w))
	}
	return fmt.Sprintf(`# Written by tandem lab; runtime weights are persisted in the state file.
global
    stats socket %s mode 600 level admin
    server-state-file %s
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    load-server-state-from-file global
    option redispatch
    retries 2

frontend lab
    bind 127.0.0.1:%d
    default_backend %s

backend %s
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz hdr Host %s
%s
`, st.HAProxySock, filepath.Join(st.Dir, "haproxy.state"), st.HAProxyPort, HAProxyBackend, HAProxyBackend, IngressHealthHost, strings.Join(servers, "\n"))
}

func (l *Lab) startHAProxy(ctx context.Context, st *State, bin string) error {
	cfg := filepath.Join(l.Dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(st)), 0o644); err != nil {
		return err
	}
	// -db keeps it in the foreground, so the PID we record is HAProxy's own.
	p := Process{Name: "haproxy", Binary: bin, Args: []string{"-f", cfg, "-db"}, Port: st.HAProxyPort, Log: filepath.Join(l.Dir, "logs", "haproxy.log")}
	return l.ensure(ctx, l.runningSet(), p, func(ctx context.Context) error {
		return poll(ctx, 100*time.Millisecond, func() error {
			if _, err := os.Stat(st.HAProxySock); err != nil {
				return err
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", st.HAProxyPort), nil)
			resp, err := insecureClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
	})
}

func waitHealth(ctx context.Context, port int) error {
	return poll(ctx, 100*time.Millisecond, func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), nil)
		req.Host = IngressHealthHost
		resp, err := insecureClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("lab ingress health: %d", resp.StatusCode)
		}
		return nil
	})
}
