package traffic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbeCountsPerCluster(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.example" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		i := n.Add(1)
		switch {
		case i%10 == 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case i%5 == 0: // a failed answer that names its cluster
			w.Header().Set("X-Tandem-Cluster", "green")
			w.WriteHeader(http.StatusServiceUnavailable)
		case i%2 == 0:
			w.Header().Set("X-Tandem-Cluster", "green")
		default:
			w.Header().Set("X-Tandem-Cluster", "blue")
		}
	}))
	defer srv.Close()
	var answers atomic.Int64
	p := &Probe{URL: srv.URL, Host: "app.example", Rate: 200, ClusterHeader: "X-Tandem-Cluster", OnAnswer: func(a Answer) {
		if !a.Answered.Before(a.Sent) && (a.Status != 0 || a.Err != nil) {
			answers.Add(1)
		}
	}}
	p.Start(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for p.Snapshot().Sent < 50 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r := p.Stop()
	if r.Sent < 50 || r.Sent != r.OK+r.Failed {
		t.Fatalf("probe counted %+v", r)
	}
	if r.Failed == 0 || r.ByCluster["blue"] == 0 || r.ByCluster["green"] == 0 || len(r.Failures) == 0 || !strings.Contains(r.Failures[0].Error, "503") {
		t.Fatalf("probe did not tell clusters and failures apart: %+v", r)
	}
	if answers.Load() != r.Sent {
		t.Fatalf("OnAnswer heard %d requests, the probe counted %d", answers.Load(), r.Sent)
	}
	if r.ByCluster["blue"]+r.ByCluster["green"] != r.OK {
		t.Fatalf("per-cluster counts %v do not add up to %d", r.ByCluster, r.OK)
	}
	// The failures that named green are green's; the unnamed ones no one's.
	if g := r.FailedByCluster["green"]; g == 0 || g >= r.Failed || r.FailedByCluster["blue"] != 0 || !strings.Contains(r.String(), "failed from green ") {
		t.Fatalf("failed answers by cluster %v of %d failed (%s): want green's counted, the unnamed ones not", r.FailedByCluster, r.Failed, r)
	}
}

// A stalled endpoint: the requests the probe cannot send (every slot held)
// are failures, not silently dropped.
func TestProbeCountsUnsentRequests(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p := &Probe{URL: srv.URL, Rate: 20, Timeout: time.Minute}
	p.Start(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for p.Snapshot().Failed < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r := p.Stop()
	if r.Failed < 10 || len(r.Failures) == 0 || !strings.Contains(r.Failures[0].Error, "not sent") {
		t.Fatalf("a stalled endpoint: %+v", r)
	}
}
