package detect

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

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
		detection:  contractprom.HistogramVec(f, contract.DetectionSeconds),
		undetected: contractprom.CounterVec(f, contract.IncidentsUndetected),
		errors:     contractprom.Counter(f, contract.DetectionErrors),
	}
}

func labelValues(inc *chaos.Incident) []string {
	return []string{string(inc.Kind), inc.Subject.Service, string(inc.Subject.Group)}
}
