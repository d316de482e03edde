package verdict_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/verdict"
)

func TestVerdictsWithNaNsEncodeAsJSONWithNulls(t *testing.T) {
	v := verdict.Verdict{
		Hypothesis: "h", At: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), Result: verdict.Inconclusive,
		Reason: "no data", Score: math.NaN(),
		Metrics: []verdict.Metric{{
			Name: "latency", Result: verdict.Inconclusive, PValue: math.NaN(),
			Control:      verdict.Summary{Value: math.NaN()},
			Experimental: verdict.Summary{Samples: 3, Value: 0.25},
			Effect:       &verdict.Effect{Estimate: 0.1, Low: math.Inf(-1), High: math.NaN(), Allowed: 0.05, Confidence: 0.98},
		}},
		Recovery: []verdict.Expectation{{Name: "mttr", Result: verdict.Inconclusive, Observed: math.NaN(), Bound: 120}},
	}
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	require.Nil(t, got["score"])
	require.Equal(t, "h", got["hypothesis"])
	m := got["metrics"].([]any)[0].(map[string]any)
	require.Nil(t, m["p_value"])
	require.Nil(t, m["control"].(map[string]any)["value"])
	require.InDelta(t, 0.25, m["experimental"].(map[string]any)["value"], 0)
	e := m["effect"].(map[string]any)
	require.Nil(t, e["ci_low"])
	require.Nil(t, e["ci_high"])
	require.InDelta(t, 0.1, e["estimate"], 0)
	r := got["recovery"].([]any)[0].(map[string]any)
	require.Nil(t, r["observed_seconds"])
	require.InDelta(t, 120.0, r["bound_seconds"], 0)
}
