package verdict_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// A group whose samples cannot be judged says what they are: "all NaN"
// only when every one is NaN, "all NaN or infinite" when some (or all)
// are ±Inf — a query that divides by zero gives ±Inf, one over a series
// with no data NaN, and the user looks for different mistakes.
func TestJudgeSaysWhetherSamplesAreNaNOrInfinite(t *testing.T) {
	half := func(a, b float64) []float64 {
		xs := constant(nSamples, a)
		for i := range xs {
			if i%2 == 1 {
				xs[i] = b
			}
		}
		return xs
	}
	const (
		allNaN      = "no data for the experimental group: its 241 samples are all NaN"
		nanOrInf    = "no data for the experimental group: its 241 samples are all NaN or infinite"
		aggregateOn = "\n      aggregate: sum"
	)
	for _, tc := range []struct {
		name   string
		agg    string
		data   func(f *verdicttest.Source)
		reason string
	}{
		{
			name:   "all NaN",
			data:   func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, constant(nSamples, math.NaN())) },
			reason: allNaN,
		},
		{
			name:   "all +Inf",
			data:   func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, constant(nSamples, math.Inf(1))) },
			reason: nanOrInf,
		},
		{
			name:   "all -Inf",
			data:   func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, constant(nSamples, math.Inf(-1))) },
			reason: nanOrInf,
		},
		{
			name:   "NaN and +Inf mixed",
			data:   func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, half(math.NaN(), math.Inf(1))) },
			reason: nanOrInf,
		},
		{
			name: "summed with a series that is all +Inf",
			agg:  aggregateOn,
			data: func(f *verdicttest.Source) {
				f.Set("latency", chaos.Experimental, constant(nSamples, math.Inf(1)), lognormal(2, nSamples, 0.1, 0.3))
			},
			reason: nanOrInf,
		},
		{
			name: "summed with a series that is all NaN",
			agg:  aggregateOn,
			data: func(f *verdicttest.Source) {
				f.Set("latency", chaos.Experimental, constant(nSamples, math.NaN()), lognormal(2, nSamples, 0.1, 0.3))
			},
			reason: allNaN,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			f.Set("latency", chaos.Control, lognormal(1, nSamples, 0.1, 0.3))
			tc.data(f)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric+tc.agg)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			if tc.reason == allNaN {
				require.NotContains(t, m.Reason, "infinite")
			}
			require.Equal(t, nSamples, m.Experimental.NaNs)
		})
	}

	const (
		totalNaN      = "no data for the experimental group: the total query's 241 samples are all NaN"
		totalNaNOrInf = "no data for the experimental group: the total query's 241 samples are all NaN or infinite"
		errsNaN       = "no data for the experimental group: the errors query's 241 samples are all NaN; check that the errors query divides nothing by zero"
		errsNaNOrInf  = "no data for the experimental group: the errors query's 241 samples are all NaN or infinite; check that the errors query divides nothing by zero"
	)
	for _, tc := range []struct {
		name        string
		total, errs []float64
		reason      string
	}{
		{"a total all NaN", constant(nSamples, math.NaN()), constant(nSamples, 0), totalNaN},
		{"a total all +Inf", constant(nSamples, math.Inf(1)), constant(nSamples, 0), totalNaNOrInf},
		{"a total NaN and +Inf", half(math.NaN(), math.Inf(1)), constant(nSamples, 0), totalNaNOrInf},
		{"errors all NaN", constant(nSamples, 10), constant(nSamples, math.NaN()), errsNaN},
		{"errors all -Inf", constant(nSamples, 10), constant(nSamples, math.Inf(-1)), errsNaNOrInf},
		{"errors NaN and +Inf", constant(nSamples, 10), half(math.Inf(1), math.NaN()), errsNaNOrInf},
	} {
		t.Run("ratio: "+tc.name, func(t *testing.T) {
			f := newSource()
			ratioData(f, constant(nSamples, 0), tc.errs, 10)
			f.Set("requests_rate", chaos.Experimental, tc.total)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			if tc.reason == totalNaN || tc.reason == errsNaN {
				require.NotContains(t, m.Reason, "infinite")
			}
		})
	}
}
