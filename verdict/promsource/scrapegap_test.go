package promsource_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// gaugeTarget serves `ready{group="…"} 1` and a counter of the scrapes
// served, `served_total`, or 503 while down is set: a scrape target
// Prometheus cannot scrape for a while.
func gaugeTarget(t *testing.T, group string, down *atomic.Bool) string {
	t.Helper()
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "# TYPE ready gauge\nready{group=%q} 1\n# TYPE served counter\nserved_total{group=%q} %d\n",
			group, group, served.Add(1))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// The defect found end to end, with a real Prometheus and a real scrape
// target: the experimental group's target down for a few seconds (every
// scrape failing, so Prometheus marks its series stale) leaves a hole in
// the answer, and a verdict over it must not pass on the samples around
// it; the same data before the hole, at a 1 s scrape and a 1 s step,
// passes without a gap (no false inconclusive).
func TestAScrapeTargetDownMakesASampleGapInARealPrometheus(t *testing.T) {
	var ctlDown, expDown atomic.Bool
	ctl, exp := gaugeTarget(t, "control", &ctlDown), gaugeTarget(t, "experimental", &expDown)
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: control
    static_configs: [{targets: [%q]}]
  - job_name: experimental
    static_configs: [{targets: [%q]}]
`, ctl, exp)})
	has := func(group string, n int, what string) { hasSamples(t, p, group, n, what) }
	// 30 s of them: the window starts 18 s before the outage, and a rate
	// over 10 s at its start must not reach back before the series began
	// (Prometheus divides by the whole range, so a young series' rate is low).
	has("experimental", 30, "before the outage")
	has("control", 30, "before the outage")
	beforeDown := time.Now()
	// The window starts once the series exist: before, there is nothing of
	// them, and that is a gap too.
	start := beforeDown.Add(-18 * time.Second).Truncate(time.Second)

	// The experimental target down for 5 s: 5 failed scrapes, asked of
	// Prometheus's own up series, not assumed from the time.
	expDown.Store(true)
	downAt := time.Now()
	awaitDown(t, p, `job="experimental"`, 5)
	expDown.Store(false)
	upAt := time.Now()
	has("experimental", 12, "after the outage")
	end := time.Now().Truncate(time.Second)

	judge := func(from, to time.Time, query string, sloMin float64) verdict.Metric {
		t.Helper()
		return judgeReady(t, p, verdict.Options{ScrapeInterval: time.Second}, from, to, query, sloMin)
	}

	const readyQuery = "'min(ready{ {{ .Group }} })'"
	t.Run("before the outage, the same series pass without a gap", func(t *testing.T) {
		m := judge(start, beforeDown.Truncate(time.Second), readyQuery, 0.5)
		require.Equal(t, verdict.Pass, m.Result, m.Reason)
		require.Empty(t, m.SampleGaps)
	})
	t.Run("over the outage, the experimental group's hole is a gap: inconclusive", func(t *testing.T) {
		m := judge(start, end, readyQuery, 0.5)
		require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
		require.Len(t, m.SampleGaps, 1, m.Reason)
		g := m.SampleGaps[0]
		require.Equal(t, "experimental", string(g.Group))
		// The hole lies within the outage, give or take a scrape.
		require.False(t, g.From.Before(downAt.Add(-2*time.Second)), "gap from %s, down at %s", g.From, downAt)
		require.False(t, g.To.After(upAt.Add(2*time.Second)), "gap to %s, up at %s", g.To, upAt)
		require.GreaterOrEqual(t, g.To.Sub(g.From), 4*time.Second)
		require.Contains(t, m.Reason, "no samples of metric ready in the experimental group for ")
	})
	// A range selector answers over the hole from the samples before it:
	// the rate of a counter the target stopped serving, or the latest ready
	// of the last 10 s, goes on through the outage (5 or 6 failed scrapes)
	// as if it were scraped.
	// The answer has no gap; the raw series under it has one, and that is
	// what steadywatch must see (a fault that takes the target down would
	// otherwise pass on the samples from before it).
	// The rate of 1 a second sags over the hole (fewer samples in its range),
	// not below a bound of 0.1: the answer alone passes.
	for query, sloMin := range map[string]float64{
		"'sum(rate(served_total{ {{ .Group }} }[10s]))'":   0.1,
		"'min(max_over_time(ready{ {{ .Group }} }[10s]))'": 0.5,
	} {
		t.Run("a range selector's query bridges the hole, its raw series does not: "+query, func(t *testing.T) {
			before := judge(start, beforeDown.Truncate(time.Second), query, sloMin)
			require.Equal(t, verdict.Pass, before.Result, before.Reason)
			require.Empty(t, before.SampleGaps, "no false gap before the outage")
			m := judge(start, end, query, sloMin)
			require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
			require.NotEmpty(t, m.SampleGaps, m.Reason)
			var exp []verdict.SampleGap
			for _, g := range m.SampleGaps {
				require.Equal(t, "experimental", string(g.Group), "only the experimental target was down: %+v", g)
				exp = append(exp, g)
			}
			g := exp[0]
			require.Len(t, exp, 1, "one hole: %+v", exp)
			require.False(t, g.From.Before(downAt.Add(-2*time.Second)), "gap from %s, down at %s", g.From, downAt)
			require.False(t, g.To.After(upAt.Add(2*time.Second)), "gap to %s, up at %s", g.To, upAt)
			require.GreaterOrEqual(t, g.To.Sub(g.From), 4*time.Second)
			require.Contains(t, g.Reason, "raw samples", g.Reason)
		})
	}
}

// hasSamples waits until count_over_time(ready{group}[Ns]) ≥ N−1 at now:
// Prometheus has that much of the group, nearly every second.
func hasSamples(t *testing.T, p *promtest.Prometheus, group string, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Duration(n)*time.Second + 30*time.Second)
	for {
		val, _, _, err := p.API().Query(t.Context(), fmt.Sprintf(`count_over_time(ready{group=%q}[%ds])`, group, n), time.Now())
		require.NoError(t, err)
		if vec, ok := val.(model.Vector); ok && len(vec) >= 1 && int(vec[0].Value) >= n-1 {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s: Prometheus has not %d samples of the %s group in %ds: %v", what, n-1, group, n, val)
		time.Sleep(200 * time.Millisecond)
	}
}

// awaitDown waits until Prometheus's own up series of the targets matched
// has n failed scrapes in the last 30 s: the outage as Prometheus saw it,
// not assumed from the time.
func awaitDown(t *testing.T, p *promtest.Prometheus, matchers string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		val, _, _, err := p.API().Query(t.Context(), fmt.Sprintf(`count_over_time((up{%s} == 0)[30s:1s])`, matchers), time.Now())
		require.NoError(t, err)
		if vec, ok := val.(model.Vector); ok && len(vec) == 1 && int(vec[0].Value) >= n {
			return
		}
		require.True(t, time.Now().Before(deadline), "Prometheus never saw %s down: %v", matchers, val)
		time.Sleep(200 * time.Millisecond)
	}
}

// judgeReady judges a hypothesis of one metric, query, with an SLO minimum
// over [from, to] at a 1 s step, against p, and returns the metric.
func judgeReady(t *testing.T, p *promtest.Prometheus, o verdict.Options, from, to time.Time, query string, sloMin float64) verdict.Metric {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: scrape-gap}
spec:
  service: api
  groups: {control: group="control", experimental: group="experimental"}
  window: {fixed: {start: %s, end: %s}}
  step: 1s
  metrics:
    - name: ready
      query: %s
      slo: {min: %g}
      critical: true
`, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), query, sloMin)
	hs, err := hypothesis.Parse([]byte(doc), "gap.yaml")
	require.NoError(t, err, doc)
	j, err := promsource.NewJudge(promsource.Options{URL: p.URL()}, o)
	require.NoError(t, err)
	v, err := j.Judge(t.Context(), &hs[0], time.Now())
	require.NoError(t, err)
	require.Len(t, v.Metrics, 1)
	t.Logf("%s–%s: %s: %s; sample gaps %+v", from.Format(time.TimeOnly), to.Format(time.TimeOnly), v.Result, v.Reason, v.Metrics[0].SampleGaps)
	if v.Metrics[0].Result == verdict.Inconclusive {
		require.NotEqual(t, verdict.Pass, v.Result)
	}
	return v.Metrics[0]
}

// A resource-exhaustion fault starves one of the experimental group's two
// pods until it no longer answers its scrapes, while it stays alive: the
// group's minimum over the pods still answering goes on, its family has
// raw samples from the other pod, and the verdict passed on half the
// group. Prometheus's up series of the starved target is 0: over the
// outage the verdict is inconclusive with a gap naming that target; with
// the watch's record of the pod's deletion, a killed pod's target going
// is the fault itself, and the verdict passes; before the outage it
// passes without a gap.
func TestATargetDownBesideAnotherOfItsGroupIsAGapInARealPrometheus(t *testing.T) {
	var never, starved atomic.Bool
	ctl, expA, expB := gaugeTarget(t, "control", &never), gaugeTarget(t, "experimental", &never), gaugeTarget(t, "experimental", &starved)
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: api
    static_configs:
      - {targets: [%q], labels: {namespace: shop, pod: api-ctl}}
      - {targets: [%q], labels: {namespace: shop, pod: api-a}}
      - {targets: [%q], labels: {namespace: shop, pod: api-b}}
`, ctl, expA, expB)})
	hasSamples(t, p, "experimental", 20, "before the outage")
	hasSamples(t, p, "control", 20, "before the outage")
	beforeDown := time.Now()
	start := beforeDown.Add(-12 * time.Second).Truncate(time.Second)
	starved.Store(true)
	downAt := time.Now()
	awaitDown(t, p, `pod="api-b"`, 5)
	starved.Store(false)
	upAt := time.Now()
	awaitUp := time.Now().Add(30 * time.Second)
	for {
		val, _, _, err := p.API().Query(t.Context(), `min_over_time(up{pod="api-b"}[4s])`, time.Now())
		require.NoError(t, err)
		if vec, ok := val.(model.Vector); ok && len(vec) == 1 && vec[0].Value == 1 {
			break
		}
		require.True(t, time.Now().Before(awaitUp), "the starved target never answered again: %v", val)
		time.Sleep(200 * time.Millisecond)
	}
	end := time.Now().Truncate(time.Second)
	const query = "'min(ready{ {{ .Group }} })'"
	o := verdict.Options{ScrapeInterval: time.Second}

	t.Run("before the outage: a pass without a gap", func(t *testing.T) {
		m := judgeReady(t, p, o, start, beforeDown.Truncate(time.Second), query, 0.5)
		require.Equal(t, verdict.Pass, m.Result, m.Reason)
		require.Empty(t, m.SampleGaps)
	})
	t.Run("over it: the starved target is a gap, inconclusive", func(t *testing.T) {
		o := o
		o.Store = tracker.NewMemoryStore() // the watch saw no deletion
		m := judgeReady(t, p, o, start, end, query, 0.5)
		require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
		require.Len(t, m.SampleGaps, 1, m.Reason)
		g := m.SampleGaps[0]
		require.Equal(t, "experimental", string(g.Group))
		require.Contains(t, g.Series, `pod="api-b"`)
		require.False(t, g.From.Before(downAt.Add(-2*time.Second)), "gap from %s, down at %s", g.From, downAt)
		require.False(t, g.To.After(upAt.Add(2*time.Second)), "gap to %s, up at %s", g.To, upAt)
		require.GreaterOrEqual(t, g.To.Sub(g.From), 4*time.Second)
		require.Contains(t, m.Reason, "pod api-b was not seen deleted then")
	})
	t.Run("over it, the pod deleted as it went: the fault itself, a pass", func(t *testing.T) {
		s := tracker.NewMemoryStore()
		require.NoError(t, s.SaveEvent(t.Context(), chaos.Event{
			Kind: chaos.PodDeleted, Subject: chaos.Subject{Service: "api", Group: chaos.Experimental},
			Object: chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "api-b"}, At: chaos.Timestamp{Observed: downAt},
		}))
		o := o
		o.Store = s
		m := judgeReady(t, p, o, start, end, query, 0.5)
		require.Equal(t, verdict.Pass, m.Result, m.Reason)
		require.Empty(t, m.SampleGaps)
	})
}
