package detect

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/chaos"
)

// Buckets are exporter.RecoveryBuckets, so that MTTD and MTTR line up in
// one heatmap; detect does not import exporter, which imports the watcher.
var Buckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}

// metrics are observed only by the caller whose SetDetection recorded the
// detection, so restarts and replicas sharing a store do not count twice.
type metrics struct {
	detection  *prometheus.HistogramVec
	undetected *prometheus.CounterVec
	errors     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		detection: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "steadywatch",
			Name:      "detection_seconds",
			Help:      "Time from fault start to the alert that detected it (MTTD samples); faults whose start was inferred are left out.",
			Buckets:   Buckets,
		}, []string{"kind", "service", "group"}),
		undetected: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "steadywatch",
			Name:      "incidents_undetected_total",
			Help:      "Failures no alert detected within the detection window; faults whose start was inferred are left out.",
		}, []string{"kind", "service", "group"}),
		errors: f.NewCounter(prometheus.CounterOpts{
			Namespace: "steadywatch",
			Name:      "detection_errors_total",
			Help:      "Sweeps and joins of alerts to incidents that failed reading or writing the store; retried on the next sweep.",
		}),
	}
}

func labelValues(inc *chaos.Incident) []string {
	return []string{string(inc.Kind), inc.Subject.Service, string(inc.Subject.Group)}
}
