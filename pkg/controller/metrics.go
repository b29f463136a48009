package controller

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-io/tandem/pkg/mirror"
	"github.com/tandem-io/tandem/pkg/switchover"
)

// metrics are the controller's own series, served with controller-runtime's
// on --metrics-addr: the pairs' state, the switchovers' outcomes and phase
// durations, and every mirror's (pkg/mirror's series).
type metrics struct {
	reachable  *prometheus.GaugeVec
	active     *prometheus.GaugeVec
	epoch      *prometheus.GaugeVec
	switchover *prometheus.CounterVec
	phase      *prometheus.HistogramVec
	mirror     *mirror.Metrics
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reachable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tandem_clusterpair_reachable", Help: "1 when the cluster of the pair answers, else 0.",
		}, []string{"namespace", "pair", "cluster"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tandem_clusterpair_active", Help: "1 for the cluster the records make active, else 0.",
		}, []string{"namespace", "pair", "cluster"}),
		epoch: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tandem_clusterpair_epoch", Help: "The authoritative epoch of the pair's records.",
		}, []string{"namespace", "pair"}),
		switchover: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_switchovers_total", Help: "Switchovers ended, by their final phase (Succeeded, Failed, RolledBack).",
		}, []string{"namespace", "pair", "phase"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tandem_switchover_phase_seconds", Help: "How long each phase of a switchover took, by phase and result (ok, failed, skipped).",
			Buckets: []float64{.1, .5, 1, 5, 15, 30, 60, 120, 300, 600, 1800},
		}, []string{"phase", "result"}),
	}
	reg.MustRegister(m.reachable, m.active, m.epoch, m.switchover, m.phase)
	m.mirror = mirror.NewMetricsOn(reg)
	return m
}

// pair records what a ClusterPair's status says.
func (m *metrics) pair(ns, name string, clusters map[string]bool, active string, epoch int64) {
	for c, up := range clusters {
		m.reachable.WithLabelValues(ns, name, c).Set(boolGauge(up))
		m.active.WithLabelValues(ns, name, c).Set(boolGauge(c == active))
	}
	m.epoch.WithLabelValues(ns, name).Set(float64(epoch))
}

// ended records a finished switchover and how long its phases took.
func (m *metrics) ended(ns, pair, phase string, rep *switchover.Report) {
	m.switchover.WithLabelValues(ns, pair, phase).Inc()
	if rep == nil {
		return
	}
	for _, p := range rep.All() {
		if p.Started.IsZero() {
			continue
		}
		result := "ok"
		switch {
		case p.Err != "":
			result = "failed"
		case p.Skipped != "":
			result = "skipped"
		}
		m.phase.WithLabelValues(p.Phase, result).Observe(p.Took.Seconds())
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
