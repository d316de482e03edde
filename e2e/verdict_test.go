package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/hypyaml"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/rules"
	"github.com/steadywatch/steadywatch/verdict"
)

// podKillHypothesis: the web service keeps at least 90 % of its replicas
// ready when one is killed (it will not: its replacement cannot be
// scheduled for a while), and recovers within 60 s.
var podKillHypothesis = hypyaml.PodKill{Name: "web-survives-a-pod-kill", Namespace: "verdict", Recovery: true}.YAML()

// TestServeJudgesAHypothesisFromTheWatchedChaosAndAbortsOnItsHardBound
// runs the verdict loop on real parts: the window comes from the pod
// deletion the watcher recorded, the steady state from a real Prometheus
// scraping steadywatch itself, the recovery expectations from the
// incident, and the abort alert goes to a real Alertmanager.
func TestServeJudgesAHypothesisFromTheWatchedChaosAndAbortsOnItsHardBound(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "verdict"
	namespace(t, ns)
	nodes := []string{"verdict-1", "verdict-2"}
	for _, n := range nodes {
		node(t, n, map[string]string{"pool": ns})
	}
	createDeployment(t, c, scale.Deployment(ns, "web-experimental", "web", "experimental", ns, 3))
	createDeployment(t, c, scale.Deployment(ns, "web-control", "web", "control", ns, 3))

	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	swAddr := freeAddr(t)
	hypotheses := filepath.Join(t.TempDir(), "web.yaml")
	require.NoError(t, os.WriteFile(hypotheses, []byte(podKillHypothesis), 0o600))
	// Prometheus evaluates the rules steadywatch generates for this
	// hypothesis.
	hyps, err := hypothesis.Load(hypotheses)
	require.NoError(t, err)
	ruleFiles, err := rules.Generate(config.Default(), hyps, rules.Options{})
	require.NoError(t, err)
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{
		Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: steadywatch
    static_configs:
      - targets: [%q]
`, swAddr),
		Rules: map[string]string{rules.RuleFileName: string(ruleFiles[0].Data)},
	})
	sw := startSteadywatch(t, ns, t.TempDir(), func(cfg *config.Config) {
		cfg.Listen = swAddr
		cfg.Verdicts = config.Verdicts{
			Hypotheses: []string{hypotheses}, PrometheusURL: prom.URL(),
			Interval: model.Duration(time.Second), AbortAlertmanagerURL: am.URL(),
		}
	})
	current := func() (verdict.Verdict, bool) { return servedVerdict(t, sw.url, "web-survives-a-pod-kill") }
	// Before any chaos there is no window to judge.
	waitFor(t, 30*time.Second, "a first verdict", func() (bool, error) {
		_, ok := current()
		return ok, nil
	})
	v, _ := current()
	require.Equal(t, verdict.Inconclusive, v.Result, "no chaos yet: %s", v.Reason)

	// The window starts 10 s before the fault: Prometheus must have that
	// much steady state of both groups.
	waitFor(t, 60*time.Second, "12 s of steady state in Prometheus", func() (bool, error) {
		val, _, _, err := prom.API().Query(t.Context(),
			`min(count_over_time(steadywatch_workload_ready_ratio{namespace="verdict",service="web"}[15s]))`, time.Now())
		if err != nil {
			return false, err
		}
		vec, ok := val.(model.Vector)
		return ok && len(vec) == 1 && vec[0].Value >= 12, nil
	})

	// The chaos: an experimental pod killed, its replacement unschedulable.
	for _, n := range nodes {
		setUnschedulable(t, c, n, true)
	}
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web-experimental"})
	require.NoError(t, err)
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), pods.Items[0].Name, metav1.DeleteOptions{}))

	// The ready ratio falls below the SLO while the experiment runs: abort.
	waitFor(t, 60*time.Second, "the abort", func() (bool, error) {
		v, _ := current()
		return v.Abort, nil
	})
	v, _ = current()
	require.True(t, v.Running)
	require.Contains(t, v.AbortReasons[0], "metric ready-ratio violates its SLO min 0.9")
	require.Empty(t, v.Metrics[0].SampleGaps, "up to the time of judgement: %s", v.Metrics[0].Reason)
	// The verdict is served as judged; the abort alert is posted after it
	// (on a machine at load 20, still in flight 370 ms later).
	var alerts *amalert.GetAlertsOK
	waitFor(t, 30*time.Second, "the abort alert in Alertmanager", func() (bool, error) {
		var err error
		alerts, err = am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
		return err == nil && len(alerts.Payload) > 0, err
	})
	require.Len(t, alerts.Payload, 1)
	require.Equal(t, abort.AlertName, alerts.Payload[0].Labels["alertname"])
	require.Equal(t, "web-survives-a-pod-kill", alerts.Payload[0].Labels["hypothesis"])
	requireValue(t, 1, value(scrape(t, sw.url), "steadywatch_hypothesis_abort",
		map[string]string{"hypothesis": "web-survives-a-pod-kill"}))
	// The generated rules see the deviation while the experiment runs.
	waitForAlert(t, prom, "SteadywatchSteadyStateDeviation")

	// Degraded for long enough that more than the SLO's tolerance (5 %) of
	// the window's samples violate it: 3 of about 26.
	waitFor(t, 60*time.Second, "3 degraded samples in Prometheus", func() (bool, error) {
		val, _, _, err := prom.API().Query(t.Context(),
			`sum_over_time((min(steadywatch_workload_ready_ratio{namespace="verdict",group="experimental"}) < bool 0.9)[30s:1s])`, time.Now())
		if err != nil {
			return false, err
		}
		vec, ok := val.(model.Vector)
		return ok && len(vec) == 1 && vec[0].Value >= 3, nil
	})

	// Recovery; then, once the window (15 s after the fault) is over, the
	// verdict: the SLO failed, the recovery expectations held.
	for _, n := range nodes {
		setUnschedulable(t, c, n, false)
	}
	waitFor(t, 90*time.Second, "the verdict after the window", func() (bool, error) {
		v, _ := current()
		return !v.Running && v.Window.End.Before(v.At), nil
	})
	v, _ = current()
	require.Equal(t, verdict.Fail, v.Result, "reason: %s", v.Reason)
	require.Len(t, v.Metrics, 1)
	require.Equal(t, verdict.Fail, v.Metrics[0].SLO, v.Metrics[0].Reason)
	// Prometheus scraped steadywatch every second throughout, at the
	// hypothesis's 1 s step: no stretch without samples (the judge's sample
	// gaps), which would keep a pass from passing.
	require.Empty(t, v.Metrics[0].SampleGaps, v.Metrics[0].Reason)
	require.Len(t, v.Recovery, 2)
	for _, x := range v.Recovery {
		require.Equal(t, verdict.Pass, x.Result, "%s: %s", x.Name, x.Reason)
		require.Greater(t, x.Observed, 0.0)
		require.Less(t, x.Observed, 60.0)
	}
	require.False(t, v.Abort, "no abort once the experiment is over")
	mfs := scrape(t, sw.url)
	requireValue(t, 1, value(mfs, "steadywatch_hypothesis_verdict",
		map[string]string{"hypothesis": "web-survives-a-pod-kill", "verdict": "fail"}))
	requireValue(t, 0, value(mfs, "steadywatch_hypothesis_abort", map[string]string{"hypothesis": "web-survives-a-pod-kill"}))
	// The generated rules page on the failed hypothesis.
	waitForAlert(t, prom, "SteadywatchHypothesisFailed")
	// The abort alert was resolved: Alertmanager no longer lists it.
	waitFor(t, 30*time.Second, "the abort alert resolved", func() (bool, error) {
		alerts, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
		return err == nil && len(alerts.Payload) == 0, err
	})
}

// waitForAlert waits until Prometheus has the alert firing.
func waitForAlert(t *testing.T, prom *promtest.Prometheus, name string) {
	t.Helper()
	waitFor(t, 60*time.Second, name+" firing in Prometheus", func() (bool, error) {
		val, _, _, err := prom.API().Query(t.Context(),
			fmt.Sprintf(`ALERTS{alertname=%q, alertstate="firing", hypothesis="web-survives-a-pod-kill"}`, name), time.Now())
		if err != nil {
			return false, err
		}
		vec, ok := val.(model.Vector)
		return ok && len(vec) > 0, nil
	})
}

// servedVerdict is serve's current verdict on hypothesis name, from the
// API; false while it has none.
func servedVerdict(t *testing.T, url, name string) (verdict.Verdict, bool) {
	t.Helper()
	code, body, err := httpGet(url + api.VerdictsPath + "/" + name)
	require.NoError(t, err)
	if code != 200 {
		return verdict.Verdict{}, false
	}
	var v verdict.Verdict
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	return v, true
}
