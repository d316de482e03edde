package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

// WatchHealthSource reports the health of the watch of each resource;
// *watcher.Health is one.
type WatchHealthSource interface {
	Snapshot() []chaos.WatchHealth
}

// WatchHealthCollector publishes, at scrape time, whether steadywatch's
// watches reach the Kubernetes API: a broken watch means missed faults.
type WatchHealthCollector struct {
	src                                   WatchHealthSource
	up, brokenSince, lastContact, relists *prometheus.Desc
}

// NewWatchHealthCollector returns a collector reading src.
func NewWatchHealthCollector(src WatchHealthSource) *WatchHealthCollector {
	return &WatchHealthCollector{
		src:         src,
		up:          contractprom.Desc(contract.WatchUp),
		brokenSince: contractprom.Desc(contract.WatchBrokenSince),
		lastContact: contractprom.Desc(contract.WatchLastContact),
		relists:     contractprom.Desc(contract.WatchRelists),
	}
}

// Describe implements prometheus.Collector.
func (c *WatchHealthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.brokenSince
	ch <- c.lastContact
	ch <- c.relists
}

// Collect implements prometheus.Collector.
func (c *WatchHealthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range c.src.Snapshot() {
		up := 0.0
		if h.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, h.Resource)
		ch <- prometheus.MustNewConstMetric(c.brokenSince, prometheus.GaugeValue, unixSeconds(h.BrokenSince), h.Resource)
		ch <- prometheus.MustNewConstMetric(c.lastContact, prometheus.GaugeValue, unixSeconds(h.LastContact), h.Resource)
		ch <- prometheus.MustNewConstMetric(c.relists, prometheus.CounterValue, float64(h.Relists), h.Resource)
	}
}

// unixSeconds is t as Unix seconds, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
