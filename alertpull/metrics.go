package alertpull

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

// metrics are a Puller's metrics.
type metrics struct {
	pulls       *prometheus.CounterVec
	duration    prometheus.Histogram
	lastSuccess prometheus.Gauge
	vanished    prometheus.Counter
	rejected    *prometheus.CounterVec

	mu     sync.Mutex
	counts map[string]int // alerts by state in the last successful pull
	pulled bool           // whether a pull succeeded yet
}

var alertsDesc = contractprom.Desc(contract.AlertmanagerPullAlerts)

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		pulls:       contractprom.CounterVec(f, contract.AlertmanagerPulls),
		duration:    contractprom.Histogram(f, contract.AlertmanagerPullDuration),
		lastSuccess: contractprom.Gauge(f, contract.AlertmanagerLastSuccessfulPull),
		vanished:    contractprom.Counter(f, contract.AlertmanagerPullResolvedAlerts),
		rejected:    contractprom.CounterVec(f, contract.AlertmanagerPullRejectedAlerts),
	}
	// Both results exist from the start, so rate() sees the first error.
	m.pulls.WithLabelValues(contract.PullSuccess)
	m.pulls.WithLabelValues(contract.PullError)
	for _, reason := range contract.PullRejectedReasons {
		m.rejected.WithLabelValues(reason)
	}
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
		m.pulls.WithLabelValues(contract.PullError).Inc()
		return
	}
	m.pulls.WithLabelValues(contract.PullSuccess).Inc()
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
