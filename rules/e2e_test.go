package rules

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict"
)

// TestPrometheusFiresHypothesisFailedOnAFailingVerdict loads the rules
// generated from examples/ into a real Prometheus 2.42 that scrapes
// steadywatch's verdict metrics, as exporter.VerdictCollector publishes them: a
// passing verdict fires nothing, a failing one SteadywatchHypothesisFailed.
func TestPrometheusFiresHypothesisFailedOnAFailingVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	reg := prometheus.NewRegistry()
	verdicts := verdict.NewBoard()
	reg.MustRegister(exporter.NewVerdictCollector(verdicts))
	const name = "kill-postgres-replica"
	verdicts.Record(verdict.Verdict{Hypothesis: name, At: time.Now(), Result: verdict.Pass, Score: 100})
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(target.Close)

	files := generate(t, load(t, "../examples"), Options{})
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{
		Config: `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ` + DefaultJob + `
    static_configs:
      - targets: [` + strings.TrimPrefix(target.URL, "http://") + `]
`,
		Rules: map[string]string{RuleFileName: string(files[RuleFileName])},
	})
	api := prom.API()
	ctx := t.Context()

	// Every group loaded: a rule Prometheus 2.42 rejected would leave its
	// file out (and the server would not have started).
	rules, err := api.Rules(ctx, nil)
	require.NoError(t, err)
	require.Len(t, rules.Groups, 5)

	// The passing verdict scraped and the rules evaluated on it without an
	// error (the reliability and weekly groups, every 5m, may not have run
	// yet): no alert.
	require.Eventually(t, func() bool {
		return query(ctx, t, api, `steadywatch_hypothesis_verdict{job="steadywatch", verdict="pass"} == 1`) == 1
	}, 30*time.Second, 200*time.Millisecond, "Prometheus never scraped the verdict")
	require.Eventually(t, func() bool { return evaluated(ctx, t, api) }, 10*time.Second, 200*time.Millisecond)
	require.Empty(t, firing(ctx, t, api, HypothesisFailed))

	verdicts.Record(verdict.Verdict{Hypothesis: name, At: time.Now(), Result: verdict.Fail, Score: 40})
	var alert v1.Alert
	require.Eventually(t, func() bool {
		alerts := firing(ctx, t, api, HypothesisFailed)
		if len(alerts) == 1 {
			alert = alerts[0]
		}
		return len(alerts) == 1
	}, 30*time.Second, 200*time.Millisecond, "SteadywatchHypothesisFailed did not fire")
	require.Equal(t, model.LabelValue(name), alert.Labels["hypothesis"])
	require.Equal(t, model.LabelValue(Ticket), alert.Labels["severity"])
	require.Equal(t, model.LabelValue("sev4"), alert.Labels["sev"])
	require.Equal(t, "Hypothesis "+name+" failed.", string(alert.Annotations["summary"]))
	require.Empty(t, firing(ctx, t, api, WatcherDown), "steadywatch is up under the job the rules watch")
}

// evaluated reports whether every rule but the reliability and weekly
// groups' has been evaluated; it fails the test on a rule whose evaluation
// failed.
func evaluated(ctx context.Context, t *testing.T, api v1.API) bool {
	t.Helper()
	res, err := api.Rules(ctx, nil)
	require.NoError(t, err)
	all := true
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			var name string
			var health v1.RuleHealth
			var lastError string
			switch r := r.(type) {
			case v1.RecordingRule:
				name, health, lastError = r.Name, r.Health, r.LastError
			case v1.AlertingRule:
				name, health, lastError = r.Name, r.Health, r.LastError
			}
			require.NotEqual(t, v1.RuleHealthBad, health, "%s: %s", name, lastError)
			if health != v1.RuleHealthGood && g.Name != "steadywatch.reliability" && g.Name != WeeklyGroup {
				all = false
			}
		}
	}
	return all
}

func query(ctx context.Context, t *testing.T, api v1.API, q string) int {
	t.Helper()
	v, _, _, err := api.Query(ctx, q, time.Now())
	require.NoError(t, err)
	vec, ok := v.(model.Vector)
	require.True(t, ok, "%s is a %s", q, v.Type())
	return len(vec)
}

func firing(ctx context.Context, t *testing.T, api v1.API, name string) []v1.Alert {
	t.Helper()
	res, err := api.Alerts(ctx)
	require.NoError(t, err)
	var out []v1.Alert
	for _, a := range res.Alerts {
		if string(a.Labels["alertname"]) == name && a.State == v1.AlertStateFiring {
			out = append(out, a)
		}
	}
	return out
}
