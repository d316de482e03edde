package verdict_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// A range selector answers over a scrape gap from the samples before it:
// the rate of a counter whose target a fault took down goes on, the answer
// has no hole, and the verdict passed on the samples from before the
// fault. The raw samples under it have the hole: that is a gap, with the
// family's selector, and a would-be pass is inconclusive. Both sides of
// the allowance, a family that never existed, and a failure that stands.
func TestARangeSelectorBridgingAScrapeGapCannotPass(t *testing.T) {
	const served = `
    - name: served
      query: sum(rate(served_total{ {{ .Group }} }[5m]))
      slo: {min: 0.5}
      critical: true`
	mid := at(30 * time.Minute)
	for _, tc := range []struct {
		name   string
		metric string
		data   func(f *verdicttest.Source)
		want   verdict.Result
		reason string
		series string
		from   time.Time
		to     time.Time
	}{
		{
			name: "the raw series of the rate down for 5 steps, the answer bridged", metric: served,
			data: func(f *verdicttest.Source) {
				f.Set("served_total", chaos.Experimental, constant(nSamples, 1))
				f.SetRaw("served_total", chaos.Experimental, without(constant(nSamples, 1), mid, mid+5))
			},
			want:   verdict.Inconclusive,
			reason: `SLO: no raw samples of served_total{group="experimental"} (read by metric served's query) in the experimental group for 1m30s, 2026-03-01 12:29:45–12:31:15 UTC, more than the 30s allowed (2 steps of 15s); the query answered over it from older samples (its range selector or subquery bridges a scrape gap): nothing shows how the metric behaved then, so it cannot pass`,
			series: `served_total{group="experimental"}`, from: base.Add(29*time.Minute + 45*time.Second), to: base.Add(31*time.Minute + 15*time.Second),
		},
		{
			name: "one raw step lost, within the allowance", metric: served,
			data: func(f *verdicttest.Source) {
				f.Set("served_total", chaos.Experimental, constant(nSamples, 1))
				f.SetRaw("served_total", chaos.Experimental, without(constant(nSamples, 1), mid, mid+1))
			},
			want: verdict.Pass,
		},
		{
			name: "two raw steps lost, just over it", metric: served,
			data: func(f *verdicttest.Source) {
				f.Set("served_total", chaos.Experimental, constant(nSamples, 1))
				f.SetRaw("served_total", chaos.Experimental, without(constant(nSamples, 1), mid, mid+2))
			},
			want: verdict.Inconclusive, reason: "for 45s, 2026-03-01 12:29:45–12:30:30 UTC, more than the 30s allowed",
			series: `served_total{group="experimental"}`, from: base.Add(29*time.Minute + 45*time.Second), to: base.Add(30*time.Minute + 30*time.Second),
		},
		{
			name: "no raw sample in the whole window, the answer all memory", metric: served,
			data: func(f *verdicttest.Source) {
				f.Set("served_total", chaos.Experimental, constant(nSamples, 1))
				f.SetRaw("served_total", chaos.Experimental)
			},
			want:   verdict.Inconclusive,
			reason: `no raw samples of served_total{group="experimental"} (read by metric served's query) in the experimental group at all, 2026-03-01 12:00:00–13:00:00 UTC, though the query answered`,
			series: `served_total{group="experimental"}`, from: base, to: winEnd,
		},
		{
			name: "a failure over the hole stands", metric: served,
			data: func(f *verdicttest.Source) {
				f.Set("served_total", chaos.Experimental, constant(nSamples, 0.1))
				f.SetRaw("served_total", chaos.Experimental, without(constant(nSamples, 1), mid, mid+5))
			},
			want: verdict.Fail, reason: "(and no raw samples of served_total",
			series: `served_total{group="experimental"}`, from: base.Add(29*time.Minute + 45*time.Second), to: base.Add(31*time.Minute + 15*time.Second),
		},
		{
			name: "a ratio's error family that never existed is no gap", metric: errorRatioMetric,
			data: func(f *verdicttest.Source) {
				ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 10)
				f.SetRaw("errors_rate", chaos.Experimental)
				f.SetRaw("errors_rate", chaos.Control)
			},
			want: verdict.Pass,
		},
		{
			name: "a ratio's total bridged over the control's hole", metric: errorRatioMetric,
			data: func(f *verdicttest.Source) {
				ratioData(f, constant(nSamples, 0), constant(nSamples, 0), 10)
				f.SetRaw("requests_rate", chaos.Control, without(constant(nSamples, 10), mid, mid+5))
			},
			want:   verdict.Inconclusive,
			reason: `vs control: no raw samples of requests_rate{group="control"} (read by metric error-ratio's query) in the control group for 1m30s`,
			series: `requests_rate{group="control"}`, from: base.Add(29*time.Minute + 45*time.Second), to: base.Add(31*time.Minute + 15*time.Second),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			tc.data(f)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(tc.metric)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			if tc.want != verdict.Fail {
				require.Equal(t, tc.want, v.Result, v.Reason)
			}
			if tc.series == "" {
				require.Empty(t, m.SampleGaps)
				return
			}
			require.Contains(t, m.Reason, tc.reason)
			require.Len(t, m.SampleGaps, 1, "%+v", m.SampleGaps)
			g := m.SampleGaps[0]
			require.Equal(t, tc.series, g.Series)
			require.Equal(t, tc.from, g.From)
			require.Equal(t, tc.to, g.To)
		})
	}
}

// A family with no raw sample in the window is left out only if it had
// none in the lookback before it either (it did not exist): one that
// stopped just before the window is what the answer read, so the window
// is all memory of it.
func TestAFamilyThatStoppedJustBeforeTheWindowIsAGapOverIt(t *testing.T) {
	const twoFamilies = `
    - name: per-request
      query: sum(rate(served_total{ {{ .Group }} }[5m])) / sum(rate(requests_total{ {{ .Group }} }[5m]))
      slo: {min: 0.5}
      critical: true`
	const laterWindow = `window: {fixed: {start: 2026-03-01T12:10:00Z, end: 2026-03-01T13:00:00Z}}`
	winStart := base.Add(10 * time.Minute)
	for _, tc := range []struct {
		name     string
		requests []float64 // requests_total's raw samples
		want     verdict.Result
	}{
		{"it stopped 30 s before the window", without(constant(nSamples, 1), at(10*time.Minute-30*time.Second), nSamples), verdict.Inconclusive},
		{"it never existed", without(constant(nSamples, 1), 0, nSamples), verdict.Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			f.Set("served_total", chaos.Experimental, constant(nSamples, 1))
			f.SetRaw("requests_total", chaos.Experimental, tc.requests)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, laterWindow, metrics(twoFamilies)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			if tc.want == verdict.Pass {
				require.Empty(t, m.SampleGaps)
				return
			}
			require.Len(t, m.SampleGaps, 1, "%+v", m.SampleGaps)
			g := m.SampleGaps[0]
			require.Equal(t, `requests_total{group="experimental"}`, g.Series)
			require.Equal(t, winStart, g.From)
			require.Equal(t, winEnd, g.To)
			require.Contains(t, m.Reason, "though it had some just before")
		})
	}
}
