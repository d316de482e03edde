package verdict_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
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

// Every verdict renders as JSON, whatever its numbers: NaN and ±Inf (a
// sum of samples of 1e308 overflows) are null, the largest finite ones
// are written as they are — `--output json` printed nothing for samples
// of 1e308 (issue 13 #10). Every float field is set (the integers stay
// 0), so a field added later is covered too.
func TestEveryVerdictEncodesAsJSONWhateverItsNumbers(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 1e308} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			var v verdict.Verdict
			floats := verdicttest.FillFloats(&v, f)
			require.GreaterOrEqual(t, floats, 18)
			data, err := json.Marshal(v)
			require.NoError(t, err)
			var back any
			require.NoError(t, json.Unmarshal(data, &back))
			written := 0
			var walk func(path string, x any)
			walk = func(path string, x any) {
				switch x := x.(type) {
				case map[string]any:
					for k, y := range x {
						walk(path+"."+k, y)
					}
				case []any:
					for i, y := range x {
						walk(fmt.Sprintf("%s[%d]", path, i), y)
					}
				case float64:
					if x != 0 {
						require.Equal(t, f, x, "%s", path) //nolint:testifylint // exact: the value written
						written++
					}
				}
			}
			walk("", back)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				require.Zero(t, written, "no number written for %v: %s", f, data)
			} else {
				require.Equal(t, floats, written, "every float written: %s", data)
			}
		})
	}
}
