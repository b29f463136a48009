package traffic_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/inmemory"
)

// A gate whose URL carries a password, failing so the failure is journaled
// too: the password appears nowhere on disk, nor in the report.
func TestGateCredentialsNeverWritten(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != "hunter2" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	gateURL := strings.Replace(srv.URL, "http://", "http://ops:hunter2@", 1) + "/healthz?token=s3cr3t"
	dir := t.TempDir()
	plan, err := traffic.NewPlan([]string{"app"}, "blue", "green", []int{50, 100})
	if err != nil {
		t.Fatal(err)
	}
	s := &traffic.Shifter{Router: inmemory.New(start()), Plan: plan, Pauses: []time.Duration{50 * time.Millisecond, 0},
		Gates: []traffic.Gate{traffic.HTTPGate{URL: gateURL, Requests: 1}}, GateEvery: 10 * time.Millisecond,
		JournalPath: traffic.JournalPath(dir, "inmemory://test")}
	rep, err := s.Shift(context.Background())
	if err == nil || !rep.RolledBack {
		t.Fatalf("the failing gate did not roll back: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Fatal("no journal written")
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{"hunter2", "s3cr3t"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %q:\n%s", f, secret, b)
			}
		}
	}
	if b, _ := json.Marshal(rep); strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "s3cr3t") {
		t.Errorf("the report shows a credential:\n%s", b)
	}
}
