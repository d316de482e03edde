package verdict_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/verdict"
)

// judgement is the default judgement with minJudged set.
func judgement(minJudged float64) *hypothesis.Hypothesis {
	return &hypothesis.Hypothesis{Judgement: hypothesis.Judgement{
		Confidence:    hypothesis.DefaultConfidence,
		PassScore:     hypothesis.DefaultPassScore,
		MarginalScore: hypothesis.DefaultMarginalScore,
		MinJudged:     minJudged,
	}}
}

// A critical metric is one the hypothesis says must hold: when it cannot be
// judged (its errors all NaN, its query empty), the others passing is no
// evidence that it held — found by an audit: three passing metrics beside a
// critical error ratio whose errors were all NaN, minJudged 0.75, passed.
func TestACriticalMetricThatCannotBeJudgedIsNeverAPass(t *testing.T) {
	metrics := []verdict.Metric{
		{Name: "latency", Result: verdict.Pass, Weight: 1},
		{Name: "lat2", Result: verdict.Pass, Weight: 1},
		{Name: "lat3", Result: verdict.Pass, Weight: 1},
		{Name: "error-ratio", Result: verdict.Inconclusive, Critical: true, Weight: 1, Reason: "experimental group: errors all NaN or infinite"},
	}
	result, _, reason := verdict.Overall(judgement(0.75), metrics, nil)
	require.Equal(t, verdict.Inconclusive, result, reason)
	require.Equal(t, "critical metric error-ratio could not be judged: experimental group: errors all NaN or infinite", reason)

	// The same metric not critical: 75 % of the weight was judged and
	// passed, which minJudged 0.75 accepts — the bound from both sides.
	metrics[3].Critical = false
	result, _, reason = verdict.Overall(judgement(0.75), metrics, nil)
	require.Equal(t, verdict.Pass, result, reason)
	result, _, reason = verdict.Overall(judgement(0.76), metrics, nil)
	require.Equal(t, verdict.Inconclusive, result, reason)
}

// Over random sets of metrics and judgements: no verdict passes while a
// critical metric is inconclusive, and a critical failure always fails.
func TestOverallNeverPassesWithoutEveryCriticalMetric(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	results := []verdict.Result{verdict.Pass, verdict.Fail, verdict.High, verdict.Low, verdict.Inconclusive}
	for i := range 5000 {
		n := 1 + rng.IntN(6)
		metrics := make([]verdict.Metric, n)
		criticalUnjudged, criticalFailed := false, false
		for k := range metrics {
			m := verdict.Metric{
				Name:     fmt.Sprintf("m%d", k),
				Result:   results[rng.IntN(len(results))],
				Critical: rng.IntN(3) == 0,
				Weight:   float64(1 + rng.IntN(4)),
			}
			criticalUnjudged = criticalUnjudged || m.Critical && m.Result == verdict.Inconclusive
			criticalFailed = criticalFailed || m.Critical && m.Result != verdict.Pass && m.Result != verdict.Inconclusive
			metrics[k] = m
		}
		h := judgement(float64(rng.IntN(101)) / 100)
		result, _, reason := verdict.Overall(h, metrics, nil)
		if criticalFailed {
			require.Equal(t, verdict.Fail, result, "case %d: %+v: %s", i, metrics, reason)
			continue
		}
		if criticalUnjudged {
			require.NotEqual(t, verdict.Pass, result, "case %d: %+v, minJudged %g: %s", i, metrics, h.Judgement.MinJudged, reason)
		}
	}
}
