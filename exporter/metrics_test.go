package exporter_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/internal/testclock"
	"github.com/steadywatch/steadywatch/tracker"
)

var (
	t0         = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	web        = chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}
	webSubject = chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}
)

// clock is the pipeline's time, set relative to t0.
type clock struct{ *testclock.Clock }

func (c clock) at(d time.Duration) { c.Set(t0.Add(d)) }

type syncState map[string]bool

func (s syncState) ResourcesSynced() map[string]bool { return s }

func pod(i int, created time.Duration) tracker.Pod {
	return tracker.Pod{
		UID:      "uid-" + strconv.Itoa(i),
		Ref:      chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "web-" + strconv.Itoa(i)},
		Subject:  webSubject,
		Workload: web,
		Node:     "node-1",
		Created:  t0.Add(created),
		Ready:    true,
		ReadyAt:  chaos.Timestamp{Cluster: t0.Add(created)},
	}
}

func deleting(p tracker.Pod, d time.Duration) tracker.Pod {
	p.Deleting = chaos.Timestamp{Cluster: t0.Add(d), Observed: t0.Add(d)}
	return p
}

func readyAt(p tracker.Pod, d time.Duration) tracker.Pod {
	p.ReadyAt = chaos.Timestamp{Cluster: t0.Add(d).Truncate(time.Second), Observed: t0.Add(d)}
	return p
}

type pipeline struct {
	reg   *prometheus.Registry
	clock clock
	tr    *tracker.Tracker
	m     *exporter.Metrics
}

func newPipeline(sync exporter.SyncSource) *pipeline {
	p := &pipeline{reg: prometheus.NewRegistry(), clock: clock{testclock.New(t0)}}
	p.m = exporter.NewMetrics(p.reg)
	p.tr = tracker.New(tracker.Options{Recorder: p.m, Now: p.clock.Now})
	p.reg.MustRegister(exporter.NewStateCollector(p.tr, sync))
	return p
}

func (p *pipeline) requireExposition(t *testing.T, want string, names ...string) {
	t.Helper()
	require.NoError(t, testutil.GatherAndCompare(p.reg, strings.NewReader(want), names...))
}

const (
	eventsHelp = `
# HELP steadywatch_chaos_events_total Chaos events observed in the cluster, whoever caused them.
# TYPE steadywatch_chaos_events_total counter
`
	openHelp = `
# HELP steadywatch_incidents_open Incidents that have not recovered yet.
# TYPE steadywatch_incidents_open gauge
`
	ratioHelp = `
# HELP steadywatch_workload_ready_ratio Ready replicas over desired replicas of each Deployment, StatefulSet and DaemonSet (1 when none are desired); workload is kind/name, e.g. deployment/web.
# TYPE steadywatch_workload_ready_ratio gauge
`
	lastEventHelp = `
# HELP steadywatch_last_event_timestamp_seconds Unix time of the latest chaos event observed; 0 before the first.
# TYPE steadywatch_last_event_timestamp_seconds gauge
`
)

func TestMetricsFollowAPodDeletionFromFaultToRecovery(t *testing.T) {
	p := newPipeline(syncState{"pods": true, "nodes": false})

	p.requireExposition(t, lastEventHelp+`steadywatch_last_event_timestamp_seconds 0
`, "steadywatch_last_event_timestamp_seconds", "steadywatch_chaos_events_total", "steadywatch_recovery_seconds", "steadywatch_incidents_open")

	p.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
	for i := 1; i <= 3; i++ {
		p.tr.PodChanged(pod(i, -time.Hour))
	}

	// A pod is deleted; the Deployment controller reports the loss, which
	// the open incident already explains: no second event.
	p.clock.at(10 * time.Second)
	p.tr.PodChanged(deleting(pod(1, -time.Hour), 10*time.Second))
	p.clock.at(10*time.Second + 50*time.Millisecond)
	p.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 2}, true)

	p.requireExposition(t, eventsHelp+`
steadywatch_chaos_events_total{group="experimental",kind="pod_deleted",namespace="shop",service="web"} 1
`+openHelp+`
steadywatch_incidents_open{group="experimental",kind="pod_deleted",service="web"} 1
`+ratioHelp+`
steadywatch_workload_ready_ratio{group="experimental",namespace="shop",service="web",workload="deployment/web"} 0.6666666666666666
`+lastEventHelp+`
steadywatch_last_event_timestamp_seconds 1.74083041e+09
`, "steadywatch_chaos_events_total", "steadywatch_incidents_open", "steadywatch_workload_ready_ratio",
		"steadywatch_last_event_timestamp_seconds", "steadywatch_recovery_seconds", "steadywatch_time_between_failures_seconds")

	// The replacement is ready 3.5s after the deletion: the first MTTR sample.
	p.clock.at(13*time.Second + 500*time.Millisecond)
	p.tr.PodChanged(readyAt(pod(4, 11*time.Second), 13*time.Second+500*time.Millisecond))
	p.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)

	// A minute after the first, a second deletion recovers in 200ms.
	p.clock.at(70 * time.Second)
	p.tr.PodChanged(deleting(pod(2, -time.Hour), 70*time.Second))
	p.clock.at(70*time.Second + 200*time.Millisecond)
	p.tr.PodChanged(readyAt(pod(5, 70*time.Second), 70*time.Second+200*time.Millisecond))

	// A node found down since before the watch started: a missed event.
	p.clock.at(80 * time.Second)
	p.tr.NodeChanged(tracker.Node{
		Name: "node-9", Subject: chaos.Subject{Group: chaos.NoGroup}, Ready: false,
		Since: chaos.Timestamp{Cluster: t0.Add(-time.Hour), Observed: t0.Add(80 * time.Second)}, Reason: "NodeStatusUnknown",
	})

	p.requireExposition(t, eventsHelp+`
steadywatch_chaos_events_total{group="experimental",kind="pod_deleted",namespace="shop",service="web"} 2
steadywatch_chaos_events_total{group="none",kind="node_not_ready",namespace="",service=""} 1
# HELP steadywatch_chaos_events_missed_total Chaos events inferred from a relist or at start rather than seen as they happened; also counted in steadywatch_chaos_events_total.
# TYPE steadywatch_chaos_events_missed_total counter
steadywatch_chaos_events_missed_total{kind="node_not_ready"} 1
# HELP steadywatch_recovery_seconds Time from fault start to recovery of each incident (MTTR samples).
# TYPE steadywatch_recovery_seconds histogram
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.05"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.1"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.25"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.5"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="1"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="2.5"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="5"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="10"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="30"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="60"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="120"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="300"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="600"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="1800"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="3600"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="7200"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="21600"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="86400"} 2
steadywatch_recovery_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="+Inf"} 2
steadywatch_recovery_seconds_sum{group="experimental",kind="pod_deleted",service="web"} 3.7
steadywatch_recovery_seconds_count{group="experimental",kind="pod_deleted",service="web"} 2
# HELP steadywatch_time_between_failures_seconds Time between the starts of consecutive failures of one service and group (MTBF samples).
# TYPE steadywatch_time_between_failures_seconds histogram
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="1"} 0
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="10"} 0
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="60"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="300"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="900"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="1800"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="3600"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="7200"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="14400"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="43200"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="86400"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="172800"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="604800"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="2592000"} 1
steadywatch_time_between_failures_seconds_bucket{group="experimental",service="web",le="+Inf"} 1
steadywatch_time_between_failures_seconds_sum{group="experimental",service="web"} 60
steadywatch_time_between_failures_seconds_count{group="experimental",service="web"} 1
`+openHelp+`
steadywatch_incidents_open{group="none",kind="node_not_ready",service=""} 1
`+ratioHelp+`
steadywatch_workload_ready_ratio{group="experimental",namespace="shop",service="web",workload="deployment/web"} 1
# HELP steadywatch_informer_synced Whether the informers of a watched resource have synced (1) or not (0).
# TYPE steadywatch_informer_synced gauge
steadywatch_informer_synced{resource="nodes"} 0
steadywatch_informer_synced{resource="pods"} 1
`+lastEventHelp+`
steadywatch_last_event_timestamp_seconds 1.74083048e+09
`, "steadywatch_chaos_events_total", "steadywatch_chaos_events_missed_total", "steadywatch_recovery_seconds",
		"steadywatch_time_between_failures_seconds", "steadywatch_incidents_open", "steadywatch_workload_ready_ratio",
		"steadywatch_informer_synced", "steadywatch_last_event_timestamp_seconds")

	p.m.WatchError("pods", errors.New("connection refused"))
	mfs, err := p.reg.Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestHPAScalingIsARecoveryButNoFailure(t *testing.T) {
	p := newPipeline(nil)
	ref := chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}
	hpa := func(desired int32, d time.Duration) tracker.HPA {
		return tracker.HPA{Ref: ref, Subject: webSubject, Desired: desired, ScaledAt: chaos.Timestamp{Cluster: t0.Add(d), Observed: t0.Add(d)}}
	}
	p.tr.HPAChanged(hpa(3, -time.Hour))
	p.clock.at(10 * time.Second)
	p.tr.HPAChanged(hpa(6, 10*time.Second))
	p.clock.at(130 * time.Second)
	p.tr.HPAChanged(hpa(3, 130*time.Second))

	// No MTBF sample, no open incident and, without a sync source, no
	// informer_synced series: the absent families must stay absent.
	p.requireExposition(t, eventsHelp+`
steadywatch_chaos_events_total{group="experimental",kind="hpa_scaled_down",namespace="shop",service="web"} 1
steadywatch_chaos_events_total{group="experimental",kind="hpa_scaled_up",namespace="shop",service="web"} 1
# HELP steadywatch_recovery_seconds Time from fault start to recovery of each incident (MTTR samples).
# TYPE steadywatch_recovery_seconds histogram
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="0.05"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="0.1"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="0.25"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="0.5"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="1"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="2.5"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="5"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="10"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="30"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="60"} 0
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="120"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="300"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="600"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="1800"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="3600"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="7200"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="21600"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="86400"} 1
steadywatch_recovery_seconds_bucket{group="experimental",kind="hpa_scaled_up",service="web",le="+Inf"} 1
steadywatch_recovery_seconds_sum{group="experimental",kind="hpa_scaled_up",service="web"} 120
steadywatch_recovery_seconds_count{group="experimental",kind="hpa_scaled_up",service="web"} 1
`, "steadywatch_chaos_events_total", "steadywatch_recovery_seconds", "steadywatch_time_between_failures_seconds",
		"steadywatch_incidents_open", "steadywatch_informer_synced")
}

func TestTheReadyRatioOfAWorkloadScaledToZeroIsOne(t *testing.T) {
	p := newPipeline(nil)
	p.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 0, Ready: 0}, true)
	p.requireExposition(t, ratioHelp+`
steadywatch_workload_ready_ratio{group="experimental",namespace="shop",service="web",workload="deployment/web"} 1
`, "steadywatch_workload_ready_ratio")
}

func TestWatchErrorsAreCountedByResource(t *testing.T) {
	p := newPipeline(nil)
	p.m.WatchError("pods", errors.New("connection refused"))
	p.m.WatchError("pods", errors.New("connection refused"))
	p.m.WatchError("nodes", errors.New("forbidden"))
	p.requireExposition(t, `
# HELP steadywatch_watch_errors_total Failed lists or watches of the Kubernetes API, by resource.
# TYPE steadywatch_watch_errors_total counter
steadywatch_watch_errors_total{resource="nodes"} 1
steadywatch_watch_errors_total{resource="pods"} 2
`, "steadywatch_watch_errors_total")
}
