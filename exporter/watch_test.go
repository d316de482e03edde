package exporter_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/exporter"
)

type watchHealth []chaos.WatchHealth

func (w watchHealth) Snapshot() []chaos.WatchHealth { return w }

// Issue 11, #10: a watch outage left no trace in the metrics.
func TestWatchHealthIsExportedPerResource(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(exporter.NewWatchHealthCollector(watchHealth{
		{Resource: "pods", Up: false, BrokenSince: t0, LastErr: "connection refused", LastContact: t0.Add(-time.Second), Relists: 2},
		{Resource: "nodes", Up: true, LastContact: t0.Add(1500 * time.Millisecond)},
		{Resource: "deployments", Up: true},
	}))
	p := &pipeline{reg: reg}
	p.requireExposition(t, `
# HELP steadywatch_watch_up Whether the lists and watches of a resource reach the Kubernetes API (1) or fail (0): while 0, steadywatch misses what happens to it.
# TYPE steadywatch_watch_up gauge
steadywatch_watch_up{resource="deployments"} 1
steadywatch_watch_up{resource="nodes"} 1
steadywatch_watch_up{resource="pods"} 0
# HELP steadywatch_watch_broken_since_timestamp_seconds Unix time the current outage of a resource's watch began; 0 while it is up.
# TYPE steadywatch_watch_broken_since_timestamp_seconds gauge
steadywatch_watch_broken_since_timestamp_seconds{resource="deployments"} 0
steadywatch_watch_broken_since_timestamp_seconds{resource="nodes"} 0
steadywatch_watch_broken_since_timestamp_seconds{resource="pods"} 1.7408304e+09
# HELP steadywatch_watch_last_contact_timestamp_seconds Unix time the Kubernetes API last answered a list or watch of a resource or sent an event or bookmark on it; 0 before the first.
# TYPE steadywatch_watch_last_contact_timestamp_seconds gauge
steadywatch_watch_last_contact_timestamp_seconds{resource="deployments"} 0
steadywatch_watch_last_contact_timestamp_seconds{resource="nodes"} 1.7408304015e+09
steadywatch_watch_last_contact_timestamp_seconds{resource="pods"} 1.740830399e+09
# HELP steadywatch_watch_relists_total Lists of a resource after the first: each follows a broken or expired watch, and whatever vanished meanwhile is a missed event.
# TYPE steadywatch_watch_relists_total counter
steadywatch_watch_relists_total{resource="deployments"} 0
steadywatch_watch_relists_total{resource="nodes"} 0
steadywatch_watch_relists_total{resource="pods"} 2
`)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}
