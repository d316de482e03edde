package verdict_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// A 10-minute window at a 15 s step has 41 samples per group; a query over
// rate(…[5m]) leaves one in 20 of them independent: 3 per group. No
// comparison of 3 against 3 can exclude anything at 98 %, so however far
// apart the groups are, the metric must be inconclusive, never a pass.
func TestThinningLeavesTooFewSamplesToCompare(t *testing.T) {
	const tenMinutes = `window: {fixed: {start: 2026-03-01T12:00:00Z, end: 2026-03-01T12:10:00Z}}`
	rate5m := `
    - name: latency
      query: sum(rate(latency{ {{ .Group }} }[5m]))
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true`
	rate1m := `
    - name: latency
      query: sum(rate(latency{ {{ .Group }} }[1m]))
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true`
	for _, tc := range []struct {
		name       string
		metric     string
		minSamples int
		factor     float64
		want       verdict.Result
		reason     string
	}{
		{
			name:   "an experiment 10× the control over 3 independent samples a group is inconclusive, not a pass",
			metric: rate5m, factor: 10, want: verdict.Inconclusive,
			reason: "only 3 independent samples per group after thinning to the query's 5m range (one sample in 20 of 41 at the 15s step); a comparison needs at least 10: widen the window to at least 45m or shorten the query's range to at most 1m",
		},
		{
			name:   "an A/A over 3 independent samples a group is inconclusive too",
			metric: rate5m, factor: 1, want: verdict.Inconclusive,
			reason: "only 3 independent samples per group after thinning",
		},
		{
			name:   "with a minimum of 3 the interval is infinite, and that is inconclusive",
			metric: rate5m, factor: 10, minSamples: 3, want: verdict.Inconclusive,
			reason: "the 98 % interval of the shift is unbounded with 3 and 3 independent samples: they cannot show any change; widen the window or shorten the query's range",
		},
		{
			name:   "the same window with rate(…[1m]) keeps 11 samples a group and fails the 10× experiment",
			metric: rate1m, factor: 10, want: verdict.High,
			reason: "significant increase",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			f.Set("latency", chaos.Control, lognormal(1, 41, 0.1, 0.3))
			f.Set("latency", chaos.Experimental, scaled(lognormal(2, 41, 0.1, 0.3), tc.factor))
			j := newJudge(t, verdict.Options{Samples: f, MinSamples: tc.minSamples})
			v, err := j.Judge(t.Context(), hyp(t, tenMinutes, metrics(tc.metric)), base.Add(time.Hour))
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			require.NotEqual(t, verdict.Pass, v.Result, v.Reason)
		})
	}
}

// ratioData registers errors and requests rates of both groups.
func ratioData(f *verdicttest.Source, ctlErrs, expErrs []float64, requests float64) {
	f.Set("requests_rate", chaos.Control, constant(nSamples, requests))
	f.Set("requests_rate", chaos.Experimental, constant(nSamples, requests))
	f.Set("errors_rate", chaos.Control, ctlErrs)
	f.Set("errors_rate", chaos.Experimental, expErrs)
}

// withNaN returns xs with NaN at every i where nan(i).
func withNaN(xs []float64, nan func(i int) bool) []float64 {
	for i := range xs {
		if nan(i) {
			xs[i] = math.NaN()
		}
	}
	return xs
}

// An error sample that is NaN says nothing about that step's errors: the
// step must leave the total as well, or the errors are counted over less
// traffic than the total they are divided by.
func TestJudgeRatioDropsStepsWithoutAnErrorCount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctl     []float64
		exp     []float64
		want    verdict.Result
		reason  string
		expTot  float64
		expErrs float64
	}{
		{
			name: "an errors series that is all NaN is inconclusive, not 0 errors",
			ctl:  constant(nSamples, 0), exp: constant(nSamples, math.NaN()),
			want:   verdict.Inconclusive,
			reason: "no data for the experimental group: the errors query's 241 samples are all NaN; check that the errors query divides nothing by zero",
		},
		{
			name: "an errors series that is all +Inf is inconclusive",
			ctl:  constant(nSamples, 0), exp: constant(nSamples, math.Inf(1)),
			want:   verdict.Inconclusive,
			reason: "no data for the experimental group: the errors query's 241 samples are all NaN or infinite",
		},
		{
			name: "the steps whose errors are NaN leave the total as well",
			ctl:  constant(nSamples, 0.1),
			exp:  withNaN(constant(nSamples, 1), func(i int) bool { return i%2 == 0 }),
			// 120 steps of 10 requests/s and 1 error/s at 15 s
			want: verdict.High, expTot: 120 * 10 * 15, expErrs: 120 * 15,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			ratioData(f, tc.ctl, tc.exp, 10)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			require.NotEqual(t, verdict.Pass, v.Result)
			if tc.expTot > 0 {
				require.InDelta(t, tc.expTot, m.Experimental.Total, 1e-9)
				require.InDelta(t, tc.expErrs, m.Experimental.Errors, 1e-9)
				require.InDelta(t, 0.1, m.Experimental.Value, 1e-12)
			}
		})
	}
}

// Counts too large for an int64 must not wrap to -9223372036854775808.
func TestJudgeRatioRefusesCountsOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		requests float64
		want     verdict.Result
		reason   string
	}{
		{
			"1e300 requests a second cannot be counted", 1e300, verdict.Inconclusive,
			"counts too large to test exactly: 3.615e+303 requests in the control group (the most is 9.007e+15); check the total query's unit (it must be a per-second rate)",
		},
		{"1e10 requests a second can", 1e10, verdict.Pass, "no significant change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			ratioData(f, constant(nSamples, 0), constant(nSamples, 0), tc.requests)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			require.NotContains(t, m.Reason, "-9223372036854775808")
		})
	}
}

// Prometheus' warnings say its answer may be partial (a store that did not
// answer, a limit hit): a verdict on it is not a verdict on the data.
func TestJudgeWarningsMakeAMetricInconclusive(t *testing.T) {
	f := newSource()
	aa(f, "latency", 1, 1)
	f.Warn("latency", chaos.Control, "partial response: store 10.0.0.7:10901 did not answer")
	v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric)), after)
	require.NoError(t, err)
	m := v.Metrics[0]
	require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
	require.Contains(t, m.Reason, "Prometheus warned that its answer may be partial: control group: partial response: store 10.0.0.7:10901 did not answer; judge again once the warning is gone")
	require.Equal(t, []string{"control group: partial response: store 10.0.0.7:10901 did not answer"}, m.Warnings)
	require.Equal(t, verdict.Inconclusive, v.Result)

	t.Run("and a ratio's", func(t *testing.T) {
		f := newSource()
		ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 10)
		f.Warn("errors_rate", chaos.Experimental, "query hit the series limit")
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric)), after)
		require.NoError(t, err)
		require.Equal(t, verdict.Inconclusive, v.Metrics[0].Result, v.Metrics[0].Reason)
		require.Equal(t, []string{"experimental group: query hit the series limit"}, v.Metrics[0].Warnings)
	})
}

// Samples outside the window asked for are not the window's.
func TestJudgeDropsSamplesOutsideTheWindow(t *testing.T) {
	const twenty = `window: {fixed: {start: 2026-03-01T12:20:00Z, end: 2026-03-01T12:40:00Z}}`
	f := newSource()
	aa(f, "latency", 1, 1)
	f.Spill = 10 * time.Minute
	v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, twenty, metrics(latencyMetric)), after)
	require.NoError(t, err)
	m := v.Metrics[0]
	require.Equal(t, 81, m.Control.Samples, m.Reason)
	require.Equal(t, 81, m.Experimental.Samples, m.Reason)
	require.Equal(t, verdict.Pass, m.Result, m.Reason)
}

// Several series for one group are not one steady state: per-pod series,
// or a query that forgot a label matcher. Pooling them silently compares
// a mixture; without an aggregate it is an error.
func TestJudgeSeveralSeriesPerGroup(t *testing.T) {
	with := func(agg string) string {
		return `
    - name: latency
      query: latency{ {{ .Group }} }
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true` + agg
	}
	pods := func(f *verdicttest.Source, expFactor float64) {
		f.Set("latency", chaos.Control, lognormal(7, nSamples, 0.1, 0.3), lognormal(8, nSamples, 0.1, 0.3))
		f.Set("latency", chaos.Experimental, lognormal(9, nSamples, 0.1, 0.3), scaled(lognormal(10, nSamples, 0.1, 0.3), expFactor))
	}
	for _, tc := range []struct {
		name   string
		metric string
		factor float64
		want   verdict.Result
		reason string
		series int
	}{
		{
			name: "two series per group without an aggregate are inconclusive", metric: with(""), factor: 1,
			want:   verdict.Inconclusive,
			reason: `experimental group: the query returned 2 series ({series="0"}, {series="1"}): a comparison needs one per group; aggregate them in the query (sum, avg, …) or set the metric's aggregate to sum, avg, max or min`,
		},
		{
			name: "with aggregate: avg they are averaged at each step and pass an A/A", metric: with("\n      aggregate: avg"), factor: 1,
			want: verdict.Pass, series: 2,
		},
		{
			name: "with aggregate: max one pod 3× slower fails", metric: with("\n      aggregate: max"), factor: 3,
			want: verdict.High, series: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			pods(f, tc.factor)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(tc.metric)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			if tc.series > 0 {
				require.Equal(t, tc.series, m.Control.Series)
				require.Equal(t, nSamples, m.Control.Samples)
			}
		})
	}
	t.Run("a ratio's errors in two series without an aggregate are inconclusive", func(t *testing.T) {
		f := newSource()
		ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 10)
		f.Set("errors_rate", chaos.Control, constant(nSamples, 0.1), constant(nSamples, 0.1))
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric)), after)
		require.NoError(t, err)
		m := v.Metrics[0]
		require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
		require.Contains(t, m.Reason, `control group, errors query: the query returned 2 series`)
	})
	t.Run("a ratio with aggregate: sum adds them up", func(t *testing.T) {
		f := newSource()
		ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 10)
		f.Set("errors_rate", chaos.Control, constant(nSamples, 0.1), constant(nSamples, 0.1))
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric+"\n      aggregate: sum")), after)
		require.NoError(t, err)
		m := v.Metrics[0]
		require.InDelta(t, 0.2*15*nSamples, m.Control.Errors, 1e-9)
		require.Equal(t, verdict.Pass, m.Result, m.Reason)
	})
}

// The standardized effect beside the shift: the probability that an
// experimental sample exceeds a control one, ties half, counted here over
// every pair of the samples compared.
func TestJudgeReportsTheProbabilityOfSuperiority(t *testing.T) {
	for _, tc := range []struct {
		name   string
		factor float64
	}{
		{"an A/A is near a coin toss", 1},
		{"a 10 % shift is a modest one", 1.1},
		{"a 50 % shift is a large one", 1.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctl, exp := lognormal(1, nSamples, 0.1, 0.3), scaled(lognormal(2, nSamples, 0.1, 0.3), tc.factor)
			f := newSource()
			f.Set("latency", chaos.Control, ctl)
			f.Set("latency", chaos.Experimental, exp)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.NotNil(t, m.Effect)
			require.NotNil(t, m.Effect.Superiority)
			var above float64
			for _, x := range exp {
				for _, y := range ctl {
					switch {
					case x > y:
						above++
					case x == y:
						above += 0.5
					}
				}
			}
			want := above / float64(nSamples*nSamples)
			require.InDelta(t, want, *m.Effect.Superiority, 1e-12)
			t.Logf("factor %g: P(experimental > control) = %.4f, shift %.4g [%.4g, %.4g], %s", tc.factor, want, m.Effect.Estimate, m.Effect.Low, m.Effect.High, m.Result)
			require.Contains(t, m.Reason, fmt.Sprintf("P(experimental > control) = %.2f", want))
			data, err := json.Marshal(m)
			require.NoError(t, err)
			require.Contains(t, string(data), fmt.Sprintf(`"superiority":%v`, *m.Effect.Superiority))
		})
	}
	t.Run("a ratio has none", func(t *testing.T) {
		f := newSource()
		ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 10)
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric)), after)
		require.NoError(t, err)
		require.NotNil(t, v.Metrics[0].Effect)
		require.Nil(t, v.Metrics[0].Effect.Superiority)
	})
}

// A ratio's standardized effect is Cohen's h of the two error ratios,
// 2·asin √p_exp − 2·asin √p_ctl: |h| 0.2 is a small effect, 0.5 a medium
// one, 0.8 a large one; a value metric has none (it has the probability
// of superiority).
func TestJudgeReportsCohensHForRatios(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ctl, exp float64 // errors per second, of 10 requests per second
	}{
		{"an A/A has none", 0.1, 0.1},
		{"1 % to 2 %, a doubling, is less than a small effect", 0.1, 0.2},
		{"1 % to 20 % is a large one", 0.1, 2},
		{"errors down from 5 % to none is negative", 0.5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			ratioData(f, constant(nSamples, tc.ctl), constant(nSamples, tc.exp), 10)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.NotNil(t, m.Effect, m.Reason)
			require.Nil(t, m.Effect.Superiority)
			require.NotNil(t, m.Effect.CohensH)
			// of the counts tested: Σ rate × 15 s over 241 steps, rounded
			phi := func(s verdict.Summary) float64 {
				return 2 * math.Asin(math.Sqrt(math.Round(s.Errors)/math.Round(s.Total)))
			}
			require.InDelta(t, tc.exp*15*float64(nSamples), m.Experimental.Errors, 1e-6)
			want := phi(m.Experimental) - phi(m.Control)
			require.InDelta(t, want, *m.Effect.CohensH, 1e-12)
			t.Logf("%g %% vs %g %%: h = %.4f, %s", 10*tc.exp, 10*tc.ctl, want, m.Result)
			require.Contains(t, m.Reason, fmt.Sprintf("; Cohen's h = %+.2f)", want))
			data, err := json.Marshal(m)
			require.NoError(t, err)
			require.Contains(t, string(data), fmt.Sprintf(`"cohens_h":%v`, *m.Effect.CohensH))
		})
	}
	t.Run("a value metric has none", func(t *testing.T) {
		f := newSource()
		f.Set("latency", chaos.Control, lognormal(1, nSamples, 0.1, 0.3))
		f.Set("latency", chaos.Experimental, lognormal(2, nSamples, 0.1, 0.3))
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric)), after)
		require.NoError(t, err)
		require.NotNil(t, v.Metrics[0].Effect)
		require.Nil(t, v.Metrics[0].Effect.CohensH)
		data, err := json.Marshal(v.Metrics[0])
		require.NoError(t, err)
		require.NotContains(t, string(data), "cohens_h")
	})
}

// Rates so large that their sum overflows to +Inf count nothing: an SLO
// on errors/+Inf = 0 would pass whatever the errors.
func TestJudgeRatioRefusesCountsThatOverflow(t *testing.T) {
	f := newSource()
	ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 1e307)
	sloOnly := `
    - name: error-ratio
      ratio:
        errors: sum(rate(errors_rate{ {{ .Group }} }[1m]))
        total: sum(rate(requests_rate{ {{ .Group }} }[1m]))
      slo: {max: 0.01}
      critical: true`
	v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(sloOnly)), after)
	require.NoError(t, err)
	m := v.Metrics[0]
	require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
	require.Contains(t, m.Reason, "SLO: the experimental group's counts overflow (errors 0, total +Inf): check that the queries are per-second rates")
	require.Equal(t, verdict.Inconclusive, v.Result)
}
