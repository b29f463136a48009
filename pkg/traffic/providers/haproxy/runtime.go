package haproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
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
	Port          int // srv_port; 0 when HAProxy does not say
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
		if len(f) > 18 {
			// srv_port, the 19th field; a parse failure leaves 0.
			_, _ = fmt.Sscan(f[18], &s.Port)
		}
		states = append(states, s)
	}
	return states, nil
}

// State returns the whole `show servers state` answer, in the format of
// HAProxy's server-state-file (version line, header, one line per server).
func (r Runtime) State(ctx context.Context) (string, error) {
	out, err := r.Command(ctx, "show servers state")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(out, "1\n") && out != "1" {
		return "", fmt.Errorf("haproxy: show servers state: unexpected answer %q", firstLine(out))
	}
	return out + "\n", nil
}

// SaveState writes the current server state to path (HAProxy's
// server-state-file), atomically, so a reload keeps the runtime weights.
func (r Runtime) SaveState(ctx context.Context, path string) error {
	state, err := r.State(ctx)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(state), 0o644); err != nil {
		return fmt.Errorf("haproxy: save server state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("haproxy: save server state: %w", err)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// ServedTotals returns, per server of backend, how many sessions HAProxy
// has sent it since it started (the stot column of `show stat`).
func (r Runtime) ServedTotals(ctx context.Context, backend string) (map[string]int64, error) {
	out, err := r.Command(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return parseServed(out, backend)
}

// statRows reads the CSV of `show stat` — a "# pxname,svname,…" header,
// then one line per proxy or server — and returns the column index of each
// name and the lines of backend's servers; every column of need must exist.
func statRows(out, backend string, need ...string) (map[string]int, [][]string, error) {
	lines := strings.Split(out, "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		return nil, nil, fmt.Errorf("haproxy: show stat: unexpected answer %q", firstLine(out))
	}
	col := map[string]int{}
	for i, name := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
		col[name] = i
	}
	for _, n := range append([]string{"pxname", "svname"}, need...) {
		if _, ok := col[n]; !ok {
			return nil, nil, fmt.Errorf("haproxy: show stat has no %s column", n)
		}
	}
	var rows [][]string
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		if len(f) <= col["svname"] || f[col["pxname"]] != backend || f[col["svname"]] == "FRONTEND" || f[col["svname"]] == "BACKEND" {
			continue
		}
		rows = append(rows, f)
	}
	return col, rows, nil
}

// parseServed reads the stot column of each server of backend.
func parseServed(out, backend string) (map[string]int64, error) {
	col, rows, err := statRows(out, backend, "stot")
	if err != nil {
		return nil, err
	}
	served := map[string]int64{}
	for _, f := range rows {
		stot := col["stot"]
		if len(f) <= stot {
			continue
		}
		var n int64
		if _, err := fmt.Sscan(f[stot], &n); err != nil {
			return nil, fmt.Errorf("haproxy: show stat %s/%s stot %q: %w", f[col["pxname"]], f[col["svname"]], f[stot], err)
		}
		served[f[col["svname"]]] = n
	}
	return served, nil
}

// Counts are a server's running totals from `show stat`: sessions sent to
// it, and those that failed there (5xx answers, connection and response
// errors).
type Counts struct {
	Sent, Errors int64
}

// ServerCounts returns the Counts of each server of backend.
func (r Runtime) ServerCounts(ctx context.Context, backend string) (map[string]Counts, error) {
	out, err := r.Command(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return parseCounts(out, backend)
}

func parseCounts(out, backend string) (map[string]Counts, error) {
	col, rows, err := statRows(out, backend, "stot", "hrsp_5xx", "econ", "eresp")
	if err != nil {
		return nil, err
	}
	num := func(f []string, name string) int64 {
		var n int64
		if i := col[name]; i < len(f) {
			_, _ = fmt.Sscan(f[i], &n) // an empty field is 0
		}
		return n
	}
	counts := map[string]Counts{}
	for _, f := range rows {
		counts[f[col["svname"]]] = Counts{Sent: num(f, "stot"), Errors: num(f, "hrsp_5xx") + num(f, "econ") + num(f, "eresp")}
	}
	return counts, nil
}
