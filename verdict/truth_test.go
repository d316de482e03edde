package verdict_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
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
			f := newFakeProm()
			f.set("latency", chaos.Control, lognormal(1, 41, 0.1, 0.3))
			f.set("latency", chaos.Experimental, scaled(lognormal(2, 41, 0.1, 0.3), tc.factor))
			j := newJudge(t, verdict.Options{Prometheus: f, MinSamples: tc.minSamples})
			v, err := j.Judge(t.Context(), hyp(t, tenMinutes, metrics(tc.metric)), base.Add(time.Hour))
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			require.NotEqual(t, verdict.Pass, v.Result, v.Reason)
		})
	}
}
