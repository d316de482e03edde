package hypothesis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
)

func rawSeriesOf(t *testing.T, metric string) []hypothesis.RawSeries {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: raw}
spec:
  service: api
  groups: {control: 'group="control", ns="a"', experimental: 'group="experimental", ns="a"'}
  window: {fixed: {start: 2026-01-01T00:00:00Z, end: 2026-01-01T01:00:00Z}}
  step: 15s
  metrics:
%s`, metric)
	hs, err := hypothesis.Parse([]byte(doc), "raw.yaml")
	require.NoError(t, err, doc)
	out := hs[0].Metrics[0].RawSeries(chaos.Experimental, 30*time.Second)
	for _, r := range out {
		_, err := parser.NewParser(parser.Options{}).ParseExpr(r.Query)
		require.NoError(t, err, "%s parses", r.Query)
	}
	return out
}

// The families a query reads, with the group's matchers and only them:
// what must have raw samples at each step for the answer to be more than
// a range selector's memory.
func TestRawSeriesAreTheFamiliesTheQueryReadsInTheGroup(t *testing.T) {
	got := rawSeriesOf(t, `    - name: latency
      query: 'histogram_quantile(0.99, sum by (le) (rate(latency_bucket{job="api", {{ .Group }} }[5m]))) + on() group_left max(up{ {{ .Group }} } offset 1m)'
      slo: {max: 1}
`)
	type raw struct{ Selector, Query, Targets, Failed string }
	var have []raw
	for _, r := range got {
		targets, failed := r.Targets(10*time.Minute), r.FailedScrapes(30*time.Second)
		for _, q := range []string{targets, failed} {
			_, err := parser.NewParser(parser.Options{}).ParseExpr(q)
			require.NoError(t, err, "%s parses", q)
		}
		have = append(have, raw{r.Selector, r.Query, targets, failed})
	}
	require.Equal(t, []raw{
		{
			`latency_bucket{group="experimental",ns="a"}`, `count(count_over_time(latency_bucket{group="experimental",ns="a"}[30s]))`,
			`group by (job, instance) (count_over_time(latency_bucket{group="experimental",ns="a"}[10m]))`,
			`min_over_time(up[30s]) == 0`,
		},
		{
			`up{group="experimental",ns="a"} offset 1m`, `count(count_over_time(up{group="experimental",ns="a"}[30s] offset 1m))`,
			`group by (job, instance) (count_over_time(up{group="experimental",ns="a"}[10m] offset 1m))`,
			`min_over_time(up[30s] offset 1m) == 0`,
		},
	}, have)

	t.Run("a ratio's two queries, a family once", func(t *testing.T) {
		got := rawSeriesOf(t, `    - name: errors
      ratio:
        errors: 'sum(rate(http_requests_total{code=~"5..", {{ .Group }} }[1m]))'
        total: 'sum(rate(http_requests_total{ {{ .Group }} }[1m])) + 0*sum(rate(probe_total{ {{ .Group }} }[1m]))'
      slo: {max: 0.01}
`)
		require.Equal(t, []string{`http_requests_total{group="experimental",ns="a"}`, `probe_total{group="experimental",ns="a"}`},
			[]string{got[0].Selector, got[1].Selector})
		require.Len(t, got, 2)
	})
	t.Run("a selector without a name is kept whole; one at a fixed time is left out", func(t *testing.T) {
		got := rawSeriesOf(t, `    - name: x
      query: 'sum(rate({__name__=~"a|b", {{ .Group }} }[1m])) + sum(c{ {{ .Group }} } @ 1700000000)'
      slo: {max: 1}
`)
		require.Len(t, got, 1)
		require.Equal(t, `{__name__=~"a|b",group="experimental",ns="a"}`, got[0].Selector)
	})
}
