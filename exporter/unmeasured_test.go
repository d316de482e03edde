package exporter_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/tracker"
)

// Issue 11, #9: a deletion found by a relist went into the MTTR histogram
// with a made-up 0 s.
func TestAnIncidentWhoseStartWasNotSeenIsCountedNotMeasured(t *testing.T) {
	p := newPipeline(nil)
	p.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 2, Ready: 2}, true)
	p.tr.PodChanged(pod(1, -time.Hour))
	p.tr.PodChanged(pod(2, -time.Hour))
	// The watch broke at t0+10s; the relist at t0+25s finds pod 1 gone.
	p.clock.at(25 * time.Second)
	gone := pod(1, -time.Hour)
	gone.SeenUntil = t0.Add(10 * time.Second)
	p.tr.PodGone(gone, true)
	p.tr.PodChanged(pod(4, 12*time.Second))
	p.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 2, Ready: 2}, true)

	// A fault seen live is measured as before.
	p.clock.at(time.Minute)
	p.tr.PodChanged(deleting(pod(2, -time.Hour), time.Minute))
	p.clock.at(time.Minute + 4*time.Second)
	p.tr.PodChanged(readyAt(pod(3, time.Minute), time.Minute+4*time.Second))

	p.requireExposition(t, `
# HELP steadywatch_incidents_unmeasured_total Incidents that recovered but whose time to recover is unknown, so not in steadywatch_recovery_seconds: start_not_seen (the fault happened while steadywatch was not watching; its start is an estimate), no_duration (recovered no later than it was seen to start).
# TYPE steadywatch_incidents_unmeasured_total counter
steadywatch_incidents_unmeasured_total{group="experimental",kind="pod_deleted",reason="start_not_seen",service="web"} 1
`, "steadywatch_incidents_unmeasured_total")
	count := testutilCount(t, p.reg, "steadywatch_recovery_seconds")
	require.Equal(t, uint64(1), count, "only the fault seen live is an MTTR sample")
	mfs, err := p.reg.Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestAZeroRecoveryIsNoMTTRSample(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := exporter.NewMetrics(reg)
	m.Recovered(chaos.Incident{Kind: chaos.PodDeleted, Subject: webSubject, Start: t0, End: t0})
	require.Equal(t, uint64(0), testutilCount(t, reg, "steadywatch_recovery_seconds"))
}

func testutilCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}
