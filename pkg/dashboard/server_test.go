package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// staticSource is a pair whose state a test sets.
type staticSource struct {
	mu        sync.Mutex
	weights   traffic.Weights
	rolled    int
	statusErr error
}

func (s *staticSource) Pairs(context.Context) ([]string, error) { return []string{"p"}, nil }
func (s *staticSource) Status(context.Context, string) (*pair.Status, error) {
	if s.statusErr != nil {
		return nil, s.statusErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &pair.Status{Clusters: []pair.Cluster{{Context: "a", Role: "active", Reachable: true}, {Context: "b", Role: "standby"}},
		Verdict: switchover.Verdict{Active: "a", Epoch: 3}, Weights: s.weights}, nil
}
func (s *staticSource) Weights(context.Context, string) (traffic.Weights, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.weights, nil
}
func (s *staticSource) Run(context.Context, string) (*Run, error) { return nil, nil }
func (s *staticSource) Drills(context.Context, string) ([]switchover.DrillReport, error) {
	return nil, nil
}
func (s *staticSource) RollBack(context.Context, string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rolled++
	return nil
}
func (s *staticSource) StartDrill(context.Context, string) (string, error) {
	return "", errors.New("not here")
}

func TestAPIAndActions(t *testing.T) {
	src := &staticSource{weights: traffic.Weights{"r": {"a": 100, "b": 0}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ro := httptest.NewServer((&Server{Source: src}).Handler(ctx))
	defer ro.Close()
	var st pair.Status
	get(t, ro.URL+"/api/status", &st)
	if st.Verdict.Active != "a" || st.Weights["r"]["a"] != 100 {
		t.Fatalf("/api/status: %+v", st)
	}
	if code := post(t, ro.URL+"/api/actions/rollback", ""); code != http.StatusForbidden {
		t.Fatalf("read-only rollback: %d", code)
	}
	if resp, _ := http.Get(ro.URL + "/api/status?pair=nope"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown pair: %d", resp.StatusCode)
	}

	rw := httptest.NewServer((&Server{Source: src, Actor: src, Token: "s3cret"}).Handler(ctx))
	defer rw.Close()
	if code := post(t, rw.URL+"/api/actions/rollback", "wrong"); code != http.StatusUnauthorized || src.rolled != 0 {
		t.Fatalf("bad token: %d, rolled %d", code, src.rolled)
	}
	if code := post(t, rw.URL+"/api/actions/rollback", "s3cret"); code != http.StatusOK || src.rolled != 1 {
		t.Fatalf("good token: %d, rolled %d", code, src.rolled)
	}
	if code := post(t, rw.URL+"/api/actions/drill", "s3cret"); code != http.StatusBadGateway {
		t.Fatalf("failed action: %d", code)
	}
}

func TestEventsFollowTheWeights(t *testing.T) {
	src := &staticSource{weights: traffic.Weights{"r": {"a": 100, "b": 0}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer((&Server{Source: src}).Handler(ctx))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	next := func() Update {
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				var u Update
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &u); err != nil {
					t.Fatal(err)
				}
				return u
			}
		}
		t.Fatal("stream ended")
		return Update{}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if u := next(); u.Status != nil && u.Status.Weights["r"]["a"] == 100 {
			break
		}
	}
	src.mu.Lock()
	src.weights = traffic.Weights{"r": {"a": 50, "b": 50}} // the fast loop reads it within fastEvery
	src.mu.Unlock()
	for time.Now().Before(deadline) {
		u := next()
		if u.Status != nil && u.Status.Weights["r"]["b"] == 50 {
			return
		}
	}
	t.Fatal("the new weights never came")
}

func get(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
