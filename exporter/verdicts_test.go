package exporter_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/verdict"
)

func failing(at time.Time) verdict.Verdict {
	superiority, h := 0.83, 0.12
	return verdict.Verdict{
		Hypothesis: "kill-postgres", At: at, Result: verdict.Fail, Score: 50, Running: true, Abort: true,
		Metrics: []verdict.Metric{
			{
				Name: "latency", Result: verdict.High, PValue: 0.001,
				Control:      verdict.Summary{Samples: 240, Value: 0.2},
				Experimental: verdict.Summary{Samples: 240, Value: 0.3},
				Effect:       &verdict.Effect{Estimate: 0.1, Low: 0.08, High: 0.12, Allowed: 0.04, Confidence: 0.98, Superiority: &superiority},
			},
			{
				Name: "error-ratio", Result: verdict.Pass, PValue: 0.5,
				Control:      verdict.Summary{Samples: 240, Value: 0.001},
				Experimental: verdict.Summary{Samples: 240, Value: 0.001},
				Effect:       &verdict.Effect{Estimate: 0, Low: -0.001, High: 0.001, Allowed: 0.002, Confidence: 0.98, CohensH: &h},
			},
			{
				Name: "errors", Result: verdict.Inconclusive, PValue: math.NaN(),
				Control: verdict.Summary{Samples: 0, Value: math.NaN()},
			},
		},
	}
}

func TestVerdictsExportTheCurrentVerdictWithItsEvidence(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	v := verdict.NewBoard()
	reg.MustRegister(exporter.NewVerdictCollector(v))
	at := time.Unix(1795262400, 0)
	first := failing(at.Add(-time.Minute))
	first.Result = verdict.Inconclusive
	v.Record(first)
	v.Record(failing(at))

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP steadywatch_hypothesis_abort 1 from when a hard bound (SLO) of the hypothesis is violated during its experiment, and it asks to abort, until the experiment's window ends.
# TYPE steadywatch_hypothesis_abort gauge
steadywatch_hypothesis_abort{hypothesis="kill-postgres"} 1
# HELP steadywatch_hypothesis_cohens_effect_size The standardized effect of a ratio metric: Cohen's h of the groups' error ratios, 2*asin(sqrt(experimental)) - 2*asin(sqrt(control)) (0: no effect; |h| 0.2 is small, 0.5 medium, 0.8 large); absent for values.
# TYPE steadywatch_hypothesis_cohens_effect_size gauge
steadywatch_hypothesis_cohens_effect_size{hypothesis="kill-postgres",metric="error-ratio"} 0.12
# HELP steadywatch_hypothesis_effect The experimental group's shift from the control for a metric (estimate and confidence interval) and the largest shift allowed, in the metric's unit.
# TYPE steadywatch_hypothesis_effect gauge
steadywatch_hypothesis_effect{bound="allowed",hypothesis="kill-postgres",metric="latency"} 0.04
steadywatch_hypothesis_effect{bound="ci_high",hypothesis="kill-postgres",metric="latency"} 0.12
steadywatch_hypothesis_effect{bound="ci_low",hypothesis="kill-postgres",metric="latency"} 0.08
steadywatch_hypothesis_effect{bound="estimate",hypothesis="kill-postgres",metric="latency"} 0.1
steadywatch_hypothesis_effect{bound="allowed",hypothesis="kill-postgres",metric="error-ratio"} 0.002
steadywatch_hypothesis_effect{bound="ci_high",hypothesis="kill-postgres",metric="error-ratio"} 0.001
steadywatch_hypothesis_effect{bound="ci_low",hypothesis="kill-postgres",metric="error-ratio"} -0.001
steadywatch_hypothesis_effect{bound="estimate",hypothesis="kill-postgres",metric="error-ratio"} 0
# HELP steadywatch_hypothesis_running 1 while the hypothesis's experiment window is open and its verdict provisional.
# TYPE steadywatch_hypothesis_running gauge
steadywatch_hypothesis_running{hypothesis="kill-postgres"} 1
# HELP steadywatch_hypothesis_score Weighted share of the judged metrics that passed, 0-100; NaN if none could be judged.
# TYPE steadywatch_hypothesis_score gauge
steadywatch_hypothesis_score{hypothesis="kill-postgres"} 50
# HELP steadywatch_hypothesis_superiority_ratio The standardized effect of a value metric: the probability that an experimental sample exceeds a control sample, ties counting half (0.5: no effect); absent for ratios.
# TYPE steadywatch_hypothesis_superiority_ratio gauge
steadywatch_hypothesis_superiority_ratio{hypothesis="kill-postgres",metric="latency"} 0.83
# HELP steadywatch_hypothesis_verdict The current verdict of each hypothesis: 1 for it, 0 for the other verdicts.
# TYPE steadywatch_hypothesis_verdict gauge
steadywatch_hypothesis_verdict{hypothesis="kill-postgres",verdict="fail"} 1
steadywatch_hypothesis_verdict{hypothesis="kill-postgres",verdict="inconclusive"} 0
steadywatch_hypothesis_verdict{hypothesis="kill-postgres",verdict="pass"} 0
# HELP steadywatch_hypothesis_verdict_timestamp_seconds Time of the hypothesis's current verdict.
# TYPE steadywatch_hypothesis_verdict_timestamp_seconds gauge
steadywatch_hypothesis_verdict_timestamp_seconds{hypothesis="kill-postgres"} 1.7952624e+09
# HELP steadywatch_steady_state_value Each group's value of a steady-state metric over the experiment window: the median of its samples, or errors/total for a ratio.
# TYPE steadywatch_steady_state_value gauge
steadywatch_steady_state_value{group="control",hypothesis="kill-postgres",metric="latency"} 0.2
steadywatch_steady_state_value{group="experimental",hypothesis="kill-postgres",metric="latency"} 0.3
steadywatch_steady_state_value{group="control",hypothesis="kill-postgres",metric="error-ratio"} 0.001
steadywatch_steady_state_value{group="experimental",hypothesis="kill-postgres",metric="error-ratio"} 0.001
# HELP steadywatch_verdicts_total Verdicts issued, by hypothesis and verdict; a hypothesis judged continuously counts every judgement.
# TYPE steadywatch_verdicts_total counter
steadywatch_verdicts_total{hypothesis="kill-postgres",verdict="fail"} 1
steadywatch_verdicts_total{hypothesis="kill-postgres",verdict="inconclusive"} 1
`), "steadywatch_hypothesis_abort", "steadywatch_hypothesis_cohens_effect_size", "steadywatch_hypothesis_effect", "steadywatch_hypothesis_running",
		"steadywatch_hypothesis_score", "steadywatch_hypothesis_superiority_ratio", "steadywatch_hypothesis_verdict", "steadywatch_hypothesis_verdict_timestamp_seconds",
		"steadywatch_steady_state_value", "steadywatch_verdicts_total"))

	// Per-metric results and p-values, NaN for a metric not tested.
	require.InDelta(t, 1, testutil.ToFloat64(metricResult(t, reg, "latency", "high")), 0)
	require.InDelta(t, 0, testutil.ToFloat64(metricResult(t, reg, "latency", "pass")), 0)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)

	v.Keep(nil)
	require.Empty(t, v.Latest())
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Zero(t, n, "a hypothesis no longer loaded leaves no series")
}

// metricResult is the steadywatch_hypothesis_metric_result series of a
// metric and result, as a gauge for testutil.ToFloat64.
func metricResult(t *testing.T, g prometheus.Gatherer, metric, result string) prometheus.Gauge {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "steadywatch_hypothesis_metric_result" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["metric"] == metric && labels["result"] == result {
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x", Help: "x"})
				g.Set(m.GetGauge().GetValue())
				return g
			}
		}
	}
	t.Fatalf("no metric_result for %s/%s", metric, result)
	return nil
}
