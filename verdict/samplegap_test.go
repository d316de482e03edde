package verdict_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// without returns xs with no sample at the steps [from, to) (data
// indexes at the 15 s step from base), as when Prometheus has none: its
// scrape target was down.
func without(xs []float64, from, to int) []float64 {
	out := make([]float64, len(xs))
	copy(out, xs)
	for i := from; i < to && i < len(out); i++ {
		out[i] = absent
	}
	return out
}

// at is the data index of the step at base+d.
func at(d time.Duration) int { return int(d / step) }

// The e2e run that found it: Prometheus had no sample of the experimental
// group from the pod deletion until a while later (its scrape target was
// down then), yet the SLO was "100 % met" on the samples around it, with
// MinSamples met over the window. With steadywatch's watch whole, that was
// a PASS on no evidence of the very time the hypothesis is about.
func TestAMetricWithoutSamplesOverTheFaultIsInconclusive(t *testing.T) {
	const eventWindow = `window: {events: {kinds: [pod_deleted], lookback: 2h, before: 5m, after: 15m}}`
	fault := base.Add(20 * time.Minute) // the window is 12:15–12:35
	const (
		sloOnly = `
    - name: ready
      query: min(ready{ {{ .Group }} })
      slo: {min: 0.9}
      critical: true`
		comparedWithSLO = `
    - name: latency
      query: latency{ {{ .Group }} }
      direction: higherIsWorse
      allowedEffect: 20%
      slo: {max: 10}
      critical: true`
	)
	// The scrape target is down from the fault for 5 steps (75 s): the
	// last sample before is at 12:19:45, the next at 12:21:15.
	gapFrom, gapTo := at(20*time.Minute), at(21*time.Minute+15*time.Second)
	lastBefore, nextAfter := fault.Add(-step), base.Add(21*time.Minute+15*time.Second)
	for _, tc := range []struct {
		name   string
		metric string
		data   func(f *verdicttest.Source)
		at     time.Time
		group  chaos.Group
		from   time.Time
		to     time.Time
		reason string
	}{
		{
			name:   "an SLO over an experimental group with no samples over the fault",
			metric: sloOnly,
			data: func(f *verdicttest.Source) {
				f.Set("ready", chaos.Experimental, without(constant(nSamples, 1), gapFrom, gapTo))
			},
			at: after, group: chaos.Experimental, from: lastBefore, to: nextAfter,
			reason: "SLO: no samples of metric ready in the experimental group for 1m30s, 2026-03-01 12:19:45–12:21:15 UTC, more than the 30s allowed (2 steps of 15s): nothing shows how the metric behaved then, so it cannot pass; check that the scrape target and Prometheus were up then (up{…} == 1 over that time); if its series are sampled less often than that, widen the hypothesis's step to their scrape interval (without the gaps: pass, all 76 samples of the experimental group within min 0.9)",
		},
		{
			name:   "a comparison whose control group has no samples over the fault",
			metric: comparedWithSLO,
			data: func(f *verdicttest.Source) {
				aa(f, "latency", 1, 1)
				f.Set("latency", chaos.Control, without(lognormal(1, nSamples, 0.1, 0.3), gapFrom, gapTo))
			},
			at: after, group: chaos.Control, from: lastBefore, to: nextAfter,
			reason: "vs control: no samples of metric latency in the control group for 1m30s, 2026-03-01 12:19:45–12:21:15 UTC, more than the 30s allowed",
		},
		{
			name:   "a ratio whose experimental total has no samples over the fault",
			metric: errorRatioMetric,
			data: func(f *verdicttest.Source) {
				ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 10)
				f.Set("requests_rate", chaos.Experimental, without(constant(nSamples, 10), gapFrom, gapTo))
			},
			at: after, group: chaos.Experimental, from: lastBefore, to: nextAfter,
			reason: "vs control: no samples of metric error-ratio (steps with a finite total and errors) in the experimental group for 1m30s, 2026-03-01 12:19:45–12:21:15 UTC",
		},
		{
			name:   "a ratio whose experimental errors are NaN over the fault",
			metric: errorRatioMetric,
			data: func(f *verdicttest.Source) {
				ratioData(f, constant(nSamples, 0), withNaN(constant(nSamples, 0), func(i int) bool { return i >= gapFrom && i < gapTo }), 10)
			},
			at: after, group: chaos.Experimental, from: lastBefore, to: nextAfter,
			reason: "vs control: no samples of metric error-ratio (steps with a finite total and errors) in the experimental group for 1m30s",
		},
		{
			name:   "an experimental group whose samples stop at the fault, judged while running",
			metric: sloOnly,
			data: func(f *verdicttest.Source) {
				f.Set("ready", chaos.Experimental, without(constant(nSamples, 1), gapFrom, nSamples))
			},
			at: base.Add(25 * time.Minute), group: chaos.Experimental, from: lastBefore, to: base.Add(25 * time.Minute),
			reason: "SLO: no samples of metric ready in the experimental group for 5m15s, 2026-03-01 12:19:45–12:25:00 UTC (to the time of judgement)",
		},
		{
			name:   "an experimental group whose samples stop at the fault, judged after the window",
			metric: sloOnly,
			data: func(f *verdicttest.Source) {
				f.Set("ready", chaos.Experimental, without(constant(nSamples, 1), gapFrom, nSamples))
			},
			at: after, group: chaos.Experimental, from: lastBefore, to: base.Add(35 * time.Minute),
			reason: "SLO: no samples of metric ready in the experimental group for 15m15s, 2026-03-01 12:19:45–12:35:00 UTC (to the window's end)",
		},
		{
			name:   "an experimental group whose samples start after the fault",
			metric: sloOnly,
			data: func(f *verdicttest.Source) {
				f.Set("ready", chaos.Experimental, without(constant(nSamples, 1), 0, gapTo))
			},
			at: after, group: chaos.Experimental, from: base.Add(15 * time.Minute), to: nextAfter,
			reason: "SLO: no samples of metric ready in the experimental group for 6m15s, 2026-03-01 12:15:00–12:21:15 UTC (from the window's start)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tracker.NewMemoryStore()
			require.NoError(t, s.SaveEvent(t.Context(), chaos.Event{
				Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: "shop", Service: "api", Group: chaos.Experimental},
				Object: chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "api-0"}, At: chaos.Timestamp{Observed: fault},
			}))
			f := newSource()
			tc.data(f)
			// steadywatch watched all along: only the samples are missing.
			cov := watched("a", -time.Hour, 2*time.Hour, chaos.SpanStopped, "")
			v, err := newJudge(t, verdict.Options{Samples: f, Store: s, Coverage: cov}).Judge(t.Context(), hyp(t, eventWindow, metrics(tc.metric)), tc.at)
			require.NoError(t, err)
			require.Empty(t, v.Unwatched)
			m := v.Metrics[0]
			require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
			require.Equal(t, verdict.Inconclusive, v.Result, v.Reason)
			require.Contains(t, v.Reason, "no samples of metric")

			require.Len(t, m.SampleGaps, 1, "%+v", m.SampleGaps)
			g := m.SampleGaps[0]
			require.Equal(t, tc.group, g.Group)
			require.Equal(t, tc.from, g.From)
			require.Equal(t, tc.to, g.To)
			require.Contains(t, tc.reason, g.Reason[:40])

			// The JSON of the verdict carries them, and reads back.
			data, err := json.Marshal(v)
			require.NoError(t, err)
			require.Contains(t, string(data), `"sample_gaps":[{"group":"`+string(tc.group)+`"`)
			var back verdict.Verdict
			require.NoError(t, json.Unmarshal(data, &back))
			require.Equal(t, m.SampleGaps, back.Metrics[0].SampleGaps)
		})
	}
}

// The allowance is 2 steps, or 2 scrape intervals if longer: a step left
// out by one lost scrape still judges, one more does not. Both sides of
// the bound, for an absent sample and a NaN one, and with a scrape
// interval given.
func TestASampleGapIsJudgedAgainstItsAllowance(t *testing.T) {
	const sloOnly = `
    - name: ready
      query: min(ready{ {{ .Group }} })
      slo: {min: 0.9}
      critical: true`
	mid := at(30 * time.Minute)
	nan := func(xs []float64, from, to int) []float64 {
		return withNaN(xs, func(i int) bool { return i >= from && i < to })
	}
	for _, tc := range []struct {
		name   string
		data   []float64
		scrape time.Duration
		want   verdict.Result
		reason string
	}{
		{"one step without a sample (30 s between two) judges", without(constant(nSamples, 1), mid, mid+1), 0, verdict.Pass, ""},
		{
			"two steps without a sample (45 s) do not", without(constant(nSamples, 1), mid, mid+2), 0, verdict.Inconclusive,
			"for 45s, 2026-03-01 12:29:45–12:30:30 UTC, more than the 30s allowed (2 steps of 15s)",
		},
		{"one NaN step judges", nan(constant(nSamples, 1), mid, mid+1), 0, verdict.Pass, ""},
		{"two NaN steps do not", nan(constant(nSamples, 1), mid, mid+2), 0, verdict.Inconclusive, "for 45s"},
		{"the first step missing judges", without(constant(nSamples, 1), 0, 1), 0, verdict.Pass, ""},
		{
			"the first two missing and the third too do not", without(constant(nSamples, 1), 0, 3), 0, verdict.Inconclusive,
			"for 45s, 2026-03-01 12:00:00–12:00:45 UTC (from the window's start)",
		},
		// At an edge one lost step is one step without a sample, not
		// two: the allowance between two samples spans the one lost
		// between them.
		{
			"the first two missing do not", without(constant(nSamples, 1), 0, 2), 0, verdict.Inconclusive,
			"for 30s, 2026-03-01 12:00:00–12:00:30 UTC (from the window's start), more than the 15s allowed at an edge (2 steps of 15s between two samples)",
		},
		{"the last step missing judges", without(constant(nSamples, 1), nSamples-1, nSamples), 0, verdict.Pass, ""},
		{
			"the last two missing do not", without(constant(nSamples, 1), nSamples-2, nSamples), 0, verdict.Inconclusive,
			"for 30s, 2026-03-01 12:59:30–13:00:00 UTC (to the window's end), more than the 15s allowed at an edge",
		},
		{
			"the last three missing do not", without(constant(nSamples, 1), nSamples-3, nSamples), 0, verdict.Inconclusive,
			"for 45s, 2026-03-01 12:59:15–13:00:00 UTC (to the window's end)",
		},
		{"at a 1m scrape interval, 7 steps missing (2m between two) judge", without(constant(nSamples, 1), mid, mid+7), time.Minute, verdict.Pass, ""},
		{
			"at a 1m scrape interval, 8 steps missing (2m15s) do not", without(constant(nSamples, 1), mid, mid+8), time.Minute, verdict.Inconclusive,
			"for 2m15s, 2026-03-01 12:29:45–12:32:00 UTC, more than the 2m allowed (2 scrape intervals of 1m)",
		},
		{"a scrape interval shorter than the step does not shorten the allowance", without(constant(nSamples, 1), mid, mid+1), time.Second, verdict.Pass, ""},
		{
			"nor lengthen it", without(constant(nSamples, 1), mid, mid+2), time.Second, verdict.Inconclusive,
			"more than the 30s allowed (2 steps of 15s, the scrape interval being 1s)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			f.Set("ready", chaos.Experimental, tc.data)
			v, err := newJudge(t, verdict.Options{Samples: f, ScrapeInterval: tc.scrape}).Judge(t.Context(), hyp(t, fixedWindow, metrics(sloOnly)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Equal(t, tc.want, v.Result, v.Reason)
			if tc.want == verdict.Pass {
				require.Empty(t, m.SampleGaps)
				return
			}
			require.Contains(t, m.Reason, tc.reason)
			require.Len(t, m.SampleGaps, 1)
		})
	}
	t.Run("a negative scrape interval is refused", func(t *testing.T) {
		_, err := verdict.New(verdict.Options{Samples: newSource(), ScrapeInterval: -time.Second})
		require.EqualError(t, err, "verdict: Options.ScrapeInterval -1s: must be ≥ 0")
	})
}

// A failure the samples show stands over a gap elsewhere (it was seen), as
// a failure seen stands over unwatched time, and a hard bound's abort is
// not held back by Prometheus missing a while: a gap only keeps a pass from
// being one.
func TestAnSLOViolationSeenStandsOverASampleGap(t *testing.T) {
	const sloOnly = `
    - name: ready
      query: min(ready{ {{ .Group }} })
      slo: {min: 0.9}
      critical: true`
	f := newSource()
	f.Set("ready", chaos.Experimental, without(constant(nSamples, 0.5), at(30*time.Minute), at(35*time.Minute)))
	v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(sloOnly)), after)
	require.NoError(t, err)
	m := v.Metrics[0]
	require.Equal(t, verdict.Fail, m.Result, m.Reason)
	require.Contains(t, m.Reason, "more than the tolerance of 5 %")
	require.Contains(t, m.Reason, "(and no samples of metric ready in the experimental group for 5m15s")
	require.Len(t, m.SampleGaps, 1)
	require.Equal(t, verdict.Fail, v.Result, v.Reason)
}
