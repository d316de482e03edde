package verdict_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

const (
	latencyMetric = `
    - name: latency
      query: latency{ {{ .Group }} }
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true`
	throughputMetric = `
    - name: throughput
      query: sum(throughput{ {{ .Group }} })
      direction: lowerIsWorse
      allowedEffect: 20%`
	queueMetric = `
    - name: queue
      query: queue{ {{ .Group }} }
      direction: either
      allowedEffect: 20%`
	errorRatioMetric = `
    - name: error-ratio
      ratio:
        errors: sum(rate(errors_rate{ {{ .Group }} }[1m]))
        total: sum(rate(requests_rate{ {{ .Group }} }[1m]))
      direction: higherIsWorse
      allowedEffect: 50%
      critical: true`
)

func metrics(ms ...string) string {
	out := "  metrics:"
	for _, m := range ms {
		out += m
	}
	return out + "\n"
}

func newJudge(t testing.TB, o verdict.Options) *verdict.Judge {
	t.Helper()
	j, err := verdict.New(o)
	require.NoError(t, err)
	return j
}

// aa registers the same lognormal distribution, from different seeds, for
// both groups of name, the experiment's scaled by factor.
func aa(f *verdicttest.Source, name string, seed uint64, factor float64) {
	f.Set(name, chaos.Control, lognormal(seed, nSamples, 0.1, 0.3))
	f.Set(name, chaos.Experimental, scaled(lognormal(seed+1, nSamples, 0.1, 0.3), factor))
}

func TestJudgeComparesTheGroups(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   string
		data   func(f *verdicttest.Source)
		want   verdict.Result
		reason string
		// metric is the first metric's result and a part of its reason.
		metric       verdict.Result
		metricReason string
	}{
		{
			name: "an A/A latency passes",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) { aa(f, "latency", 1, 1) },
			want: verdict.Pass, reason: "score 100 at or above the pass score 95",
			metric: verdict.Pass, metricReason: "no significant change",
		},
		{
			name: "a latency 50 % higher in the experiment fails high, critically",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) { aa(f, "latency", 1, 1.5) },
			want: verdict.Fail, reason: "critical metric latency failed (high)",
			metric: verdict.High, metricReason: "exceeds the allowed",
		},
		{
			name: "a latency 10 % higher passes an allowance of 20 %",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) {
				f.Set("latency", chaos.Control, constant(nSamples, 0.1))
				f.Set("latency", chaos.Experimental, constant(nSamples, 0.11))
			},
			want: verdict.Pass, metric: verdict.Pass, metricReason: "within the allowed 0.02",
		},
		{
			name: "a lower latency passes a metric where higher is worse",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) { aa(f, "latency", 1, 0.5) },
			want: verdict.Pass, metric: verdict.Pass, metricReason: "only increases are harmful",
		},
		{
			name: "a throughput 50 % lower fails low",
			spec: metrics(throughputMetric),
			data: func(f *verdicttest.Source) { aa(f, "throughput", 3, 0.5) },
			want: verdict.Fail, reason: "score 0 below the marginal score 75: throughput failed",
			metric: verdict.Low,
		},
		{
			name: "a throughput 50 % higher passes a metric where lower is worse",
			spec: metrics(throughputMetric),
			data: func(f *verdicttest.Source) { aa(f, "throughput", 3, 1.5) },
			want: verdict.Pass, metric: verdict.Pass,
		},
		{
			name: "either direction fails high",
			spec: metrics(queueMetric),
			data: func(f *verdicttest.Source) { aa(f, "queue", 5, 1.5) },
			want: verdict.Fail, metric: verdict.High,
		},
		{
			name: "either direction fails low",
			spec: metrics(queueMetric),
			data: func(f *verdicttest.Source) { aa(f, "queue", 5, 0.5) },
			want: verdict.Fail, metric: verdict.Low,
		},
		{
			name: "a queue growing from a control at 0 is inconclusive: 20 % of 0 cannot size it",
			spec: metrics(queueMetric),
			data: func(f *verdicttest.Source) {
				f.Set("queue", chaos.Control, constant(nSamples, 0))
				f.Set("queue", chaos.Experimental, lognormal(1, nSamples, 5, 0.3))
			},
			want: verdict.Inconclusive, metric: verdict.Inconclusive,
			metricReason: "but the control's location is 0: a relative allowance of 0.2 cannot size it",
		},
		{
			name: "series are aggregated as the metric says, and counted",
			spec: metrics(latencyMetric + "\n      aggregate: avg"),
			data: func(f *verdicttest.Source) {
				f.Set("latency", chaos.Control, lognormal(7, nSamples, 0.1, 0.3), lognormal(8, nSamples, 0.1, 0.3))
				f.Set("latency", chaos.Experimental, lognormal(9, nSamples, 0.1, 0.3), lognormal(10, nSamples, 0.1, 0.3), lognormal(11, nSamples, 0.1, 0.3))
			},
			want: verdict.Pass, metric: verdict.Pass,
		},
		{
			name: "a failed query is inconclusive, with the source's error",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) {
				aa(f, "latency", 1, 1)
				f.Fail("latency", chaos.Control, errors.New("query failed: the source is down"))
			},
			want: verdict.Inconclusive, reason: "only 0 % of the metrics' weight could be judged",
			metric: verdict.Inconclusive, metricReason: "vs control: control group: query failed: the source is down",
		},
		{
			name: "an empty result is inconclusive",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) { f.Set("latency", chaos.Control, lognormal(1, nSamples, 0.1, 0.3)) },
			want: verdict.Inconclusive, metric: verdict.Inconclusive,
			metricReason: "no data for the experimental group: the query returned no series",
		},
		{
			name: "a control group without data is inconclusive",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, lognormal(1, nSamples, 0.1, 0.3)) },
			want: verdict.Inconclusive, metric: verdict.Inconclusive,
			metricReason: "no data for the control group: the query returned no series",
		},
		{
			name: "NaN samples only are inconclusive",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) {
				f.Set("latency", chaos.Control, lognormal(1, nSamples, 0.1, 0.3))
				f.Set("latency", chaos.Experimental, constant(nSamples, math.NaN()))
			},
			want: verdict.Inconclusive, metric: verdict.Inconclusive,
			metricReason: "no data for the experimental group: its 241 samples are all NaN",
		},
		{
			name: "too few samples are inconclusive",
			spec: metrics(latencyMetric),
			data: func(f *verdicttest.Source) {
				f.Set("latency", chaos.Control, lognormal(1, 9, 0.1, 0.3))
				f.Set("latency", chaos.Experimental, lognormal(2, nSamples, 0.1, 0.3))
			},
			want: verdict.Inconclusive, metric: verdict.Inconclusive,
			metricReason: "too few samples in the control group: 9 (fewer than 10)",
		},
		{
			name: "an error ratio up from a control without errors fails",
			spec: metrics(errorRatioMetric),
			data: func(f *verdicttest.Source) {
				f.Set("requests_rate", chaos.Control, constant(nSamples, 20))
				f.Set("requests_rate", chaos.Experimental, constant(nSamples, 20))
				f.Set("errors_rate", chaos.Experimental, constant(nSamples, 0.6))
			},
			want: verdict.Fail, reason: "critical metric error-ratio failed (high)",
			metric: verdict.High, metricReason: "2169 of 72300 vs 0 of 72300: significant increase of 0.03 exceeds the allowed 5.4",
		},
		{
			name: "one error against a control without errors passes",
			spec: metrics(errorRatioMetric),
			data: func(f *verdicttest.Source) {
				f.Set("requests_rate", chaos.Control, constant(nSamples, 20))
				f.Set("requests_rate", chaos.Experimental, constant(nSamples, 20))
				one := constant(nSamples, 0)
				one[100] = 1.0 / 15
				f.Set("errors_rate", chaos.Experimental, one)
			},
			want: verdict.Pass, metric: verdict.Pass,
			metricReason: "1 of 72300 vs 0 of 72300: no significant change",
		},
		{
			name: "equal error ratios pass",
			spec: metrics(errorRatioMetric),
			data: func(f *verdicttest.Source) {
				for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
					f.Set("requests_rate", g, constant(nSamples, 20))
					f.Set("errors_rate", g, constant(nSamples, 0.2))
				}
			},
			want: verdict.Pass, metric: verdict.Pass, metricReason: "723 of 72300 vs 723 of 72300",
		},
		{
			name: "an error ratio without traffic is inconclusive",
			spec: metrics(errorRatioMetric),
			data: func(f *verdicttest.Source) {
				f.Set("requests_rate", chaos.Control, constant(nSamples, 20))
				f.Set("requests_rate", chaos.Experimental, constant(nSamples, 0))
			},
			want: verdict.Inconclusive, metric: verdict.Inconclusive,
			metricReason: "too little traffic in the experimental group (0 < minTotal 100)",
		},
		{
			name: "an error ratio without its total is inconclusive",
			spec: metrics(errorRatioMetric),
			data: func(f *verdicttest.Source) {
				f.Set("requests_rate", chaos.Control, constant(nSamples, 20))
				f.Set("errors_rate", chaos.Experimental, constant(nSamples, 1))
			},
			want: verdict.Inconclusive, metric: verdict.Inconclusive,
			metricReason: "no data for the experimental group: the total query returned no series",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			tc.data(f)
			j := newJudge(t, verdict.Options{Samples: f})
			v, err := j.Judge(t.Context(), hyp(t, fixedWindow, tc.spec), after)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Result, v.Reason)
			require.Contains(t, v.Reason, tc.reason)
			require.False(t, v.Running)
			require.Len(t, v.Metrics, 1)
			m := v.Metrics[0]
			require.Equal(t, tc.metric, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.metricReason)
			if m.Result == verdict.Inconclusive {
				require.Truef(t, math.IsNaN(v.Score), "score %v", v.Score)
			}
		})
	}
}

func TestJudgeSummarisesEachGroup(t *testing.T) {
	f := newSource()
	ctl := lognormal(1, nSamples, 0.1, 0.3)
	ctl[3], ctl[4] = math.NaN(), math.Inf(1)
	f.Set("latency", chaos.Control, ctl, lognormal(2, 100, 0.1, 0.3))
	f.Set("latency", chaos.Experimental, constant(nSamples, 0.2))
	v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric+"\n      aggregate: avg")), after)
	require.NoError(t, err)
	m := v.Metrics[0]
	// averaged step by step; the steps with a NaN or +Inf are dropped
	require.Equal(t, verdict.Summary{Samples: nSamples - 2, NaNs: 2, Series: 2, Value: m.Control.Value}, m.Control)
	require.InDelta(t, 0.1, m.Control.Value, 0.01)
	require.Equal(t, verdict.Summary{Samples: nSamples, Series: 1, Value: 0.2}, m.Experimental)
	require.NotNil(t, m.Effect)
	require.InDelta(t, 0.1, m.Effect.Estimate, 0.01)
	require.Less(t, m.Effect.Low, m.Effect.Estimate)
	require.Greater(t, m.Effect.High, m.Effect.Estimate)
	require.InDelta(t, 0.2*m.Control.Value, m.Effect.Allowed, 1e-12)
	require.InDelta(t, 0.98, m.Effect.Confidence, 0)
	require.Less(t, m.PValue, 1e-10)
	require.Equal(t, verdict.High, m.Result)
}

func TestJudgeRatioCountsRatesTimesTheStep(t *testing.T) {
	f := newSource()
	f.Set("requests_rate", chaos.Control, constant(nSamples, 10), constant(nSamples, 10))
	f.Set("requests_rate", chaos.Experimental, constant(nSamples, 20))
	f.Set("errors_rate", chaos.Control, constant(nSamples, 0.2))
	errs := constant(nSamples, 0.2)
	errs[0] = math.NaN()
	f.Set("errors_rate", chaos.Experimental, errs)
	v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(errorRatioMetric+"\n      aggregate: sum")), after)
	require.NoError(t, err)
	m := v.Metrics[0]
	require.Equal(t, nSamples, m.Control.Samples)
	require.Equal(t, 2, m.Control.Series)
	require.InDelta(t, 0.01, m.Control.Value, 1e-12)
	require.InDelta(t, 723, m.Control.Errors, 1e-9)
	require.InDelta(t, 72300, m.Control.Total, 1e-9)
	// the step whose errors are NaN leaves the total too
	require.Equal(t, 1, m.Experimental.NaNs)
	require.InDelta(t, 720, m.Experimental.Errors, 1e-9)
	require.InDelta(t, 72000, m.Experimental.Total, 1e-9)
	require.Equal(t, verdict.Pass, m.Result, m.Reason)
	require.NotNil(t, m.Effect)
	// The control's ratio of 1 % is resolvable: the relative allowance
	// rules, 50 % of it.
	require.InDelta(t, 0.005, m.Effect.Allowed, 1e-12)
}

func TestJudgeWindows(t *testing.T) {
	const eventWindow = `window: {events: {kinds: [pod_deleted], lookback: 2h, before: 5m, after: 15m}}`
	data := func() *verdicttest.Source {
		f := newSource()
		aa(f, "latency", 1, 1)
		return f
	}
	event := func(kind chaos.Kind, ns string, g chaos.Group, at time.Time) chaos.Event {
		return chaos.Event{
			Kind: kind, Subject: chaos.Subject{Namespace: ns, Service: "api", Group: g},
			Object: chaos.Ref{Kind: "Pod", Namespace: ns, Name: "api-0"}, At: chaos.Timestamp{Observed: at},
		}
	}

	t.Run("an event window without a store is inconclusive, and so is every metric and expectation", func(t *testing.T) {
		h := hyp(t, eventWindow, metrics(latencyMetric)+"  recovery: {mttr: 3m, hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}}\n")
		v, err := newJudge(t, verdict.Options{Samples: data()}).Judge(t.Context(), h, after)
		require.NoError(t, err)
		require.Equal(t, verdict.Inconclusive, v.Result)
		const why = "no store: the window is defined by chaos events, and there is no store of them: give steadywatch verdict --store or --data-dir (serve judges with its own)"
		require.Equal(t, why, v.Reason)
		require.Equal(t, verdict.Inconclusive, v.Metrics[0].Result)
		require.Equal(t, why, v.Metrics[0].Reason)
		require.True(t, math.IsNaN(v.Score))
		var names []string
		for _, x := range v.Recovery {
			names = append(names, x.Name)
			require.Equal(t, verdict.Inconclusive, x.Result)
			require.Equal(t, why, x.Reason)
		}
		require.Equal(t, []string{"mttr", "hpa/api", "hpa/api/baseline"}, names)
	})

	t.Run("an event window without matching events is inconclusive", func(t *testing.T) {
		s := tracker.NewMemoryStore()
		for _, e := range []chaos.Event{
			event(chaos.PodDeleted, "shop", chaos.Control, base.Add(10*time.Minute)),
			event(chaos.PodDeleted, "other", chaos.Experimental, base.Add(10*time.Minute)),
			event(chaos.NodeNotReady, "shop", chaos.Experimental, base.Add(10*time.Minute)),
			event(chaos.PodDeleted, "shop", chaos.Experimental, base.Add(-3*time.Hour)),
		} {
			require.NoError(t, s.SaveEvent(t.Context(), e))
		}
		j := newJudge(t, verdict.Options{Samples: data(), Store: s})
		v, err := j.Judge(t.Context(), hyp(t, eventWindow, metrics(latencyMetric)), after)
		require.NoError(t, err)
		require.Equal(t, verdict.Inconclusive, v.Result)
		require.Equal(t, "no chaos events (pod_deleted) of service api in namespace shop in the experimental group in the 2h0m0s before 2026-03-01T13:01:00Z", v.Reason)
	})

	t.Run("an event window spans the events with its margins, and is running until its end", func(t *testing.T) {
		s := tracker.NewMemoryStore()
		require.NoError(t, s.SaveEvent(t.Context(), event(chaos.PodDeleted, "shop", chaos.Experimental, base.Add(20*time.Minute))))
		require.NoError(t, s.SaveEvent(t.Context(), event(chaos.PodDeleted, "shop", chaos.Experimental, base.Add(30*time.Minute))))
		f := data()
		j := newJudge(t, verdict.Options{Samples: f, Store: s})
		at := base.Add(40 * time.Minute)
		v, err := j.Judge(t.Context(), hyp(t, eventWindow, metrics(latencyMetric)), at)
		require.NoError(t, err)
		require.Equal(t, hypothesis.Span{
			Start: base.Add(15 * time.Minute), End: base.Add(45 * time.Minute),
			ChaosStart: base.Add(20 * time.Minute), ChaosEnd: base.Add(30 * time.Minute),
		}, v.Window)
		require.True(t, v.Running)
		require.Equal(t, verdict.Pass, v.Result, v.Reason)
		for _, r := range f.Queries() {
			// The check of the raw samples reads the 5 minutes the answer
			// looks back too; the targets that fed a family are asked
			// once, at the end.
			from := base.Add(15 * time.Minute)
			switch {
			case strings.HasPrefix(r.Expr, verdicttest.RawPrefix):
				from = from.Add(-5 * time.Minute)
			case strings.HasPrefix(r.Expr, verdicttest.TargetsPrefix):
				from = at
			}
			require.Equal(t, verdict.RangeQuery{Expr: r.Expr, Start: from, End: at, Step: step}, r)
		}
		require.Equal(t, 101, v.Metrics[0].Control.Samples)
	})

	t.Run("a window that has not started is inconclusive", func(t *testing.T) {
		f := data()
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric)), base.Add(-time.Minute))
		require.NoError(t, err)
		require.Equal(t, verdict.Inconclusive, v.Result)
		require.Equal(t, "the window starts at 2026-03-01T12:00:00Z, after the time of judgement", v.Reason)
		require.True(t, v.Running)
		require.Empty(t, f.Queries())
	})

	t.Run("a long window is asked for whole, and judged on all its samples", func(t *testing.T) {
		f := newSource()
		n := 30_000
		f.Set("latency", chaos.Control, lognormal(1, n, 0.1, 0.3))
		f.Set("latency", chaos.Experimental, lognormal(2, n, 0.1, 0.3))
		long := `window: {fixed: {start: 2026-03-01T12:00:00Z, end: 2026-03-06T12:00:00Z}}`
		// A hypothesis file cannot ask for 28,801 points a query any more
		// (hypothesis.MaxPoints); the judge still judges what it is given.
		// Cutting the query into pieces Prometheus accepts is promsource's.
		h := hyp(t, long+"\n  step: 1m", metrics(latencyMetric))
		h.Step = step
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), h, base.Add(10*24*time.Hour))
		require.NoError(t, err)
		require.Equal(t, 5*24*240+1, v.Metrics[0].Control.Samples)
		require.Equal(t, 1, f.Calls("latency", chaos.Control))
		for _, r := range f.Queries() {
			// A window of 5 days: the targets that fed the family are one
			// pass over its samples, at the end, not one a step.
			from := base
			switch {
			case strings.HasPrefix(r.Expr, verdicttest.RawPrefix):
				from = from.Add(-5 * time.Minute)
			case strings.HasPrefix(r.Expr, verdicttest.TargetsPrefix):
				from = base.Add(5 * 24 * time.Hour)
			}
			require.Equal(t, verdict.RangeQuery{Expr: r.Expr, Start: from, End: base.Add(5 * 24 * time.Hour), Step: step}, r)
		}
	})
}

func TestJudgeScores(t *testing.T) {
	metric := func(name, weight string, critical bool) string {
		s := "\n    - name: " + name + "\n      query: " + name + "{ {{ .Group }} }\n      direction: higherIsWorse\n      allowedEffect: 20%\n      weight: " + weight
		if critical {
			s += "\n      critical: true"
		}
		return s
	}
	judgement := func(pass, marginal, minJudged string) string {
		return "  judgement: {passScore: " + pass + ", marginalScore: " + marginal + ", minJudged: " + minJudged + "}\n"
	}
	for _, tc := range []struct {
		name      string
		spec      string
		failing   []string // metrics 100 % worse in the experiment
		missing   []string // metrics without data
		want      verdict.Result
		score     float64
		reason    string
		judgement string
	}{
		{
			name:    "three of four passing scores 75, marginal",
			spec:    metrics(metric("a", "1", false), metric("b", "1", false), metric("c", "1", false), metric("d", "1", false)),
			failing: []string{"d"}, judgement: judgement("95", "70", "1"),
			want: verdict.Inconclusive, score: 75,
			reason: "marginal: score 75 between the marginal score 70 and the pass score 95 (d failed)",
		},
		{
			name:    "two of four passing scores 50, a failure",
			spec:    metrics(metric("a", "1", false), metric("b", "1", false), metric("c", "1", false), metric("d", "1", false)),
			failing: []string{"c", "d"}, judgement: judgement("95", "70", "1"),
			want: verdict.Fail, score: 50, reason: "score 50 below the marginal score 70: c, d failed",
		},
		{
			name:    "a light failing metric leaves the score at the pass score",
			spec:    metrics(metric("a", "10", false), metric("b", "0.5", false)),
			failing: []string{"b"}, judgement: judgement("95", "70", "1"),
			want: verdict.Pass, score: 100 * 10 / 10.5, reason: "score 95.2 at or above the pass score 95",
		},
		{
			name:    "a failing critical metric fails whatever the score",
			spec:    metrics(metric("a", "10", false), metric("b", "0.5", true)),
			failing: []string{"b"}, judgement: judgement("95", "70", "1"),
			want: verdict.Fail, score: 100 * 10 / 10.5, reason: "critical metric b failed (high)",
		},
		{
			name:    "half the weight unjudged is inconclusive at minJudged 1",
			spec:    metrics(metric("a", "1", false), metric("b", "1", false)),
			missing: []string{"b"}, judgement: judgement("95", "70", "1"),
			want: verdict.Inconclusive, score: 100,
			reason: "only 50 % of the metrics' weight could be judged (minJudged 100 %): b (vs control: no data for the experimental group",
		},
		{
			name:    "half the weight unjudged passes at minJudged 0.5, saying what was not judged",
			spec:    metrics(metric("a", "1", false), metric("b", "1", false)),
			missing: []string{"b"}, judgement: judgement("95", "70", "0.5"),
			want: verdict.Pass, score: 100, reason: "score 100 at or above the pass score 95 (not judged: b (vs control: no data",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hyp(t, fixedWindow, tc.spec+tc.judgement)
			f := newSource()
			for i, m := range h.Metrics {
				factor := 1.0
				if slices.Contains(tc.failing, m.Name) {
					factor = 2
				}
				aa(f, m.Name, uint64(10*i), factor)
				if slices.Contains(tc.missing, m.Name) {
					f.Set(m.Name, chaos.Experimental)
				}
			}
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), h, after)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Result, v.Reason)
			require.InDelta(t, tc.score, v.Score, 1e-9)
			require.Contains(t, v.Reason, tc.reason)
		})
	}
}

func TestJudgeSLOs(t *testing.T) {
	const (
		boundedLatency = `
    - name: latency
      query: latency{ {{ .Group }} }
      slo: {max: 0.5}`
		boundedRatio = `
    - name: error-ratio
      ratio:
        errors: sum(rate(errors_rate{ {{ .Group }} }[1m]))
        total: sum(rate(requests_rate{ {{ .Group }} }[1m]))
      slo: {max: 0.01}`
	)
	spiky := func(n, outside int, v float64) []float64 {
		xs := constant(n, 0.2)
		for i := range outside {
			xs[i*n/outside] = v
		}
		return xs
	}
	for _, tc := range []struct {
		name    string
		spec    string
		data    func(f *verdicttest.Source)
		at      time.Time
		want    verdict.Result
		slo     verdict.Result
		reason  string
		abort   bool
		abortIs string
	}{
		{
			name: "a latency above its SLO while running fails and aborts",
			spec: metrics(boundedLatency),
			data: func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, spiky(nSamples, 100, 0.8)) },
			at:   base.Add(30 * time.Minute),
			want: verdict.Fail, slo: verdict.Fail,
			reason: "SLO: 51 of 121 samples (42.1 %) of the experimental group above the max 0.5 (worst 0.8), more than the tolerance of 5 %",
			abort:  true, abortIs: "metric latency violates its SLO max 0.5: 51 of 121 samples (42.1 %) of the experimental group above the max 0.5 (worst 0.8)",
		},
		{
			name: "a latency above its SLO after the window fails without an abort",
			spec: metrics(boundedLatency),
			data: func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, spiky(nSamples, 100, 0.8)) },
			at:   after, want: verdict.Fail, slo: verdict.Fail,
			reason: "100 of 241 samples",
		},
		{
			name: "a few spikes within the tolerance pass",
			spec: metrics(boundedLatency),
			data: func(f *verdicttest.Source) { f.Set("latency", chaos.Experimental, spiky(nSamples, 12, 0.8)) },
			at:   after, want: verdict.Pass, slo: verdict.Pass,
			reason: "SLO: 12 of 241 samples (4.98 %) of the experimental group above the max 0.5 (worst 0.8), within the tolerance of 5 %",
		},
		{
			name: "a bounded metric without data is inconclusive, and does not abort",
			spec: metrics(boundedLatency),
			data: func(*verdicttest.Source) {},
			at:   base.Add(30 * time.Minute), want: verdict.Inconclusive, slo: verdict.Inconclusive,
			reason: "SLO: no data for the experimental group",
		},
		{
			name: "an error ratio above its SLO fails and aborts",
			spec: metrics(boundedRatio),
			data: func(f *verdicttest.Source) {
				f.Set("requests_rate", chaos.Experimental, constant(nSamples, 20))
				f.Set("errors_rate", chaos.Experimental, constant(nSamples, 0.4))
			},
			at:   base.Add(30 * time.Minute),
			want: verdict.Fail, slo: verdict.Fail,
			reason: "SLO: the experimental group's ratio 0.02 (726 of 36300) is outside max 0.01",
			abort:  true, abortIs: "metric error-ratio violates its SLO max 0.01: ratio 0.02 (726 of 36300)",
		},
		{
			name: "an error ratio within its SLO passes",
			spec: metrics(boundedRatio),
			data: func(f *verdicttest.Source) {
				f.Set("requests_rate", chaos.Experimental, constant(nSamples, 20))
				f.Set("errors_rate", chaos.Experimental, constant(nSamples, 0.1))
			},
			at: after, want: verdict.Pass, slo: verdict.Pass,
			reason: "SLO: the experimental group's ratio 0.005 (362 of 72300) is within max 0.01",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			tc.data(f)
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, tc.spec), tc.at)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Result, v.Reason)
			m := v.Metrics[0]
			require.Equal(t, tc.slo, m.SLO)
			require.Contains(t, m.Reason, tc.reason)
			require.Equal(t, tc.abort, v.Abort)
			if tc.abort {
				require.Equal(t, []string{tc.abortIs}, v.AbortReasons)
			} else {
				require.Empty(t, v.AbortReasons)
			}
			require.Equal(t, 0, f.Calls("latency", chaos.Control)+f.Calls("requests_rate", chaos.Control),
				"a metric only bounded by its SLO does not query the control")
		})
	}

	t.Run("abortOnHardBound false raises no abort", func(t *testing.T) {
		f := newSource()
		f.Set("latency", chaos.Experimental, constant(nSamples, 0.8))
		h := hyp(t, fixedWindow, metrics(boundedLatency)+"  judgement: {abortOnHardBound: false}\n")
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), h, base.Add(30*time.Minute))
		require.NoError(t, err)
		require.Equal(t, verdict.Fail, v.Result)
		require.False(t, v.Abort)
	})

	t.Run("a metric failing both its comparison and its SLO says both", func(t *testing.T) {
		f := newSource()
		aa(f, "latency", 1, 10)
		spec := metrics(latencyMetric + "\n      slo: {max: 0.5}")
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, fixedWindow, spec), after)
		require.NoError(t, err)
		m := v.Metrics[0]
		require.Equal(t, verdict.High, m.Result)
		require.Equal(t, verdict.Fail, m.SLO)
		require.Regexp(t, `^vs control: significant increase .*; SLO: \d+ of 241 samples`, m.Reason)
	})
}

func TestJudgeFailsOnlyWhenItsContextEnds(t *testing.T) {
	f := newSource()
	aa(f, "latency", 1, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newJudge(t, verdict.Options{Samples: f}).Judge(ctx, hyp(t, fixedWindow, metrics(latencyMetric)), after)
	require.ErrorIs(t, err, context.Canceled)
}

func TestNewChecksItsOptions(t *testing.T) {
	for _, tc := range []struct {
		o   verdict.Options
		err string
	}{
		{verdict.Options{}, "verdict: Options.Samples is required"},
		{verdict.Options{Samples: newSource(), MinSamples: -1}, "verdict: Options.MinSamples -1: must be ≥ 0"},
		{verdict.Options{Samples: newSource(), SLOTolerance: 1}, "verdict: Options.SLOTolerance 1: must be below 1"},
	} {
		_, err := verdict.New(tc.o)
		require.EqualError(t, err, tc.err)
	}
}

// TestJudgeLooksAtTheBaselineBeforeFailingAComparison: a failing
// comparison whose groups already differed as much in the baseline (the 30
// min before the window) is inconclusive; one that grew beyond the allowed
// effect still fails.
func TestJudgeLooksAtTheBaselineBeforeFailingAComparison(t *testing.T) {
	// Series from base: 30 min of baseline (121 samples, the last shared
	// with the window), then the hour of the window.
	const baselineSamples = 120
	window := `window: {fixed: {start: 2026-03-01T12:30:00Z, end: 2026-03-01T13:30:00Z}}`
	at := base.Add(2 * time.Hour)
	series := func(seed uint64, before, during float64) []float64 {
		xs := lognormal(seed, baselineSamples+nSamples, 0.1, 0.3)
		for i := range xs {
			if i < baselineSamples {
				xs[i] *= before
			} else {
				xs[i] *= during
			}
		}
		return xs
	}
	for _, tc := range []struct {
		name           string
		before, during float64
		want           verdict.Result
		reason         string
	}{
		{"as much higher before: inconclusive", 1.5, 1.5, verdict.Inconclusive, "the groups already differed before the experiment: in the baseline (30m0s before the window) the experimental group was higher by"},
		{"the same before, higher during: fails", 1, 1.5, verdict.High, "significant increase"},
		{"higher before, much higher during: fails", 1.3, 2, verdict.High, "(the groups already differed before the experiment, by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource().
				Set("latency", chaos.Control, series(1, 1, 1)).
				Set("latency", chaos.Experimental, series(2, tc.before, tc.during))
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, window, metrics(latencyMetric)), at)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
		})
	}
}

// TestJudgeLooksAtTheBaselineBeforeFailingARatio: the same for an error
// ratio, compared with Fisher's test on the counts.
func TestJudgeLooksAtTheBaselineBeforeFailingARatio(t *testing.T) {
	const baselineSamples = 120
	window := `window: {fixed: {start: 2026-03-01T12:30:00Z, end: 2026-03-01T13:30:00Z}}`
	at := base.Add(2 * time.Hour)
	rate := func(before, during float64) []float64 {
		xs := make([]float64, baselineSamples+nSamples)
		for i := range xs {
			xs[i] = during
			if i < baselineSamples {
				xs[i] = before
			}
		}
		return xs
	}
	for _, tc := range []struct {
		name           string
		before, during float64 // the experimental group's errors/s; the control's are 0.2 of 20 requests/s
		want           verdict.Result
		reason         string
	}{
		{"as many more errors before: inconclusive", 0.6, 0.6, verdict.Inconclusive, "vs control: the groups already differed before the experiment: in the baseline (30m0s before the window) the experimental group was higher by 0.02 ("},
		{"the same before, more errors during: fails", 0.2, 0.6, verdict.High, "significant increase of 0.02"},
		{"more before, many more during: fails", 0.4, 1.2, verdict.High, "but the shift grew to 0.05 ["},
		{"no baseline data: the failure stands", math.NaN(), 0.6, verdict.High, "significant increase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource().
				Set("requests_rate", chaos.Control, rate(20, 20)).
				Set("errors_rate", chaos.Control, rate(0.2, 0.2)).
				Set("errors_rate", chaos.Experimental, rate(tc.before, tc.during))
			if math.IsNaN(tc.before) {
				f.Set("requests_rate", chaos.Experimental, rate(math.NaN(), 20))
			} else {
				f.Set("requests_rate", chaos.Experimental, rate(20, 20))
			}
			v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, window, metrics(errorRatioMetric)), at)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			require.Contains(t, m.Reason, tc.reason)
		})
	}
}

func TestComparedSamplesAreThinnedToTheQuerysRange(t *testing.T) {
	for query, want := range map[string]int{
		`latency{ {{ .Group }} }`:                                                    1,
		`sum(rate(requests_total{ {{ .Group }} }[1m]))`:                              4,
		`histogram_quantile(0.99, sum by (le) (rate(h_bucket{ {{ .Group }} }[2m])))`: 8,
		`max_over_time(rate(x{ {{ .Group }} }[1m])[5m:30s])`:                         20,
		`rate(x{ {{ .Group }} }[10s])`:                                               1,
	} {
		h := hyp(t, fixedWindow, metrics(`
    - name: m
      query: '`+query+`'
      direction: higherIsWorse
      allowedEffect: 20%`))
		k, _ := verdict.Thinning(h, &h.Metrics[0])
		require.Equal(t, want, k, query)
	}
}
