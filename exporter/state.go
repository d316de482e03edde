package exporter

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
	"github.com/steadywatch/steadywatch/tracker"
)

// StateSource is what the state collector reads at scrape time.
type StateSource interface {
	OpenIncidents() []chaos.Incident
	Workloads() []tracker.WorkloadStatus
	LastEvent() time.Time
}

// SyncSource reports the informers' sync state.
type SyncSource interface {
	ResourcesSynced() map[string]bool
}

// StateCollector publishes state that changes as a whole (open incidents,
// workload availability, watcher health) from a snapshot taken at scrape
// time, so no series is ever left behind by missed bookkeeping.
type StateCollector struct {
	state StateSource
	sync  SyncSource

	open, readyRatio, synced, lastEvent *prometheus.Desc
}

// NewStateCollector returns a collector reading state and sync.
func NewStateCollector(state StateSource, sync SyncSource) *StateCollector {
	return &StateCollector{
		state:      state,
		sync:       sync,
		open:       contractprom.Desc(contract.IncidentsOpen),
		readyRatio: contractprom.Desc(contract.WorkloadReadyRatio),
		synced:     contractprom.Desc(contract.InformerSynced),
		lastEvent:  contractprom.Desc(contract.LastEventTimestamp),
	}
}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.readyRatio
	ch <- c.synced
	ch <- c.lastEvent
}

type openKey struct {
	kind    chaos.Kind
	service string
	group   chaos.Group
}

// Collect implements prometheus.Collector.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[openKey]int{}
	for _, inc := range c.state.OpenIncidents() {
		counts[openKey{inc.Kind, inc.Subject.Service, inc.Subject.Group}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(n), string(k.kind), k.service, string(k.group))
	}
	for _, w := range c.state.Workloads() {
		ratio := 1.0
		if w.Desired > 0 {
			ratio = float64(w.Ready) / float64(w.Desired)
		}
		ch <- prometheus.MustNewConstMetric(c.readyRatio, prometheus.GaugeValue, ratio,
			w.Ref.Namespace, strings.ToLower(w.Ref.Kind)+"/"+w.Ref.Name, w.Subject.Service, string(w.Subject.Group))
	}
	if c.sync != nil {
		for resource, ok := range c.sync.ResourcesSynced() {
			v := 0.0
			if ok {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.synced, prometheus.GaugeValue, v, resource)
		}
	}
	last := 0.0
	if t := c.state.LastEvent(); !t.IsZero() {
		last = float64(t.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(c.lastEvent, prometheus.GaugeValue, last)
}
