package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShiftFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "shift.yaml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	g := &Global{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	cmd := newShiftCmd(g)
	o := &ShiftOptions{g: g, Steps: "0,5,25,50,100", Pause: "30s"}
	gates, err := o.readShiftFile(cmd, write(`
router: haproxy:///run/h.sock?backend=app
steps: [10, 50, 100]
pause: [1s, 2s, 3s]
verifyTimeout: 5s
smoke: {url: "http://green/", host: app.example}
gates:
- http: {url: "http://lb/", host: app.example, requests: 5, maxFailures: 0.1, maxP99: 200ms}
- prometheus: {url: "http://prom:9090", query: "up", max: 1}
- command: "true"
`))
	if err != nil {
		t.Fatal(err)
	}
	if o.Router != "haproxy:///run/h.sock?backend=app" || o.Steps != "10,50,100" || o.Pause != "1s,2s,3s" || o.VerifyTimeout.Seconds() != 5 || o.Smoke != "http://green/" || o.SmokeHost != "app.example" {
		t.Fatalf("options from the file: %+v", o)
	}
	if len(gates) != 3 || !strings.HasPrefix(gates[0].Name(), "http") || !strings.Contains(gates[1].Name(), "up") || !strings.Contains(gates[2].Name(), "true") {
		t.Fatalf("gates %v", gateNames(gates))
	}
	// A flag given wins over the file.
	if err := cmd.Flags().Set("steps", "100"); err != nil {
		t.Fatal(err)
	}
	o2 := &ShiftOptions{g: g, Steps: "100"}
	if _, err := o2.readShiftFile(cmd, write("steps: [10, 20]\n")); err != nil || o2.Steps != "100" {
		t.Fatalf("flag vs file: %q, %v", o2.Steps, err)
	}
	for _, bad := range []string{"stepz: [1]\n", "gates:\n- {}\n", "gates:\n- http: {url: nope}\n", "gates:\n- command: x\n  http: {url: \"http://a/\"}\n", "pause: {a: 1}\n",
		// The rules of the key=value --gate-* flags (gates.go).
		"gates:\n- http: {url: \"http://a/\", maxP99: fast}\n", "gates:\n- http: {url: \"http://a/\", maxFailures: 2}\n",
		"gates:\n- http: {url: \"http://a/\", hots: b}\n", "gates:\n- prometheus: {url: \"http://p/\", op: \"!=\", query: up}\n"} {
		if _, err := (&ShiftOptions{g: g}).readShiftFile(cmd, write(bad)); err == nil {
			t.Errorf("file %q accepted", bad)
		}
	}
}
