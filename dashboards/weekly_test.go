package dashboards_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/dashboards"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/rules"
)

func weeklyDashboard(t *testing.T) map[string]any {
	t.Helper()
	files, err := dashboards.Generate(goldenOptions(t))
	require.NoError(t, err)
	return decode(t, files[dashboards.WeeklyJSON])
}

// target returns the expression of the query of the panel titled title
// whose legend is legend (or, for a table, whose refId is legend).
func target(t *testing.T, d map[string]any, title, legend string) string {
	t.Helper()
	for _, p := range panels(d) {
		if p["title"] != title {
			continue
		}
		for _, q := range p["targets"].([]any) {
			qm := q.(map[string]any)
			if qm["legendFormat"] == legend || qm["refId"] == legend {
				return qm["expr"].(string)
			}
		}
	}
	t.Fatalf("no panel %q with a query %q", title, legend)
	return ""
}

func TestWeeklyReviewDefaultsToLastISOWeekAndLinksTheOthers(t *testing.T) {
	d := weeklyDashboard(t)
	require.Equal(t, dashboards.WeeklyUID, d["uid"])
	require.Equal(t, map[string]any{"from": "now-1w/w", "to": "now-1w/w"}, d["time"])
	require.Equal(t, "monday", d["weekStart"])
	links := d["links"].([]any)
	require.Len(t, links, 1)
	link := links[0].(map[string]any)
	require.Equal(t, "dashboards", link["type"])
	require.Equal(t, []any{"steadywatch"}, link["tags"], "the tag the other dashboards carry")
	require.Equal(t, true, link["keepTime"])
	for _, file := range []string{dashboards.ExperimentJSON, dashboards.ReliabilityJSON} {
		files, err := dashboards.Generate(goldenOptions(t))
		require.NoError(t, err)
		require.Contains(t, decode(t, files[file])["tags"], "steadywatch", file)
	}
}

// The panels read the weekly records only, every one of them; and each
// figure's previous range is the same expression an offset $__range back.
func TestWeeklyReviewReadsTheWeeklyRecordsAndComparesLikeWithLike(t *testing.T) {
	d := weeklyDashboard(t)
	groups, err := rules.Groups(config.Default(), nil, rules.Options{})
	require.NoError(t, err)
	weekly := map[string]bool{}
	for _, g := range groups {
		if g.Name == rules.WeeklyGroup {
			for _, r := range g.Rules {
				weekly[r.Record] = true
			}
		}
	}
	require.NotEmpty(t, weekly)

	used := map[string]bool{}
	compared := 0
	for _, p := range panels(d) {
		byLegend := map[string]string{}
		for _, q := range p["targets"].([]any) {
			qm := q.(map[string]any)
			expr := qm["expr"].(string)
			parsed, err := promql.ParseExpr(strings.NewReplacer("$__range", "1h", "$__interval", "1d", "$service", ".*", "$cluster", ".*").Replace(expr))
			require.NoError(t, err, "%s: %s", p["title"], expr)
			names, err := metricNames(parsed)
			require.NoError(t, err)
			for _, n := range names {
				require.True(t, weekly[n], "%s: %s is no weekly record", p["title"], n)
				used[n] = true
			}
			legend, _ := qm["legendFormat"].(string)
			byLegend[legend] = expr
			if p["type"] == "table" {
				byLegend[qm["refId"].(string)] = expr
			}
		}
		this, previous := byLegend["this range"], byLegend["previous range"]
		if p["type"] == "table" && !strings.Contains(byLegend["B"], "and on") {
			this, previous = byLegend["A"], byLegend["B"]
		}
		if this == "" {
			continue
		}
		compared++
		require.Equal(t, this, strings.ReplaceAll(previous, "[$__range] offset $__range", "[$__range]"), p["title"])
		require.Equal(t, strings.Count(this, "[$__range]"), strings.Count(previous, "offset $__range"), p["title"])
	}
	require.Equal(t, slices.Sorted(func(yield func(string) bool) {
		for n := range weekly {
			if !yield(n) {
				return
			}
		}
	}), slices.Sorted(func(yield func(string) bool) {
		for n := range used {
			if !yield(n) {
				return
			}
		}
	}), "every weekly record is shown")
	require.GreaterOrEqual(t, compared, 10)
}

type promtoolTest struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval string         `yaml:"evaluation_interval"`
	Tests              []promtoolCase `yaml:"tests"`
}

type promtoolCase struct {
	Name        string         `yaml:"name"`
	Interval    string         `yaml:"interval"`
	InputSeries []inputSeries  `yaml:"input_series"`
	Exprs       []promtoolExpr `yaml:"promql_expr_test"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type promtoolExpr struct {
	Expr       string      `yaml:"expr"`
	EvalTime   string      `yaml:"eval_time"`
	ExpSamples []expSample `yaml:"exp_samples"`
}

type expSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// The dashboard's own expressions, evaluated by promtool (Prometheus 2.42)
// over the generated rules and a fixture whose figures are counted by hand:
// at 60m with a range of 30m, this range holds the increments in (25m, 60m]
// and the previous one those in (-5m, 30m] (no increment falls at their
// shared edge).
func TestWeeklyReviewFiguresFromTheRecords(t *testing.T) {
	d := weeklyDashboard(t)
	expand := strings.NewReplacer("$__range", "30m", "$service", ".*", "$cluster", ".*").Replace
	files, err := rules.Generate(config.Default(), nil, rules.Options{})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, files[0].Name), files[0].Data, 0o600))

	const sw = `job="steadywatch", instance="sw:9477", `
	series := []inputSeries{
		{`up{job="steadywatch", instance="sw:9477"}`, "1x90"},
		// A: 1 at 7m, 3 from 12m (previous range: 3), 4 from 40m (this: 1).
		{`steadywatch_alerts_received_total{` + sw + `alertname="A", service="db", severity="critical", status="firing"}`, "0x6 1x4 3x27 4x50"},
		// B: first notified at 36m, 4 alerts in it (this: 4).
		{`steadywatch_alerts_received_total{` + sw + `alertname="B", service="web", severity="warning", status="firing"}`, "_x36 4x50"},
		// A's resolved notifications: no firing alert.
		{`steadywatch_alerts_received_total{` + sw + `alertname="A", service="db", severity="critical", status="resolved"}`, "0x44 5x50"},
		// db recoveries of 30 s at 42m and 60 s at 52m (this: MTTR 45 s,
		// 2 samples; previous: none).
		{`steadywatch_recovery_seconds_count{` + sw + `kind="pod_deleted", service="db", group="experimental"}`, "0x41 1x9 2x40"},
		{`steadywatch_recovery_seconds_sum{` + sw + `kind="pod_deleted", service="db", group="experimental"}`, "0x41 30x9 90x40"},
	}
	type want struct {
		title, legend string
		samples       []expSample
	}
	none := []expSample{}
	for _, w := range []want{
		{"Firing alert notifications", "this range", []expSample{{"{}", 5}}},
		{"Firing alert notifications", "previous range", []expSample{{"{}", 3}}},
		{"Firing alert notifications", "change", []expSample{{"{}", 2}}},
		{"MTTR", "this range", []expSample{{"{}", 45}}},
		{"MTTR", "previous range", none},
		{"MTTR samples", "this range", []expSample{{"{}", 2}}},
		{"MTTR samples", "previous range", []expSample{{"{}", 0}}},
		{"Chaos failures recovered", "this range", []expSample{{"{}", 2}}},
		{"Chaos failures recovered", "change", []expSample{{"{}", 2}}},
		{"Most frequent alerts", "A", []expSample{
			{`{alertname="A", service="db", severity="critical"}`, 1},
			{`{alertname="B", service="web", severity="warning"}`, 4},
		}},
		{"Most frequent alerts", "B", []expSample{{`{alertname="A", service="db", severity="critical"}`, 3}}},
		{"MTTD", "this range", none},
		{"MTTD samples", "this range", []expSample{{"{}", 0}}},
	} {
		test := promtoolTest{
			RuleFiles:          []string{files[0].Name},
			EvaluationInterval: "5m", // the weekly group's, which promtool ignores
			Tests: []promtoolCase{{
				Name: w.title + ": " + w.legend, Interval: "1m", InputSeries: series,
				Exprs: []promtoolExpr{{Expr: expand(target(t, d, w.title, w.legend)), EvalTime: "60m", ExpSamples: w.samples}},
			}},
		}
		data, err := yaml.Marshal(test)
		require.NoError(t, err)
		name := strings.NewReplacer(" ", "-", ":", "").Replace(strings.ToLower(w.title+"-"+w.legend)) + "_test.yml"
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
		t.Run(w.title+": "+w.legend, func(t *testing.T) {
			promtest.TestRules(t, filepath.Join(dir, name))
		})
	}
}
