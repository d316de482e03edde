// Package exporter publishes what steadywatch observes as Prometheus
// metrics, the families package contract names.
package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

// Metrics are the watcher's event metrics. It implements tracker.Recorder.
type Metrics struct {
	events      *prometheus.CounterVec
	missed      *prometheus.CounterVec
	recovery    *prometheus.HistogramVec
	between     *prometheus.HistogramVec
	watchErrors *prometheus.CounterVec
	unmeasured  *prometheus.CounterVec
}

// NewMetrics registers the event metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		events:      contractprom.CounterVec(f, contract.ChaosEvents),
		missed:      contractprom.CounterVec(f, contract.ChaosEventsMissed),
		recovery:    contractprom.HistogramVec(f, contract.RecoverySeconds),
		between:     contractprom.HistogramVec(f, contract.TimeBetweenFailuresSeconds),
		watchErrors: contractprom.CounterVec(f, contract.WatchErrors),
		unmeasured:  contractprom.CounterVec(f, contract.IncidentsUnmeasured),
	}
}

// Event implements tracker.Recorder.
func (m *Metrics) Event(e chaos.Event) {
	m.events.WithLabelValues(string(e.Kind), e.Subject.Namespace, e.Subject.Service, string(e.Subject.Group)).Inc()
	if e.Missed {
		m.missed.WithLabelValues(string(e.Kind)).Inc()
	}
}

// Recovered implements tracker.Recorder.
// An incident whose start was not seen (Missed) or that took no time has
// no measured time to recover: a made-up sample would pull MTTR down
// (issue 11, #9: deletions found by a relist recovered in "0 s"). It is
// counted in steadywatch_incidents_unmeasured_total instead.
func (m *Metrics) Recovered(inc chaos.Incident) {
	reason := ""
	switch {
	case inc.Missed:
		reason = contract.UnmeasuredStartNotSeen
	case inc.TimeToRecover() <= 0:
		reason = contract.UnmeasuredNoDuration
	}
	if reason != "" {
		m.unmeasured.WithLabelValues(string(inc.Kind), inc.Subject.Service, string(inc.Subject.Group), reason).Inc()
		return
	}
	m.recovery.WithLabelValues(string(inc.Kind), inc.Subject.Service, string(inc.Subject.Group)).
		Observe(inc.TimeToRecover().Seconds())
}

// TimeBetweenFailures implements tracker.Recorder.
func (m *Metrics) TimeBetweenFailures(s chaos.Subject, d time.Duration) {
	m.between.WithLabelValues(s.Service, string(s.Group)).Observe(d.Seconds())
}

// WatchError counts a failed list or watch.
func (m *Metrics) WatchError(resource string, _ error) {
	m.watchErrors.WithLabelValues(resource).Inc()
}
