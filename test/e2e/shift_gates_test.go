package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Given two HTTP gates in the key=value form, one answering 200 and one 500,
// a shift from blue to green fails at its first step, names the gate that
// failed (its URL and host), not the one that passed, and rolls the
// weights back to blue 100 / green 0.
func TestShiftTwoHTTPGatesOneFailing(t *testing.T) {
	// Blue 100 / green 0 is where the shift starts and what every other test expects.
	labAtRest(t)
	shiftSetWeights(t, 100, 0)
	t.Cleanup(func() { shiftSetWeights(t, 100, 0) })
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(ok.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	t.Cleanup(bad.Close)
	okGate, badGate := ok.URL+"/", bad.URL+"/"

	r := startShift(t, t.TempDir(), noLines, "--steps", "50,100", "--pause", "2s", "--gate-interval", "100ms",
		"--gate-http", "url="+okGate+",host=ok.example,requests=3,maxP99=2s",
		"--gate-http", "url="+badGate+",host=bad.example,requests=3,maxFailures=0.1")
	code := r.wait(t)
	stderr := r.stderr.String()
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a gate failed)\n%s", code, stderr)
	}
	failed := "http " + badGate + " (Host bad.example)"
	if !strings.Contains(stderr, "gate "+failed+" FAILED") || !strings.Contains(stderr, "status 500, want 200") {
		t.Errorf("stderr does not say that gate %q failed with status 500:\n%s", failed, stderr)
	}
	if strings.Contains(stderr, "gate http "+okGate+" (Host ok.example) FAILED") {
		t.Errorf("the gate that answers 200 is reported failed:\n%s", stderr)
	}
	rep := r.report(t)
	if !rep.RolledBack || rep.Rollback == nil || !rep.Rollback.VerifiedOK {
		t.Errorf("report %+v, want a verified rollback", rep)
	}
	if len(rep.Steps) != 1 || rep.Steps[0].Percent != 50 || !strings.Contains(rep.Steps[0].Failed, failed) {
		t.Errorf("steps %+v, want the 50%% step failed by %s", rep.Steps, failed)
	}
	if w := shiftRuntimeWeights(t); w["blue"] != 100 || w["green"] != 0 {
		t.Errorf("runtime API weights %v, want blue 100 green 0", w)
	}
	if w := shiftStatusWeights(t); w["blue"] != 100 || w["green"] != 0 {
		t.Errorf("shift status %v, want blue 100 green 0", w)
	}
}
