package hypothesis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// metricsWith is a hypothesis with a step and one SLO-bounded metric per
// query.
func metricsWith(step string, queries ...string) string {
	spec := "  step: " + step + "\n  metrics:\n"
	for i, q := range queries {
		spec += fmt.Sprintf("    - name: m%d\n      query: '%s'\n      slo: {max: 1}\n", i, q)
	}
	return minimalWith(spec)
}

// Issue 11 #11: the step is checked against the intervals Prometheus
// samples the queried series at, each bound from both sides.
func TestStepAgainstTheIntervalsOfTheSeriesQueried(t *testing.T) {
	const tail = ": the samples between two scrapes repeat the same value; use a step of at least "
	iv := Intervals{
		Global: time.Minute, Evaluation: 30 * time.Second, From: "learnt from Prometheus",
		Jobs: map[string]time.Duration{"api": 15 * time.Second, "node": time.Minute, "slow": 2 * time.Minute},
	}
	node := `rate(node_cpu_seconds_total{job="node", {{ .Group }} }[5m])`
	noJob := `rate(http_requests_total{ {{ .Group }} }[5m])`
	for _, tc := range []struct {
		name    string
		iv      Intervals
		step    string
		queries []string
		want    string // "" for accepted
	}{
		{"a job's interval is a step that passes", iv, "1m", []string{node}, ""},
		{
			"a step just below the job's interval is refused", iv, "59999ms",
			[]string{node},
			"spec.step: 59s999ms is shorter than the scrape interval of 1m (job node, learnt from Prometheus)" + tail + "1m",
		},
		{
			"a selector without a job matcher gets the shortest of all, at the bound", iv, "15s", []string{noJob}, "",
		},
		{
			"a selector without a job matcher gets the shortest of all, below", iv, "14999ms",
			[]string{noJob},
			"spec.step: 14s999ms is shorter than the scrape interval of 15s (job api, the shortest of all for a selector that names no known job, learnt from Prometheus)" + tail + "15s",
		},
		{
			"a job the configuration does not have gets the shortest of all, at the bound", iv, "15s",
			[]string{`up{job="federated", {{ .Group }} }`},
			"",
		},
		{
			"a job the configuration does not have gets the shortest of all", iv, "14s",
			[]string{`up{job="federated", {{ .Group }} }`},
			"spec.step: 14s is shorter than the scrape interval of 15s (job api, the shortest",
		},
		{
			"a regular expression on the job gets the shortest of all, at the bound", iv, "15s",
			[]string{`up{job=~"node|slow", {{ .Group }} }`},
			"",
		},
		{
			"a regular expression on the job gets the shortest of all", iv, "14s",
			[]string{`up{job=~"node|slow", {{ .Group }} }`},
			"spec.step: 14s is shorter than the scrape interval of 15s (job api, the shortest",
		},
		{
			"a recorded series is sampled at the evaluation interval, at the bound",
			Intervals{Jobs: map[string]time.Duration{"node": time.Minute}, Evaluation: 10 * time.Second},
			"10s",
			[]string{`job:requests:rate5m{ {{ .Group }} }`},
			"",
		},
		{
			"a recorded series is sampled at the evaluation interval, below",
			Intervals{Jobs: map[string]time.Duration{"node": time.Minute}, Evaluation: 10 * time.Second},
			"9s",
			[]string{`job:requests:rate5m{ {{ .Group }} }`},
			"spec.step: 9s is shorter than the evaluation interval of 10s (evaluation_interval, the shortest of all for a selector that names no known job): the samples between two evaluations repeat the same value; use a step of at least 10s",
		},
		{
			"the least restrictive selector sets the bound, at it", iv, "15s",
			[]string{node, `up{job="api", {{ .Group }} }`},
			"",
		},
		{
			"the least restrictive selector sets the bound, below", iv, "14s",
			[]string{node, `up{job="api", {{ .Group }} }`},
			"(job api, learnt from Prometheus)",
		},
		{
			"one selector of a query is enough, at the bound", iv, "1m",
			[]string{`rate(x{job="slow", {{ .Group }} }[5m]) / rate(y{job="node", {{ .Group }} }[5m])`},
			"",
		},
		{
			"one selector of a query is enough, below", iv, "59s",
			[]string{`rate(x{job="slow", {{ .Group }} }[5m]) / rate(y{job="node", {{ .Group }} }[5m])`},
			"(job node, learnt from Prometheus)",
		},
		{
			"a selector inside a subquery counts, at the bound", iv, "2m",
			[]string{`max_over_time(rate(x{job="slow", {{ .Group }} }[5m])[10m:1m])`},
			"",
		},
		{
			"a selector inside a subquery counts", iv, "1m59s",
			[]string{`max_over_time(rate(x{job="slow", {{ .Group }} }[5m])[10m:1m])`},
			"of 2m (job slow, learnt from Prometheus)",
		},
		{
			"a Prometheus that scrapes nothing tells nothing",
			Intervals{Evaluation: time.Minute},
			"1s",
			[]string{noJob},
			"",
		},
		{
			"with scrape_config_files a selector without a known job tells nothing",
			Intervals{Jobs: map[string]time.Duration{"node": time.Minute}, Evaluation: time.Minute, Partial: true},
			"1s",
			[]string{noJob},
			"",
		},
		{
			"with scrape_config_files a known job still counts, at the bound",
			Intervals{Jobs: map[string]time.Duration{"node": time.Minute}, Evaluation: time.Minute, Partial: true},
			"1m",
			[]string{node},
			"",
		},
		{
			"with scrape_config_files a known job still counts",
			Intervals{Jobs: map[string]time.Duration{"node": time.Minute}, Evaluation: time.Minute, Partial: true},
			"59s",
			[]string{node},
			"of 1m (job node)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := Parse([]byte(metricsWith(tc.step, tc.queries...)), "h.yaml")
			require.NoError(t, err)
			require.Len(t, hs, 1)
			err = hs[0].CheckIntervals(tc.iv)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			line := hs[0].Position("spec.step").Line
			require.Positive(t, line)
			require.ErrorContains(t, err, fmt.Sprintf("h.yaml:%d: spec.step: %s is shorter than the ", line, FormatDuration(hs[0].Step)))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// A ratio's two queries are both looked at, in both groups.
func TestStepAgainstTheIntervalsOfARatio(t *testing.T) {
	iv := Intervals{Jobs: map[string]time.Duration{"api": time.Minute, "edge": 15 * time.Second}, Evaluation: time.Minute}
	doc := minimalWith(`  step: 14s
  metrics:
    - name: errors
      ratio:
        errors: sum(rate(http_requests_total{job="api", code=~"5..", {{ .Group }} }[5m]))
        total: sum(rate(http_requests_total{job="edge", {{ .Group }} }[5m]))
      slo: {max: 0.01}
`)
	hs, err := Parse([]byte(doc), "h.yaml")
	require.NoError(t, err)
	require.ErrorContains(t, hs[0].CheckIntervals(iv), "spec.step: 14s is shorter than the scrape interval of 15s (job edge)")
	// A group's own matchers may name the job.
	doc = minimalWith(`  step: 30s
  groups: {control: 'job="api", g="c"', experimental: 'job="api", g="e"'}
  metrics:
    - name: m
      query: 'up{ {{ .Group }} }'
      slo: {max: 1}
`)
	doc = strings.Replace(doc, "  groups: {control: 'g=\"c\"', experimental: 'g=\"e\"'}\n", "", 1)
	hs, err = Parse([]byte(doc), "h.yaml")
	require.NoError(t, err)
	require.ErrorContains(t, hs[0].CheckIntervals(iv), "spec.step: 30s is shorter than the scrape interval of 1m (job api)")
}
