package exporter

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

// ExperimentMetrics count what serve records of the chaos tools'
// experiments.
type ExperimentMetrics struct {
	recorded   *prometheus.CounterVec
	saveErrors prometheus.Counter
}

// NewExperimentMetrics registers the metrics on reg, each tool's count at
// 0 so that a dashboard sees the series before the first experiment.
func NewExperimentMetrics(reg prometheus.Registerer) *ExperimentMetrics {
	f := promauto.With(reg)
	m := &ExperimentMetrics{
		recorded:   contractprom.CounterVec(f, contract.ExperimentsRecorded),
		saveErrors: contractprom.Counter(f, contract.ExperimentSaveErrors),
	}
	for _, tool := range []experiment.Tool{experiment.Litmus, experiment.ChaosMesh} {
		m.recorded.WithLabelValues(string(tool))
	}
	return m
}

// Recorded counts a reading of one of tool's experiments saved. A tool
// other than the known ones (which the store refuses anyway) is not
// counted, keeping the label bounded.
func (m *ExperimentMetrics) Recorded(tool experiment.Tool) {
	if tool != experiment.Litmus && tool != experiment.ChaosMesh {
		return
	}
	m.recorded.WithLabelValues(string(tool)).Inc()
}

// SaveError counts a failed save.
func (m *ExperimentMetrics) SaveError() { m.saveErrors.Inc() }

// ExperimentResourcesSource tells which of the chaos tools' resources are
// watched; *experiment.Watcher is one.
type ExperimentResourcesSource interface {
	Watching() []experiment.Resource
}

// ExperimentResourcesCollector publishes, at scrape time, each resource of
// experiment.Resources as watched (1) or not (0), so that a user sees
// whether the chaos tools' CRDs were found.
type ExperimentResourcesCollector struct {
	src     ExperimentResourcesSource
	watched *prometheus.Desc
}

// NewExperimentResourcesCollector returns a collector reading src.
func NewExperimentResourcesCollector(src ExperimentResourcesSource) *ExperimentResourcesCollector {
	return &ExperimentResourcesCollector{src: src, watched: contractprom.Desc(contract.ExperimentResourcesWatched)}
}

// Describe implements prometheus.Collector.
func (c *ExperimentResourcesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.watched }

// Collect implements prometheus.Collector.
func (c *ExperimentResourcesCollector) Collect(ch chan<- prometheus.Metric) {
	watching := map[experiment.Resource]bool{}
	for _, r := range c.src.Watching() {
		watching[r] = true
	}
	for _, r := range experiment.Resources {
		v := 0.0
		if watching[r] {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.watched, prometheus.GaugeValue, v, r.Resource+"."+r.Group)
	}
}
