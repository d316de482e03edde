package verdict_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/verdict"
)

// TestAVerdictReadBackFromItsJSONKeepsItsUnknownNumbers: null is NaN, a
// number is itself, and writing what was read gives the same JSON.
func TestAVerdictReadBackFromItsJSONKeepsItsUnknownNumbers(t *testing.T) {
	nan := math.NaN()
	sup := 0.75
	for _, tc := range []struct {
		name  string
		value float64
	}{{"unknown", nan}, {"zero", 0}, {"a number", 0.125}} {
		x := tc.value
		v := verdict.Verdict{
			Hypothesis: "h", Result: verdict.Inconclusive, Score: x,
			Metrics: []verdict.Metric{{
				Name: "m", Weight: x, PValue: x,
				Control:      verdict.Summary{Value: x, Samples: 3},
				Experimental: verdict.Summary{Value: x, Errors: 2, Total: 10},
				Effect:       &verdict.Effect{Estimate: x, Low: x, High: x, Allowed: x, Confidence: x, Superiority: &sup},
			}},
			Recovery: []verdict.Expectation{{Name: "mttr", Observed: x, Bound: x}},
		}
		data, err := json.Marshal(v)
		require.NoError(t, err)
		var got verdict.Verdict
		require.NoError(t, json.Unmarshal(data, &got), tc.name)
		m := got.Metrics[0]
		for field, f := range map[string]float64{
			"score": got.Score, "weight": m.Weight, "p_value": m.PValue,
			"control.value": m.Control.Value, "experimental.value": m.Experimental.Value,
			"effect.estimate": m.Effect.Estimate, "effect.ci_low": m.Effect.Low, "effect.ci_high": m.Effect.High,
			"effect.allowed": m.Effect.Allowed, "effect.confidence": m.Effect.Confidence,
			"recovery.observed": got.Recovery[0].Observed, "recovery.bound": got.Recovery[0].Bound,
		} {
			if math.IsNaN(x) {
				require.True(t, math.IsNaN(f), "%s: %s = %v, want NaN", tc.name, field, f)
			} else {
				require.InDelta(t, x, f, 0, "%s: %s", tc.name, field)
			}
		}
		require.Equal(t, 3, m.Control.Samples)
		require.InDelta(t, 2.0, m.Experimental.Errors, 0)
		require.InDelta(t, 10.0, m.Experimental.Total, 0)
		require.InDelta(t, 0.75, *m.Effect.Superiority, 0)
		require.Nil(t, m.Effect.CohensH)
		again, err := json.Marshal(got)
		require.NoError(t, err)
		require.JSONEq(t, string(data), string(again), tc.name)
	}
	var bad verdict.Verdict
	require.Error(t, json.Unmarshal([]byte(`{"score":"high"}`), &bad))
}
