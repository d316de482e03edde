package promsource_test

import (
	"os"
	"strings"
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

// e2eHypothesis is testdata/e2e.yaml for a scenario and a window.
func e2eHypothesis(t *testing.T, scenario, window string) *hypothesis.Hypothesis {
	t.Helper()
	tmpl, err := os.ReadFile("testdata/e2e.yaml")
	require.NoError(t, err)
	doc := strings.NewReplacer("SCENARIO", scenario, "WINDOW", window).Replace(string(tmpl))
	hs, err := hypothesis.Parse([]byte(doc), "e2e.yaml")
	require.NoError(t, err)
	require.Len(t, hs, 1)
	return &hs[0]
}

// TestJudgeAgainstPrometheus judges generated data through a real
// Prometheus 2.42 and real PromQL: rate, histogram_quantile, sum by.
func TestJudgeAgainstPrometheus(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	healthy := verdicttest.GroupSim{RPS: 20, Median: 0.1, Sigma: 0.5, ErrorRate: 0.001}
	slow := healthy
	slow.Median *= 1.5
	noErrors, failing := healthy, healthy
	noErrors.ErrorRate, failing.ErrorRate = 0, 0.03
	idle := verdicttest.GroupSim{Median: 0.1, Sigma: 0.5}
	om := verdicttest.OpenMetrics(42, start, 2*240+1, []verdicttest.Scenario{
		{Name: "aa", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy, chaos.Experimental: healthy}},
		// Slow during the chaos only, the window's [30m, 90m).
		{
			Name: "slow", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy, chaos.Experimental: healthy},
			Chaos: &verdicttest.Chaos{From: 30 * time.Minute, To: 90 * time.Minute, Experimental: slow},
		},
		// Slow all along: the groups differed before the chaos.
		{Name: "slow-before", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy, chaos.Experimental: slow}},
		// Errors in the experimental group during the chaos only, and all along.
		{
			Name: "errors", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: noErrors, chaos.Experimental: noErrors},
			Chaos: &verdicttest.Chaos{From: 30 * time.Minute, To: 90 * time.Minute, Experimental: failing},
		},
		{Name: "errors-before", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: noErrors, chaos.Experimental: failing}},
		{Name: "idle", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: idle, chaos.Experimental: idle}},
		{Name: "half", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy}},
	})
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: "global: {}\n", OpenMetrics: om})
	j := newJudge(t, promsource.Options{URL: p.URL()}, verdict.Options{})
	const (
		window   = "fixed: {start: 2026-11-01T00:30:00Z, end: 2026-11-01T01:30:00Z}"
		dayEarly = "fixed: {start: 2026-10-31T00:30:00Z, end: 2026-10-31T01:30:00Z}"
	)
	at := start.Add(2 * time.Hour)

	type metricWant struct {
		result verdict.Result
		reason string
	}
	for _, tc := range []struct {
		name     string
		scenario string
		window   string
		at       time.Time
		want     verdict.Result
		reason   string
		metrics  map[string]metricWant
		abort    string
	}{
		{
			name: "an A/A experiment passes", scenario: "aa", window: window, at: at,
			want: verdict.Pass, reason: "score 100 at or above the pass score 95",
			metrics: map[string]metricWant{
				// Independent samples only: at all 241, rate()'s overlapping
				// minutes made a 1.45 % shift "significant" (p = 0.002).
				"p99-latency":  {verdict.Pass, "no significant change: the interval [-0.00327311, 0.0113423] contains 0 (p = 0.12; P(experimental > control) = 0.56) [compared on one sample in 4: the query's range covers 4 steps]; SLO: all 241 samples of the experimental group within max 0.45"},
				"mean-latency": {verdict.Pass, "no significant change"},
				"error-ratio":  {verdict.Pass, "no significant change"},
				"throughput":   {verdict.Pass, "no significant change: the interval"},
			},
		},
		{
			name: "latency 50 % up in the experiment fails", scenario: "slow", window: window, at: at,
			want: verdict.Fail, reason: "critical metric p99-latency failed (high): vs control: significant increase",
			metrics: map[string]metricWant{
				"p99-latency":  {verdict.High, "of the experimental group above the max 0.45"},
				"mean-latency": {verdict.High, "exceeds the allowed"},
				"error-ratio":  {verdict.Pass, ""},
				"throughput":   {verdict.Pass, ""},
			},
		},
		{
			name: "latency 50 % up while the experiment runs aborts on its SLO", scenario: "slow", window: window,
			at:   start.Add(time.Hour),
			want: verdict.Fail, reason: "critical metric p99-latency failed (high)",
			metrics: map[string]metricWant{"p99-latency": {verdict.High, "of 121 samples"}},
			abort:   "metric p99-latency violates its SLO max 0.45: ",
		},
		{
			name: "groups that differed before the experiment are inconclusive, not failed", scenario: "slow-before", window: window, at: at,
			want: verdict.Fail, reason: "critical metric p99-latency failed (fail)",
			metrics: map[string]metricWant{
				"p99-latency":  {verdict.Fail, "vs control: the groups already differed before the experiment: in the baseline (30m0s before the window) the experimental group was higher by"},
				"mean-latency": {verdict.Inconclusive, "vs control: the groups already differed before the experiment"},
			},
		},
		{
			name: "errors up from a control without any fails", scenario: "errors", window: window, at: at,
			want: verdict.Fail, reason: "critical metric error-ratio failed (high)",
			metrics: map[string]metricWant{
				"p99-latency": {verdict.Pass, ""},
				"error-ratio": {verdict.High, "vs 0 of"},
			},
		},
		{
			name: "errors that were there before the experiment are inconclusive, not failed", scenario: "errors-before", window: window, at: at,
			want: verdict.Inconclusive, reason: "only 75 % of the metrics' weight could be judged",
			metrics: map[string]metricWant{
				"error-ratio": {verdict.Inconclusive, "vs control: the groups already differed before the experiment: in the baseline (30m0s before the window) the experimental group was higher by 0.0289"},
			},
		},
		{
			name: "no traffic is inconclusive: NaN quantiles, too little traffic", scenario: "idle", window: window, at: at,
			want: verdict.Inconclusive, reason: "only 25 % of the metrics' weight could be judged (minJudged 100 %)",
			metrics: map[string]metricWant{
				"p99-latency":  {verdict.Inconclusive, "no data for the experimental group: its 241 samples are all NaN"},
				"mean-latency": {verdict.Inconclusive, "no data for the experimental group: its 241 samples are all NaN"},
				"error-ratio":  {verdict.Inconclusive, "too little traffic in the experimental group (0 < minTotal 1000)"},
				"throughput":   {verdict.Pass, "no significant change"},
			},
		},
		{
			name: "a missing group is inconclusive", scenario: "half", window: window, at: at,
			want: verdict.Inconclusive, reason: "only 0 % of the metrics' weight could be judged",
			metrics: map[string]metricWant{
				"p99-latency": {verdict.Inconclusive, "no data for the experimental group: the query returned no series"},
				"error-ratio": {verdict.Inconclusive, "no data for the experimental group: the total query returned no series"},
			},
		},
		{
			name: "a window without data is inconclusive", scenario: "aa", window: dayEarly, at: at,
			want: verdict.Inconclusive, reason: "only 0 % of the metrics' weight could be judged",
			metrics: map[string]metricWant{
				"p99-latency": {verdict.Inconclusive, "vs control: no data for the experimental group: the query returned no series"},
				"throughput":  {verdict.Inconclusive, "no data for the experimental group: the query returned no series"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := j.Judge(t.Context(), e2eHypothesis(t, tc.scenario, tc.window), tc.at)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Result, v.Reason)
			require.Contains(t, v.Reason, tc.reason)
			byName := map[string]verdict.Metric{}
			for _, m := range v.Metrics {
				byName[m.Name] = m
			}
			for name, want := range tc.metrics {
				m := byName[name]
				require.Equalf(t, want.result, m.Result, "%s: %s", name, m.Reason)
				require.Containsf(t, m.Reason, want.reason, "%s", name)
			}
			require.Equal(t, tc.abort != "", v.Abort)
			require.Equal(t, tc.at.Before(v.Window.End), v.Running)
			if tc.abort != "" {
				require.Len(t, v.AbortReasons, 1)
				require.Contains(t, v.AbortReasons[0], tc.abort)
			}
			t.Logf("%s: %s", v.Result, v.Reason)
			for _, m := range v.Metrics {
				t.Logf("  %s %s: %s", m.Name, m.Result, m.Reason)
			}
		})
	}

	t.Run("the error counts come from rate × step through sum by", func(t *testing.T) {
		v, err := j.Judge(t.Context(), e2eHypothesis(t, "errors", window), at)
		require.NoError(t, err)
		m := v.Metrics[2]
		require.Equal(t, "error-ratio", m.Name)
		require.Zero(t, m.Control.Errors)
		require.Contains(t, m.Reason, "an errors query with no series counted as 0 errors")
		// 20 requests a second for an hour, 3 % of them errors.
		require.InEpsilon(t, 72_000, m.Control.Total, 0.05)
		require.InEpsilon(t, 72_000, m.Experimental.Total, 0.05)
		require.InEpsilon(t, 0.03, m.Experimental.Value, 0.1)
		require.Equal(t, 241, m.Experimental.Samples)
	})
}
