package mirror

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/inventory"
)

// Metrics are the mirror's Prometheus metrics, on a registry of their own.
// Every series carries the source cluster's context as "cluster".
type Metrics struct {
	Registry *prometheus.Registry
	events   *prometheus.CounterVec
	appliedC *prometheus.CounterVec
	failedC  *prometheus.CounterVec
	reads    *prometheus.CounterVec
	lag      *prometheus.HistogramVec
	behind   *prometheus.GaugeVec
}

// NewMetrics registers the mirror's metrics (and the Go runtime's).
func NewMetrics() *Metrics {
	m := newMetrics()
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(m.events, m.appliedC, m.failedC, m.reads, m.lag, m.behind, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// NewMetricsOn registers the mirror's metrics (only those) on reg, which
// serves them (a controller's registry, shared by all its mirrors).
func NewMetricsOn(reg prometheus.Registerer) *Metrics {
	m := newMetrics()
	reg.MustRegister(m.events, m.appliedC, m.failedC, m.reads, m.lag, m.behind)
	return m
}

func newMetrics() *Metrics {
	return &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_mirror_events_total", Help: "Watch events seen in the source, by resource and type (add, update, delete).",
		}, []string{"cluster", "resource", "type"}),
		appliedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_mirror_applied_total", Help: "Changes written to the target, by resource and outcome (applied, deleted).",
		}, []string{"cluster", "resource", "outcome"}),
		failedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_mirror_failed_total", Help: "Changes that could not be written to the target (after retries), by resource.",
		}, []string{"cluster", "resource"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_mirror_source_reads_total", Help: "Changes whose object was read from the source, not taken as their watch event brought it (a relist, a burst, more events on the way), by resource.",
		}, []string{"cluster", "resource"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tandem_mirror_lag_seconds",
			Help:    "From the moment the mirror saw a change in the source to the change written in the target.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"cluster"}),
		behind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tandem_mirror_not_in_step",
			Help: "Objects of the source the target is not in step with now: their last write failed or waits to be tried again (alert on it staying above 0 for a while).",
		}, []string{"cluster"}),
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// The recorders accept a nil *Metrics (no metrics asked for).

// start makes every series of the watched resources, at 0: an alert on a
// rate sees the mirror from its first scrape, not from its first change.
func (m *Metrics) start(cluster string, watched map[schema.GroupVersionResource]inventory.Resource) {
	if m == nil {
		return
	}
	for gvr := range watched {
		m.watch(cluster, gvr)
	}
	m.lag.WithLabelValues(cluster)
	m.behind.WithLabelValues(cluster)
}

// watch makes the series of a watched resource, at 0 until something happens.
func (m *Metrics) watch(cluster string, gvr schema.GroupVersionResource) {
	if m == nil {
		return
	}
	for _, typ := range []string{"add", "update", "delete"} {
		m.events.WithLabelValues(cluster, gvr.Resource, typ)
	}
	for _, outcome := range []string{"applied", "deleted"} {
		m.appliedC.WithLabelValues(cluster, gvr.Resource, outcome)
	}
	m.failedC.WithLabelValues(cluster, gvr.Resource)
	m.reads.WithLabelValues(cluster, gvr.Resource)
}

func (m *Metrics) event(cluster, resource, typ string) {
	if m != nil {
		m.events.WithLabelValues(cluster, resource, typ).Inc()
	}
}

func (m *Metrics) applied(cluster, resource, outcome string, lag float64, timed bool) {
	if m == nil {
		return
	}
	m.appliedC.WithLabelValues(cluster, resource, outcome).Inc()
	if timed {
		m.lag.WithLabelValues(cluster).Observe(lag)
	}
}

func (m *Metrics) failed(cluster, resource string) {
	if m != nil {
		m.failedC.WithLabelValues(cluster, resource).Inc()
	}
}

func (m *Metrics) sourceRead(cluster, resource string) {
	if m != nil {
		m.reads.WithLabelValues(cluster, resource).Inc()
	}
}

func (m *Metrics) addNotInStep(cluster string, delta int) {
	if m != nil && delta != 0 {
		m.behind.WithLabelValues(cluster).Add(float64(delta))
	}
}
