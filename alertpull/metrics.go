package alertpull

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are a Puller's metrics.
type metrics struct {
	pulls       *prometheus.CounterVec
	duration    prometheus.Histogram
	lastSuccess prometheus.Gauge
	vanished    prometheus.Counter

	mu     sync.Mutex
	counts map[string]int // alerts by state in the last successful pull
	pulled bool           // whether a pull succeeded yet
}

var alertsDesc = prometheus.NewDesc(
	"steadywatch_alertmanager_pull_alerts",
	"Alerts Alertmanager listed at the last successful pull, by state (active, suppressed: silenced or inhibited, unprocessed).",
	[]string{"state"}, nil,
)

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		pulls: f.NewCounterVec(prometheus.CounterOpts{
			Name: "steadywatch_alertmanager_pulls_total",
			Help: "Pulls of alerts from Alertmanager's v2 API, by result (success, error).",
		}, []string{"result"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "steadywatch_alertmanager_pull_duration_seconds",
			Help:    "How long a pull of alerts from Alertmanager took, saving them included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 7), // 5ms to 20s
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "steadywatch_alertmanager_last_successful_pull_timestamp_seconds",
			Help: "When the last successful pull of alerts from Alertmanager ended, in seconds since the epoch.",
		}),
		vanished: f.NewCounter(prometheus.CounterOpts{
			Name: "steadywatch_alertmanager_pull_resolved_alerts_total",
			Help: "Alerts saved as resolved because Alertmanager's API no longer listed them.",
		}),
	}
	// Both results exist from the start, so rate() sees the first error.
	m.pulls.WithLabelValues("success")
	m.pulls.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

// observe records a pull that ended at ended; counts are its alerts by state, ignored if it
// failed.
func (m *metrics) observe(ended time.Time, took time.Duration, counts map[string]int, err error) {
	m.duration.Observe(took.Seconds())
	if err != nil {
		m.pulls.WithLabelValues("error").Inc()
		return
	}
	m.pulls.WithLabelValues("success").Inc()
	m.lastSuccess.Set(float64(ended.UnixNano()) / 1e9)
	m.mu.Lock()
	m.counts, m.pulled = counts, true
	m.mu.Unlock()
}

// Describe implements prometheus.Collector for the alerts by state.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) { ch <- alertsDesc }

// Collect implements prometheus.Collector: the alerts by state of the last
// successful pull, every state, none before the first.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.pulled {
		return
	}
	for _, state := range []string{StateActive, StateSuppressed, StateUnprocessed} {
		ch <- prometheus.MustNewConstMetric(alertsDesc, prometheus.GaugeValue, float64(m.counts[state]), state)
	}
}
