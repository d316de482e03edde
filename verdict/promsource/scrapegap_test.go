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

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
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
	// count_over_time(ready[Ns]) ≥ N−1 at now: Prometheus has that much of
	// the group, nearly every second.
	has := func(group string, n int, what string) {
		t.Helper()
		deadline := time.Now().Add(time.Duration(n)*time.Second + 30*time.Second)
		for {
			val, _, _, err := p.API().Query(t.Context(), fmt.Sprintf(`count_over_time(ready{group=%q}[%ds])`, group, n), time.Now())
			require.NoError(t, err)
			if vec, ok := val.(model.Vector); ok && len(vec) == 1 && int(vec[0].Value) >= n-1 {
				return
			}
			require.True(t, time.Now().Before(deadline), "%s: Prometheus has not %d samples of the %s group in %ds: %v", what, n-1, group, n, val)
			time.Sleep(200 * time.Millisecond)
		}
	}
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
	deadline := downAt.Add(30 * time.Second)
	for {
		val, _, _, err := p.API().Query(t.Context(), `count_over_time((up{job="experimental"} == 0)[30s:1s])`, time.Now())
		require.NoError(t, err)
		if vec, ok := val.(model.Vector); ok && len(vec) == 1 && vec[0].Value >= 5 {
			break
		}
		require.True(t, time.Now().Before(deadline), "Prometheus never saw the experimental target down: %v", val)
		time.Sleep(200 * time.Millisecond)
	}
	expDown.Store(false)
	upAt := time.Now()
	has("experimental", 12, "after the outage")
	end := time.Now().Truncate(time.Second)

	judge := func(from, to time.Time, query string, sloMin float64) verdict.Metric {
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
		j, err := promsource.NewJudge(promsource.Options{URL: p.URL()}, verdict.Options{ScrapeInterval: time.Second})
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
