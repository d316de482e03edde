package promsource_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// truthHypothesis is a hypothesis of one metric (spec, indented as a
// metrics entry) on a scenario of the generated data, over window.
func truthHypothesis(t *testing.T, scenario, window, metric string) *hypothesis.Hypothesis {
	t.Helper()
	doc := `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: truth}
spec:
  service: api
  groups:
    control: scenario="` + scenario + `", group="control"
    experimental: scenario="` + scenario + `", group="experimental"
  window: {fixed: ` + window + `}
  step: 15s
  metrics:` + metric + "\n"
	hs, err := hypothesis.Parse([]byte(doc), "truth.yaml")
	require.NoError(t, err, doc)
	require.Len(t, hs, 1)
	return &hs[0]
}

// TestJudgeDoesNotPassWhatItCannotSee judges, through a real Prometheus,
// data that cannot support a pass: the verdict must not be one.
func TestJudgeDoesNotPassWhatItCannotSee(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	healthy := verdicttest.GroupSim{RPS: 20, Median: 0.1, Sigma: 0.5, ErrorRate: 0.01}
	tenfold := healthy
	tenfold.Median *= 10
	om := verdicttest.OpenMetrics(11, start, 241, []verdicttest.Scenario{
		{Name: "tenfold", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy, chaos.Experimental: tenfold}},
		{Name: "same", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy, chaos.Experimental: healthy}},
	})
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: "global: {}\n", OpenMetrics: om})
	j := newJudge(t, promsource.Options{URL: p.URL()}, verdict.Options{})
	at := start.Add(2 * time.Hour)
	const (
		tenMinutes = "{start: 2026-11-01T00:30:00Z, end: 2026-11-01T00:40:00Z}"
		anHour     = "{start: 2026-11-01T00:00:00Z, end: 2026-11-01T01:00:00Z}"
		// one series per code: 200 and 500
		requestsByCode = `
    - name: requests
      query: rate(http_requests_total{ {{ .Group }} }[1m])
      direction: lowerIsWorse
      allowedEffect: 20%
      critical: true`
		meanOver5m = `
    - name: mean-latency
      query: |
        sum(rate(http_request_duration_seconds_sum{ {{ .Group }} }[5m]))
          / sum(rate(http_request_duration_seconds_count{ {{ .Group }} }[5m]))
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true`
	)

	for _, tc := range []struct {
		name     string
		scenario string
		window   string
		metric   string
		want     verdict.Result
		reason   string
	}{
		{
			name:     "an experiment 10× slower over 10 minutes of rate(…[5m]) at 15 s is inconclusive, not a pass",
			scenario: "tenfold", window: tenMinutes, metric: meanOver5m, want: verdict.Inconclusive,
			reason: "only 3 independent samples per group after thinning to the query's 5m range (one sample in 20 of 41 at the 15s step); a comparison needs at least 10: widen the window to at least 45m or shorten the query's range to at most 1m",
		},
		{
			name:     "two series per group (one per status code) are not pooled: inconclusive, naming them",
			scenario: "same", window: anHour, metric: requestsByCode, want: verdict.Inconclusive,
			reason: `vs control: experimental group: the query returned 2 series ({code="200", group="experimental", scenario="same"}, {code="500", group="experimental", scenario="same"}): a comparison needs one per group; aggregate them in the query (sum, avg, …) or set the metric's aggregate to sum, avg, max or min`,
		},
		{
			name:     "the same two series summed by the metric's aggregate pass the A/A",
			scenario: "same", window: anHour, metric: requestsByCode + "\n      aggregate: sum", want: verdict.Pass,
			reason: "no significant change",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := j.Judge(t.Context(), truthHypothesis(t, tc.scenario, tc.window, tc.metric), at)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			if tc.want != verdict.Pass {
				require.NotEqual(t, verdict.Pass, v.Result, v.Reason)
			}
			t.Logf("%s: %s", v.Result, v.Reason)
		})
	}
}
