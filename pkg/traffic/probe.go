package traffic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Probe sends a steady, bounded stream of requests at an endpoint and counts
// the answers, per cluster when the answer names it (a header): what users
// would have seen during a switchover.
type Probe struct {
	URL     string
	Host    string        // Host header (the route's host); "" keeps the URL's
	Rate    int           // requests per second; default 50
	Max     time.Duration // the probe stops by itself after this; default 30 min
	Timeout time.Duration // per request; default 2 s
	// ClusterHeader names the response header that says which cluster
	// answered (the lab ingress sets X-Tandem-Cluster); "" counts no clusters.
	ClusterHeader string
	Client        *http.Client
	// Resolve, with DNS, resolves this host name of the URL through the DNS
	// server DNS (host:port) before each new connection, caching each
	// answer for its TTL like a resolver; every request gets a connection
	// of its own, so the probe follows a DNS-based split as clients do.
	Resolve, DNS string
	// OnAnswer, if set, hears every request (concurrently: it must be safe for that).
	OnAnswer func(Answer)

	mu     sync.Mutex
	res    ProbeResult
	cancel context.CancelFunc
	done   chan struct{}
}

// ProbeResult counts what the probe saw.
type ProbeResult struct {
	Sent      int64            `json:"sent"`
	OK        int64            `json:"ok"`
	Failed    int64            `json:"failed"`
	ByCluster map[string]int64 `json:"byCluster,omitempty"`
	// FailedByCluster counts the failed answers that named their cluster
	// (a 503 from one cluster's ingress): ByCluster counts the good ones.
	FailedByCluster map[string]int64 `json:"failedByCluster,omitempty"`
	// Failures are the first failures, with when and why.
	Failures []ProbeFailure `json:"failures,omitempty"`
	Started  time.Time      `json:"started"`
	Stopped  time.Time      `json:"stopped,omitzero"`
}

// Answer is one request of the probe, for callers that keep every one.
type Answer struct {
	Sent, Answered time.Time
	Status         int    // 0 when there was no answer
	Cluster        string // from ClusterHeader
	Err            error  // transport error, or the failed status
}

// ProbeFailure is one failed request.
type ProbeFailure struct {
	Time  time.Time `json:"time"`
	Error string    `json:"error"`
}

const maxFailures = 20

// Start begins sending; Stop ends it and returns the counts.
func (p *Probe) Start(ctx context.Context) {
	if p.Rate <= 0 {
		p.Rate = 50
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Minute
	}
	if p.Timeout <= 0 {
		p.Timeout = 2 * time.Second
	}
	if p.Client == nil {
		tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
		if p.Resolve != "" && p.DNS != "" {
			tr.DialContext = (&Resolver{Server: p.DNS}).DialContext(p.Resolve)
			tr.DisableKeepAlives = true
		}
		p.Client = &http.Client{Timeout: p.Timeout, Transport: tr}
	}
	ctx, p.cancel = context.WithTimeout(ctx, p.Max)
	p.done = make(chan struct{})
	p.res = ProbeResult{Started: time.Now(), ByCluster: map[string]int64{}, FailedByCluster: map[string]int64{}}
	go p.loop(ctx)
}

func (p *Probe) loop(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(time.Second / time.Duration(p.Rate))
	defer t.Stop()
	// At most a second's worth of requests in flight: a stalled endpoint
	// slows the probe down instead of piling up goroutines.
	slots := make(chan struct{}, p.Rate)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			// A second's worth of requests still unanswered: a user sending
			// this one now would be waiting too. It counts as failed.
			p.count("", errSaturated)
			if p.OnAnswer != nil {
				now := time.Now()
				p.OnAnswer(Answer{Sent: now, Answered: now, Err: errSaturated})
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			p.one(ctx)
		}()
	}
}

func (p *Probe) one(ctx context.Context) {
	a := Answer{Sent: time.Now()}
	defer func() {
		if p.OnAnswer != nil && ctx.Err() == nil {
			a.Answered = time.Now()
			p.OnAnswer(a)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		a.Err = err
		p.count("", err)
		return
	}
	if p.Host != "" {
		req.Host = p.Host
	}
	resp, err := p.Client.Do(req)
	if ctx.Err() != nil {
		return // stopped: a request cut short by Stop is not a user's failure
	}
	if err != nil {
		a.Err = err
		p.count("", err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.Status = resp.StatusCode
	if p.ClusterHeader != "" {
		a.Cluster = resp.Header.Get(p.ClusterHeader)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusNotFound {
		a.Err = fmt.Errorf("HTTP %d from %s", resp.StatusCode, orUnknown(a.Cluster))
		p.count(a.Cluster, a.Err)
		return
	}
	p.count(a.Cluster, nil)
}

// errSaturated is a request the probe could not send: every slot was held
// by a request still unanswered.
var errSaturated = errors.New("not sent: a second's worth of requests still unanswered (endpoint stalled)")

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed backend"
	}
	return s
}

func (p *Probe) count(cl string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Sent++
	if err != nil {
		p.res.Failed++
		if cl != "" {
			p.res.FailedByCluster[cl]++
		}
		if len(p.res.Failures) < maxFailures {
			p.res.Failures = append(p.res.Failures, ProbeFailure{Time: time.Now(), Error: err.Error()})
		}
		return
	}
	p.res.OK++
	if cl != "" {
		p.res.ByCluster[cl]++
	}
}

// Snapshot returns the counts so far.
func (p *Probe) Snapshot() ProbeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.res
	r.ByCluster, r.FailedByCluster = maps.Clone(p.res.ByCluster), maps.Clone(p.res.FailedByCluster)
	r.Failures = append([]ProbeFailure(nil), p.res.Failures...)
	return r
}

// Stop ends the probe, waits for requests in flight, and returns the counts.
func (p *Probe) Stop() ProbeResult {
	if p.cancel == nil {
		return ProbeResult{}
	}
	p.cancel()
	<-p.done
	r := p.Snapshot()
	r.Stopped = time.Now()
	return r
}

// String is "1200 sent, 0 failed; blue 600, green 600".
func (r ProbeResult) String() string {
	s := fmt.Sprintf("%d sent, %d failed", r.Sent, r.Failed)
	var cs []string
	for c := range r.ByCluster {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	for i, c := range cs {
		sep := ", "
		if i == 0 {
			sep = "; "
		}
		s += fmt.Sprintf("%s%s %d", sep, c, r.ByCluster[c])
	}
	return s + failedText(r.FailedByCluster)
}

// failedText is "; failed from green 2, blue 1" ("" when no failure named
// its cluster).
func failedText(failed map[string]int64) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(failed)) {
		if failed[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, failed[c]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; failed from " + strings.Join(parts, ", ")
}

// FailedSince is failedText of the failures named since prev.
func (r ProbeResult) FailedSince(prev ProbeResult) string {
	delta := map[string]int64{}
	for c, n := range r.FailedByCluster {
		delta[c] = n - prev.FailedByCluster[c]
	}
	return failedText(delta)
}
