package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// maxDrills is how many of the last drills are shown.
const maxDrills = 10

// Local is the pair of a CLI user: two clusters and a router, read as
// `tandem status` reads them; switchovers, drills and shifts as the CLI's
// journals and drill reports on this machine tell them.
type Local struct {
	Name      string // the pair's name on the page
	Clusters  [2]*cluster.Conn
	RouterURL string // "" = the one the records remember
	Open      func(ctx context.Context, url string) (traffic.Router, error)
	// JournalDir and ReportDir are those of the CLI's switchover/drill/shift.
	JournalDir string
	ReportDir  string

	mu        sync.Mutex
	router    traffic.Router
	routerURL string
}

// Pairs implements Source.
func (l *Local) Pairs(context.Context) ([]string, error) { return []string{l.Name}, nil }

// Status implements Source.
func (l *Local) Status(ctx context.Context, _ string) (*pair.Status, error) {
	st, err := pair.Read(ctx, l.Clusters, l.RouterURL, func(url string) (traffic.Router, error) { return l.open(ctx, url) })
	if err == nil && st.Router != "" {
		l.mu.Lock()
		if l.routerURL == "" {
			l.routerURL = st.Router
		}
		l.mu.Unlock()
	}
	return st, err
}

// open returns the router url names, opened once.
func (l *Local) open(ctx context.Context, url string) (traffic.Router, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.router != nil && l.routerURL == url {
		return l.router, nil
	}
	r, err := l.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	l.router, l.routerURL = r, url
	return r, nil
}

// Weights implements Source.
func (l *Local) Weights(ctx context.Context, _ string) (traffic.Weights, error) {
	url := l.RouterURL
	if url == "" {
		l.mu.Lock()
		url = l.routerURL
		l.mu.Unlock()
	}
	if url == "" {
		return nil, fmt.Errorf("no router yet")
	}
	r, err := l.open(ctx, url)
	if err != nil {
		return nil, err
	}
	return r.Observe(ctx)
}

// Run implements Source: the newest switchover journal's last run, with
// the steps of the shift that ran in it.
func (l *Local) Run(ctx context.Context, _ string) (*Run, error) {
	// This pair's only: the journal directory may hold other pairs'.
	var files []string
	for _, c := range l.Clusters {
		if id, err := c.Identity(ctx); err == nil && id != "" {
			files = append(files, switchover.JournalPath(l.JournalDir, id))
		}
	}
	var newest string
	var at time.Time
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(at) {
			newest, at = f, fi.ModTime()
		}
	}
	if newest == "" {
		return nil, nil
	}
	recs, err := journal.ReadFile(newest)
	if err != nil {
		return nil, err
	}
	last, ended := journal.LastRun(recs)
	if len(last) == 0 || last[0].Op != journal.OpStart {
		return nil, nil
	}
	run := &Run{Kind: "switchover", Name: last[0].Run, From: last[0].Detail["from"], To: last[0].Detail["to"], Running: !ended, Updated: at}
	if ended {
		run.Result = last[len(last)-1].Detail["result"]
	}
	for _, p := range switchover.Progress(last) {
		run.Phases = append(run.Phases, Phase{Name: p.Name, Result: p.Result})
	}
	run.Steps = l.steps(last[0].Time)
	return run, nil
}

// steps are the shift's steps journaled since since.
func (l *Local) steps(since time.Time) []Step {
	l.mu.Lock()
	url := l.routerURL
	if l.RouterURL != "" {
		url = l.RouterURL
	}
	l.mu.Unlock()
	if url == "" {
		return nil
	}
	recs, err := journal.ReadFile(traffic.JournalPath(l.JournalDir, url))
	if err != nil {
		return nil
	}
	last, _ := journal.LastRun(recs)
	if len(last) == 0 || last[0].Time.Before(since) {
		return nil
	}
	var out []Step
	idx := map[string]int{}
	for _, r := range last {
		if !strings.HasPrefix(r.Key, "step-") {
			continue
		}
		i, ok := idx[r.Key]
		if !ok {
			i = len(out)
			idx[r.Key] = i
			out = append(out, Step{Key: r.Key})
		}
		switch r.Op {
		case journal.OpIntent:
			out[i].Result = "running"
		case journal.OpDone:
			out[i].Result = "ok"
		case journal.OpFailed:
			out[i].Result = "failed"
		}
	}
	return out
}

// Drills implements Source: the reports in ReportDir, newest first.
func (l *Local) Drills(ctx context.Context, _ string) ([]switchover.DrillReport, error) {
	var ids, contexts [2]string
	for i, c := range l.Clusters {
		ids[i], _ = c.Identity(ctx)
		contexts[i] = c.Context
	}
	files, _ := filepath.Glob(filepath.Join(l.ReportDir, "drill-*.json"))
	sort.Sort(sort.Reverse(sort.StringSlice(files))) // named by their start time
	var out []switchover.DrillReport
	for _, f := range files {
		if len(out) == maxDrills {
			break
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var r switchover.DrillReport
		if json.Unmarshal(b, &r) == nil && r.Of(ids, contexts) { // this pair's only
			out = append(out, r)
		}
	}
	return out, nil
}

// RollBack implements Actor: all traffic to the active cluster, verified,
// as `tandem shift --rollback` does.
func (l *Local) RollBack(ctx context.Context, _ string) error {
	v := pair.Verdict(ctx, l.Clusters)
	if v.Active == "" {
		return fmt.Errorf("which cluster is active is unknown (%s): nothing to roll back to", strings.Join(v.Problems, "; "))
	}
	other := l.Clusters[0].Context
	if other == v.Active {
		other = l.Clusters[1].Context
	}
	l.mu.Lock()
	url := l.routerURL
	l.mu.Unlock()
	if l.RouterURL != "" {
		url = l.RouterURL
	}
	r, err := l.open(ctx, url)
	if err != nil {
		return err
	}
	journal := ""
	if l.JournalDir != "" {
		journal = traffic.JournalPath(l.JournalDir, url)
	}
	return traffic.SendAllTo(ctx, r, journal, v.Active, other, "rolled back from the dashboard")
}
