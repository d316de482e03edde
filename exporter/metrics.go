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
		unmeasured: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "incidents_unmeasured_total",
			Help: "Incidents that recovered but whose time to recover is unknown, so not in steadywatch_recovery_seconds: " +
				UnmeasuredStartNotSeen + " (the fault happened while steadywatch was not watching; its start is an estimate), " +
				UnmeasuredNoDuration + " (recovered no later than it was seen to start).",
		}, []string{"kind", "service", "group", "reason"}),
	}
}

// Why an incident's recovery is not an MTTR sample
// (steadywatch_incidents_unmeasured_total's reason).
const (
	UnmeasuredStartNotSeen = "start_not_seen"
	UnmeasuredNoDuration   = "no_duration"
)

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
		reason = UnmeasuredStartNotSeen
	case inc.TimeToRecover() <= 0:
		reason = UnmeasuredNoDuration
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
