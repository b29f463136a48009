package haproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Runtime talks to HAProxy's runtime API on its admin socket.
type Runtime struct {
	Socket string
}

// Command sends one runtime API command and returns HAProxy's answer.
func (r Runtime) Command(ctx context.Context, cmd string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", r.Socket)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API %s: %w", r.Socket, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy runtime API %q: %w", cmd, err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API %q: %w", cmd, err)
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// SetWeight sets a server's weight (0–256) in a backend.
func (r Runtime) SetWeight(ctx context.Context, backend, server string, weight int) error {
	out, err := r.Command(ctx, fmt.Sprintf("set weight %s/%s %d", backend, server, weight))
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "" {
		return fmt.Errorf("haproxy: set weight %s/%s %d: %s", backend, server, weight, out)
	}
	return nil
}

// ServerState is one line of `show servers state`.
type ServerState struct {
	Backend       string
	Server        string
	Address       string
	Weight        int
	InitialWeight int
	OperState     int // 2 = UP
}

// Servers reads the current state of a backend's servers.
func (r Runtime) Servers(ctx context.Context, backend string) ([]ServerState, error) {
	out, err := r.Command(ctx, "show servers state "+backend)
	if err != nil {
		return nil, err
	}
	return parseServersState(out)
}

// parseServersState reads the format of `show servers state` (version 1):
// be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state
// srv_uweight srv_iweight ...
func parseServersState(out string) ([]ServerState, error) {
	var states []ServerState
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || line == "1" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 9 {
			return nil, fmt.Errorf("haproxy: unexpected server state line %q", line)
		}
		var s ServerState
		s.Backend, s.Server, s.Address = f[1], f[3], f[4]
		if _, err := fmt.Sscan(f[5], &s.OperState); err != nil {
			return nil, fmt.Errorf("haproxy: state line %q: %w", line, err)
		}
		if _, err := fmt.Sscan(f[7], &s.Weight); err != nil {
			return nil, fmt.Errorf("haproxy: state line %q: %w", line, err)
		}
		if _, err := fmt.Sscan(f[8], &s.InitialWeight); err != nil {
			return nil, fmt.Errorf("haproxy: state line %q: %w", line, err)
		}
		states = append(states, s)
	}
	return states, nil
}
