// Package exporter publishes what steadywatch observes as Prometheus
// metrics. The metric names and labels here are the contract that the
// generated dashboards and rules rely on.
package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/chaos"
)

const namespace = "steadywatch"

// RecoveryBuckets span pod restarts (sub-second on a fast cluster) to
// day-long outages.
var RecoveryBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}

// BetweenFailuresBuckets span back-to-back experiments to a month.
var BetweenFailuresBuckets = []float64{1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 172800, 604800, 2592000}

// Metrics are the watcher's event metrics. It implements incident.Recorder.
type Metrics struct {
	events      *prometheus.CounterVec
	missed      *prometheus.CounterVec
	recovery    *prometheus.HistogramVec
	between     *prometheus.HistogramVec
	watchErrors *prometheus.CounterVec
}

// NewMetrics registers the event metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		events: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "chaos_events_total",
			Help:      "Chaos events observed in the cluster, whoever caused them.",
		}, []string{"kind", "namespace", "service", "group"}),
		missed: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "chaos_events_missed_total",
			Help:      "Chaos events inferred from a relist or at start rather than seen as they happened; also counted in steadywatch_chaos_events_total.",
		}, []string{"kind"}),
		recovery: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "recovery_seconds",
			Help:      "Time from fault start to recovery of each incident (MTTR samples).",
			Buckets:   RecoveryBuckets,
		}, []string{"kind", "service", "group"}),
		between: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "time_between_failures_seconds",
			Help:      "Time between the starts of consecutive failures of one service and group (MTBF samples).",
			Buckets:   BetweenFailuresBuckets,
		}, []string{"service", "group"}),
		watchErrors: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "watch_errors_total",
			Help:      "Failed lists or watches of the Kubernetes API, by resource.",
		}, []string{"resource"}),
	}
}

// Event implements incident.Recorder.
func (m *Metrics) Event(e chaos.Event) {
	m.events.WithLabelValues(string(e.Kind), e.Subject.Namespace, e.Subject.Service, string(e.Subject.Group)).Inc()
	if e.Missed {
		m.missed.WithLabelValues(string(e.Kind)).Inc()
	}
}

// Recovered implements incident.Recorder.
func (m *Metrics) Recovered(inc chaos.Incident) {
	m.recovery.WithLabelValues(string(inc.Kind), inc.Subject.Service, string(inc.Subject.Group)).
		Observe(inc.TimeToRecover().Seconds())
}

// TimeBetweenFailures implements incident.Recorder.
func (m *Metrics) TimeBetweenFailures(s chaos.Subject, d time.Duration) {
	m.between.WithLabelValues(s.Service, string(s.Group)).Observe(d.Seconds())
}

// WatchError counts a failed list or watch.
func (m *Metrics) WatchError(resource string, _ error) {
	m.watchErrors.WithLabelValues(resource).Inc()
}
