package mirror

// What the mirror knows of each change's outcome: applied, unchanged or
// deleted (with its lag), failing and since when, and the counts Stats
// and NotInStep report.

import (
	"sort"
	"time"
)

// done records an outcome and the lag from when the change was seen.
func (m *Mirror) done(k key, outcome string) {
	now := time.Now()
	m.mu.Lock()
	seen, ok := m.seen[k]
	delete(m.seen, k)
	delete(m.failing, k)
	delete(m.ownerWaited, k)
	m.forgetAwaiting(k)
	m.countNotInStep()
	switch outcome {
	case "applied":
		m.stats.Applied++
		m.stats.LastApply = now
	case "deleted":
		m.stats.Deleted++
		m.stats.LastApply = now
	case "unchanged":
		m.stats.Unchanged++
	}
	var lag float64
	if ok && (outcome == "applied" || outcome == "deleted") {
		lag = now.Sub(seen).Seconds()
		m.lags = append(m.lags, lag)
		if len(m.lags) > lagWindow {
			m.lags = m.lags[len(m.lags)-lagWindow:]
		}
	}
	m.mu.Unlock()
	if outcome == "applied" || outcome == "deleted" {
		m.Metrics.applied(m.Source.Context, k.gvr.Resource, outcome, lag, ok)
	}
}

func (m *Mirror) fail(k key, err error) {
	m.mu.Lock()
	m.stats.Failed++
	delete(m.seen, k)
	m.setFailing(k, err.Error(), none)
	m.mu.Unlock()
	m.Metrics.failed(m.Source.Context, k.gvr.Resource)
	m.Log.Warn("not mirrored", "object", k.String(), "error", err)
}

// retrying records that k waits to be tried again, and why: for the
// cluster awaits to answer again, if that is the reason.
func (m *Mirror) retrying(k key, why string, awaits side) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Retries++
	m.setFailing(k, "waiting to be tried again: "+why, awaits)
}

// outOfStepGrace is how long an object stays out of step before Stats
// counts it: a change waiting a moment for its namespace is not news, a
// refusal or a webhook down for longer is.
var outOfStepGrace = 30 * time.Second

// failure is why an object is not in step, since when, and whether it
// waits for a cluster to answer again.
type failure struct {
	why    string
	since  time.Time
	awaits side
}

// setFailing records why k is not in step; since stays the first time it
// was seen so. The caller holds m.mu.
func (m *Mirror) setFailing(k key, why string, awaits side) {
	since := time.Now()
	if f, ok := m.failing[k]; ok {
		since = f.since
	}
	m.failing[k] = failure{why: why, since: since, awaits: awaits}
	m.countNotInStep()
}

// countNotInStep brings the not-in-step gauge in line with this run's
// objects not in step (none once it stopped). It adds the difference: the
// mirrors from one source (a controller's) share the series. The caller
// holds m.mu.
func (m *Mirror) countNotInStep() {
	n := len(m.failing)
	if m.stopped {
		n = 0
	}
	m.Metrics.addNotInStep(m.Source.Context, n-m.counted)
	m.counted = n
}

// NotInStep is an object of the source the target does not hold as it is,
// as far as the mirror knows: its last attempt failed, or it waits to be
// tried again.
type NotInStep struct {
	Object string    `json:"object"` // resource namespace/name
	Why    string    `json:"why"`
	Since  time.Time `json:"since"`
}

// NotInStep lists the objects the target is not in step with (see
// NotInStep), sorted.
func (m *Mirror) NotInStep() []NotInStep {
	m.mu.Lock()
	out := make([]NotInStep, 0, len(m.failing))
	for k, f := range m.failing {
		out = append(out, NotInStep{Object: k.String(), Why: f.why, Since: f.since})
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Object < out[j].Object })
	return out
}

// Stats returns the counts so far, with lag percentiles.
func (m *Mirror) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stats
	for _, f := range m.failing {
		if time.Since(f.since) >= outOfStepGrace {
			st.OutOfStep++
		}
	}
	st.Kept = m.kept.Load()
	if m.queue != nil {
		st.Queue = m.queue.Len()
	}
	if n := len(m.lags); n > 0 {
		s := append([]float64(nil), m.lags...)
		sort.Float64s(s)
		st.LagP50, st.LagP99 = s[n*50/100], s[min(n-1, n*99/100)]
	}
	return st
}
