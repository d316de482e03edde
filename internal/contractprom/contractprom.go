// Package contractprom builds the client_golang metrics of the families
// package contract defines, so that an exporter names a family and takes
// its name, help, labels and buckets from the contract.
package contractprom

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/contract"
)

// Desc is m's descriptor, for a collector that takes snapshots at scrape
// time.
func Desc(m contract.Metric) *prometheus.Desc {
	return prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
}

// CounterOpts are m's counter options.
func CounterOpts(m contract.Metric) prometheus.CounterOpts {
	return prometheus.CounterOpts{Name: m.Name, Help: m.Help}
}

// GaugeOpts are m's gauge options.
func GaugeOpts(m contract.Metric) prometheus.GaugeOpts {
	return prometheus.GaugeOpts{Name: m.Name, Help: m.Help}
}

// HistogramOpts are m's histogram options.
func HistogramOpts(m contract.Metric) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{Name: m.Name, Help: m.Help, Buckets: m.Buckets}
}

// CounterVec registers m, a counter with labels, through f.
func CounterVec(f promauto.Factory, m contract.Metric) *prometheus.CounterVec {
	return f.NewCounterVec(CounterOpts(m), m.Labels)
}

// Counter registers m, a counter without labels, through f.
func Counter(f promauto.Factory, m contract.Metric) prometheus.Counter {
	return f.NewCounter(CounterOpts(m))
}

// Gauge registers m, a gauge without labels, through f.
func Gauge(f promauto.Factory, m contract.Metric) prometheus.Gauge {
	return f.NewGauge(GaugeOpts(m))
}

// HistogramVec registers m, a histogram with labels (or none), through f.
func HistogramVec(f promauto.Factory, m contract.Metric) *prometheus.HistogramVec {
	return f.NewHistogramVec(HistogramOpts(m), m.Labels)
}

// Histogram registers m, a histogram without labels, through f.
func Histogram(f promauto.Factory, m contract.Metric) prometheus.Histogram {
	return f.NewHistogram(HistogramOpts(m))
}
