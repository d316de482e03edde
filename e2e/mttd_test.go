package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/tracker"
)

// The alerting pipeline's settings, which bound the MTTD the test expects.
const (
	scrapeInterval = time.Second
	evalInterval   = time.Second
	ruleFor        = 2 * time.Second
	groupWait      = 2 * time.Second
	// slack covers what the settings do not: Prometheus' and Alertmanager's
	// dispatch, steadywatch's own lag, a loaded CI machine.
	slack = 2 * time.Second
)

const experimentalDownRule = `groups:
  - name: steadywatch-e2e
    rules:
      - alert: ExperimentalReplicasDown
        expr: steadywatch_workload_ready_ratio{group="experimental"} < 1
        for: 2s
        labels:
          severity: page
        annotations:
          summary: '{{ $labels.workload }} has {{ $value }} of its replicas ready'
`

func setUnschedulable(t *testing.T, c kubernetes.Interface, node string, unschedulable bool) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, unschedulable)
	_, err := c.CoreV1().Nodes().Patch(t.Context(), node, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
}

// TestAPodDeletionIsDetectedByARealAlertAndItsMTTDMatchesTheAlertingPipeline
// runs the whole chain: the watcher records the fault, Prometheus scrapes
// steadywatch and its rule fires on the ready ratio, Alertmanager groups
// the alert and posts it to steadywatch's webhook, the detector joins it to
// the incident.
func TestAPodDeletionIsDetectedByARealAlertAndItsMTTDMatchesTheAlertingPipeline(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "mttd"
	namespace(t, ns)
	nodes := []string{"mttd-1", "mttd-2"}
	for _, n := range nodes {
		node(t, n, map[string]string{"pool": ns})
	}
	createDeployment(t, c, scale.Deployment(ns, "web-experimental", "web", "experimental", ns, 3))
	createDeployment(t, c, scale.Deployment(ns, "web-control", "web", "control", ns, 3))

	sw := startSteadywatch(t, ns, t.TempDir(), func(cfg *config.Config) {
		// Final as soon as Alertmanager could have delivered an earlier alert.
		cfg.Alerts.Detection.Grace = model.Duration(groupWait + slack)
	})
	swAddr := strings.TrimPrefix(sw.url, "http://")
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{Config: fmt.Sprintf(`route:
  receiver: steadywatch
  group_by: [alertname, namespace, service]
  group_wait: %s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: steadywatch
    webhook_configs:
      - url: http://%s%s
        send_resolved: true
`, model.Duration(groupWait), swAddr, receiver.Path)})
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{
		Config: fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
  - job_name: steadywatch
    static_configs:
      - targets: [%q]
`, model.Duration(scrapeInterval), model.Duration(evalInterval), swAddr),
		Rules:         map[string]string{"e2e.yml": experimentalDownRule},
		Alertmanagers: []string{am.Addr},
	})

	// Prometheus must be scraping steadywatch, and see the workload whole,
	// before the fault.
	waitFor(t, 60*time.Second, "Prometheus scraping the ready ratio", func() (bool, error) {
		v, _, _, err := prom.API().Query(t.Context(), `steadywatch_workload_ready_ratio{namespace="mttd",workload="deployment/web-experimental"}`, time.Now())
		if err != nil {
			return false, err
		}
		vec, ok := v.(model.Vector)
		return ok && len(vec) == 1 && vec[0].Value == 1, nil
	})

	// The fault: one experimental pod deleted while its replacement cannot
	// be scheduled, so the workload stays degraded long enough to alert on.
	for _, n := range nodes {
		setUnschedulable(t, c, n, true)
	}
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web-experimental"})
	require.NoError(t, err)
	asked := time.Now()
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), pods.Items[0].Name, metav1.DeleteOptions{}))
	answered := time.Now()

	web := func() chaos.Incident {
		list, err := sw.Store.List(t.Context(), tracker.Filter{Service: "web"})
		require.NoError(t, err)
		require.Len(t, list, 1, "one incident for service web: %v", list)
		return list[0]
	}
	waitFor(t, 60*time.Second, "the incident detected", func() (bool, error) {
		list, err := sw.Store.List(t.Context(), tracker.Filter{Service: "web"})
		return len(list) > 0 && list[0].Detection.Decided(), err
	})
	inc := web()
	require.Equal(t, chaos.PodDeleted, inc.Kind)
	require.Equal(t, chaos.Experimental, inc.Subject.Group)
	require.True(t, inc.Open(), "detected while the replacement is still pending")
	require.False(t, inc.Detection.Undetected)
	require.Equal(t, "ExperimentalReplicasDown", inc.Detection.Alert)
	mttd, ok := inc.TimeToDetect()
	require.True(t, ok)

	// MTTD to the alert's start: the rule's "for", after the scrape and the
	// evaluation that first saw the ratio drop.
	t.Logf("MTTD %v (for %v, scrape %v, evaluation %v)", mttd, ruleFor, scrapeInterval, evalInterval)
	require.GreaterOrEqual(t, mttd, ruleFor, "an alert cannot start before its rule's for has passed")
	require.LessOrEqual(t, mttd, ruleFor+scrapeInterval+evalInterval+slack)

	// Its receipt, Alertmanager's group_wait later.
	alerts, err := sw.DB.Alerts(t.Context(), alert.Filter{Labels: map[string]string{"alertname": "ExperimentalReplicasDown"}})
	require.NoError(t, err)
	require.NotEmpty(t, alerts)
	var first alert.Alert
	for _, a := range alerts {
		if a.Fingerprint == inc.Detection.Fingerprint {
			first = a
		}
	}
	require.Equal(t, inc.Detection.At, first.StartsAt, "measured to startsAt, as configured")
	delivery := first.ReceivedAt.Sub(first.StartsAt)
	// The truth: the alert's start minus the DELETE, by the test's stopwatch.
	truth := first.StartsAt.Sub(asked)
	require.InDelta(t, truth.Seconds(), mttd.Seconds(), (answered.Sub(asked) + 100*time.Millisecond).Seconds(),
		"MTTD against the test's stopwatch")
	t.Logf("MTTD error (steadywatch − stopwatch) %+dms (DELETE call %s)", (mttd - truth).Milliseconds(), answered.Sub(asked).Round(time.Millisecond))
	t.Logf("delivered %v after the alert started (group_wait %v)", delivery, groupWait)
	require.GreaterOrEqual(t, delivery, groupWait-evalInterval/2, "Alertmanager holds a new group for group_wait")
	require.LessOrEqual(t, delivery, groupWait+evalInterval+slack)
	require.Equal(t, map[string]string{
		"alertname": "ExperimentalReplicasDown", "severity": "page", "job": "steadywatch", "instance": swAddr,
		"namespace": ns, "workload": "deployment/web-experimental", "service": "web", "group": "experimental",
	}, first.Labels)

	// The metrics: one MTTD sample for the experimental group, and the
	// webhook's alerts counted.
	mfs := scrape(t, sw.url)
	labels := map[string]string{"kind": "pod_deleted", "service": "web", "group": "experimental"}
	require.Equal(t, uint64(1), series(mfs, "steadywatch_detection_seconds", labels).GetHistogram().GetSampleCount())
	requireValue(t, mttd.Seconds(), series(mfs, "steadywatch_detection_seconds", labels).GetHistogram().GetSampleSum())
	require.Positive(t, sum(mfs, "steadywatch_alerts_received_total",
		map[string]string{"alertname": "ExperimentalReplicasDown", "service": "web", "severity": "page", "status": "firing"}))

	// Recovery: the replacement is scheduled, the incident closes with an
	// MTTR longer than its MTTD, and the API shows both.
	for _, n := range nodes {
		setUnschedulable(t, c, n, false)
	}
	waitFor(t, 60*time.Second, "the incident closed", func() (bool, error) {
		inc := web()
		return !inc.Open(), nil
	})
	inc = web()
	require.Greater(t, inc.TimeToRecover(), mttd)

	code, body, err := httpGet(sw.url + api.IncidentsPath + "?service=web&group=experimental")
	require.NoError(t, err)
	require.Equal(t, 200, code, body)
	var list api.IncidentList
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Incidents, 1)
	got := list.Incidents[0]
	require.NotNil(t, got.RecoverySeconds)
	require.NotNil(t, got.Detection)
	require.NotNil(t, got.Detection.DetectionSeconds)
	require.InDelta(t, mttd.Seconds(), *got.Detection.DetectionSeconds, 1e-9)
	require.InDelta(t, inc.TimeToRecover().Seconds(), *got.RecoverySeconds, 1e-9)
	require.Equal(t, "ExperimentalReplicasDown", got.Detection.Alert)
}
