package dashboards_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/model"
	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alertpull"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/dashboards"
	"github.com/steadywatch/steadywatch/detect"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/rules"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

var promql = parser.NewParser(parser.Options{})

// recordingRegisterer registers with a real registry and remembers the
// collectors, so that metric families without series yet (a vector no
// event has touched) can still be named from their descriptors.
type recordingRegisterer struct {
	*prometheus.Registry
	collectors []prometheus.Collector
}

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// idle is a watcher that has synced and seen nothing.
type idle struct{}

func (idle) OpenIncidents() []chaos.Incident     { return nil }
func (idle) Workloads() []tracker.WorkloadStatus { return nil }
func (idle) LastEvent() time.Time                { return time.Time{} }
func (idle) ResourcesSynced() map[string]bool    { return map[string]bool{"pods": true} }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// exportedMetrics builds the registry the way server.Run does, for every
// part that needs no cluster, and returns the names of the series it can
// expose: a histogram's _bucket, _sum and _count, every other family's own
// name.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := &recordingRegisterer{Registry: prometheus.NewRegistry()}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("steadywatch"),
	)
	exporter.NewMetrics(reg)
	reg.MustRegister(exporter.NewStateCollector(idle{}, idle{}))
	reg.MustRegister(exporter.NewVerdictCollector(verdict.NewBoard()))

	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	detector, err := detect.New(detect.Options{Store: db, Alerts: db, Registerer: reg})
	require.NoError(t, err)
	sink := detector.Sink(db)
	_, err = receiver.New(receiver.Options{Sink: sink, Registerer: reg})
	require.NoError(t, err)
	_, err = alertpull.New(alertpull.Options{URL: "http://127.0.0.1:9093", Sink: sink, Registerer: reg})
	require.NoError(t, err)

	names := map[string]bool{}
	for _, c := range reg.collectors {
		suffixes := []string{""}
		// steadywatch has no summaries (whose interface a histogram's
		// matches too).
		switch c.(type) {
		case *prometheus.HistogramVec, prometheus.Histogram:
			suffixes = []string{"_bucket", "_sum", "_count"}
		}
		descs := make(chan *prometheus.Desc, 64)
		go func() {
			c.Describe(descs)
			close(descs)
		}()
		for d := range descs {
			m := fqName.FindStringSubmatch(d.String())
			require.NotNil(t, m, "descriptor %s", d)
			for _, s := range suffixes {
				names[m[1]+s] = true
			}
		}
	}
	// What the registry exposes now must all be among the names: the
	// descriptors are the complete list.
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetType().String() == "HISTOGRAM" {
			require.True(t, names[f.GetName()+"_count"], f.GetName())
			continue
		}
		require.True(t, names[f.GetName()], f.GetName())
	}
	return names
}

// recordedMetrics are the series the generated recording rules write for
// the same configuration and hypotheses.
func recordedMetrics(t *testing.T, o dashboards.Options) map[string]bool {
	t.Helper()
	groups, err := rules.Groups(o.Config, o.Hypotheses, rules.Options{})
	require.NoError(t, err)
	out := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out[r.Record] = true
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// known is steadywatch's exported metrics and the records of the rules
// generated with o.
func known(t *testing.T, exported map[string]bool, o dashboards.Options) map[string]bool {
	t.Helper()
	out := maps.Clone(exported)
	maps.Copy(out, recordedMetrics(t, o))
	return out
}

// prometheusMetrics are the series Prometheus itself writes for a target.
var prometheusMetrics = map[string]bool{"up": true}

// Sample values for Grafana's variables, chosen so that the expression is
// valid PromQL once they are substituted.
var builtins = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "30s",
	"__range":         "3h",
}

var variableRef = regexp.MustCompile(`\$(?:\{(\w+)(?::\w+)?\}|(\w+))`)

// expand substitutes the variables in expr: the dashboard's own with a
// sample value, Grafana's built-ins with durations. A variable that is
// neither is an error: it would reach Prometheus unexpanded.
func expand(expr string, defined map[string]string) (string, error) {
	var unknown []string
	out := variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		if v, ok := builtins[name]; ok {
			return v
		}
		if v, ok := defined[name]; ok {
			return v
		}
		unknown = append(unknown, name)
		return ref
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("undefined variables %v", unknown)
	}
	return out, nil
}

// expression is a PromQL expression of a dashboard and where it is.
type expression struct {
	where, expr string
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// expressions returns every PromQL expression of a dashboard, each with its
// variables substituted: the panels' queries, the annotations' and the
// metric of each label_values() variable query.
func expressions(t *testing.T, d map[string]any) ([]expression, []string) {
	t.Helper()
	var problems []string
	defined := map[string]string{}
	var varQueries []expression
	for _, v := range d["templating"].(map[string]any)["list"].([]any) {
		vm := v.(map[string]any)
		name := vm["name"].(string)
		switch vm["type"] {
		case "interval", "custom":
			// A real value: the first option ("7d", "control").
			first, _, _ := strings.Cut(vm["query"].(string), ",")
			defined[name] = first
		default:
			// As Grafana expands "All" for a regular expression matcher.
			defined[name] = ".*"
		}
		if vm["type"] == "query" {
			m := labelValues.FindStringSubmatch(vm["query"].(string))
			if m == nil {
				problems = append(problems, fmt.Sprintf("variable %s: query %q is not label_values(metric, label)", name, vm["query"]))
				continue
			}
			varQueries = append(varQueries, expression{"variable " + name, m[1]})
		}
	}

	var raw []expression
	for _, p := range panels(d) {
		for i, q := range p["targets"].([]any) {
			raw = append(raw, expression{fmt.Sprintf("panel %v %q target %d", p["id"], p["title"], i), q.(map[string]any)["expr"].(string)})
		}
	}
	for _, a := range d["annotations"].(map[string]any)["list"].([]any) {
		am := a.(map[string]any)
		raw = append(raw, expression{fmt.Sprintf("annotation %q", am["name"]), am["expr"].(string)})
	}
	raw = append(raw, varQueries...)

	out := make([]expression, 0, len(raw))
	for _, e := range raw {
		expanded, err := expand(e.expr, defined)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", e.where, err))
			continue
		}
		out = append(out, expression{e.where, expanded})
	}
	return out, problems
}

// metricNames returns the metric name of every selector in expr; a
// selector without one is an error.
func metricNames(expr parser.Expr) ([]string, error) {
	var names []string
	var err error
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == promlabels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			err = fmt.Errorf("selector %s names no metric", vs)
		}
		names = append(names, name)
		return nil
	})
	return names, err
}

// userMetrics are the metrics the hypotheses' own queries name: the user's,
// not steadywatch's.
func userMetrics(t *testing.T, hs []hypothesis.Hypothesis) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, h := range hs {
		for _, m := range h.Metrics {
			for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
				expr, err := promql.ParseExpr(m.Query(g))
				require.NoError(t, err)
				names, err := metricNames(expr)
				require.NoError(t, err)
				for _, n := range names {
					out[n] = true
				}
			}
		}
	}
	return out
}

// checkExpressions parses every expression of a dashboard and checks the
// metrics it names: steadywatch's own (from its registry) and the records
// of its rules, Prometheus's, or the hypotheses' users'.
func checkExpressions(t *testing.T, d map[string]any, exported, user map[string]bool) []string {
	t.Helper()
	exprs, problems := expressions(t, d)
	for _, e := range exprs {
		parsed, err := promql.ParseExpr(e.expr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v\n%s", e.where, err, e.expr))
			continue
		}
		names, err := metricNames(parsed)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", e.where, err))
		}
		for _, n := range names {
			if n != "" && !exported[n] && !prometheusMetrics[n] && !user[n] {
				problems = append(problems, fmt.Sprintf("%s: %s is not a metric steadywatch exports or its rules record", e.where, n))
			}
		}
	}
	return problems
}

func TestEveryQueryParsesAndNamesExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	for name, o := range cases(t) {
		t.Run(name, func(t *testing.T) {
			files, err := dashboards.Generate(o)
			require.NoError(t, err)
			user := userMetrics(t, o.Hypotheses)
			for _, file := range dashboardFiles {
				d := decode(t, files[file])
				exprs, problems := expressions(t, d)
				require.Empty(t, problems)
				require.NotEmpty(t, exprs)
				require.Empty(t, checkExpressions(t, d, known(t, exported, o), user), file)
			}
		})
	}
}

// Each steadywatch metric the dashboards rely on is among those the
// registry names, so a renamed metric fails the test above rather than
// being silently left out.
func TestRegistryNamesTheMetricContract(t *testing.T) {
	exported := exportedMetrics(t)
	for _, name := range []string{
		"steadywatch_chaos_events_total", "steadywatch_chaos_events_missed_total",
		"steadywatch_recovery_seconds_sum", "steadywatch_detection_seconds_count",
		"steadywatch_time_between_failures_seconds_count", "steadywatch_incidents_undetected_total",
		"steadywatch_alerts_received_total", "steadywatch_hypothesis_verdict", "steadywatch_hypothesis_running",
		"steadywatch_hypothesis_score", "steadywatch_hypothesis_abort", "steadywatch_hypothesis_metric_result",
		"steadywatch_steady_state_value", "steadywatch_hypothesis_effect", "steadywatch_incidents_open",
		"steadywatch_informer_synced", "steadywatch_watch_errors_total", "steadywatch_build_info",
	} {
		require.True(t, exported[name], name)
	}
	require.False(t, exported["steadywatch_incidents_open_sum"], "only histograms have _sum")
}

// The check fails for what it is meant to catch.
func TestExpressionCheckRejects(t *testing.T) {
	exported := known(t, exportedMetrics(t), goldenOptions(t))
	files, err := dashboards.Generate(goldenOptions(t))
	require.NoError(t, err)
	user := userMetrics(t, goldenOptions(t).Hypotheses)

	firstTarget := func(d map[string]any) map[string]any {
		return panels(d)[0]["targets"].([]any)[0].(map[string]any)
	}
	for _, tc := range []struct {
		name string
		expr string
		want string
	}{
		{"a metric steadywatch does not export", `sum(steadywatch_chaos_event_total)`, "steadywatch_chaos_event_total is not a metric steadywatch exports"},
		{"a histogram's series of a gauge", `steadywatch_incidents_open_count`, "is not a metric"},
		{"a user's metric outside their hypotheses", `rate(http_requests_total[5m])`, "http_requests_total is not a metric"},
		{"a syntax error", `sum(rate(steadywatch_chaos_events_total[$__rate_interval])`, "unclosed left parenthesis"},
		{"an undefined variable", `steadywatch_incidents_open{service=~"$services"}`, "undefined variables [services]"},
		{"a selector without a metric name", `{service="x"}`, "names no metric"},
		{"a record no rule writes", `sum(sum_over_time(service:steadywatch_alerts_received:increase5m[$__range]))`, "service:steadywatch_alerts_received:increase5m is not a metric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decode(t, files[dashboards.ReliabilityJSON])
			firstTarget(d)["expr"] = tc.expr
			problems := checkExpressions(t, d, exported, user)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
	// And the hypotheses' own metrics pass only in their dashboards' check.
	d := decode(t, files[dashboards.ReliabilityJSON])
	firstTarget(d)["expr"] = `sum(pg_up)`
	require.Empty(t, checkExpressions(t, d, exported, user))
	require.NotEmpty(t, checkExpressions(t, d, exported, map[string]bool{}))
	require.Contains(t, slices.Collect(maps.Keys(user)), "pg_up")
	// And a record its rules write passes.
	firstTarget(d)["expr"] = `sum(sum_over_time(` + rules.WeeklyUndetected + `[$__range]))`
	require.Empty(t, checkExpressions(t, d, exported, user))
}

// Every query of every dashboard — panels, annotations and the other
// variables' label_values — shows only the clusters the cluster variable
// chose, and the variable offers the clusters steadywatch's build_info
// names, All (".*", series without the label too) by default.
func TestEveryQueryIsFilteredByTheClusterVariable(t *testing.T) {
	const chosen = "chosen-cluster"
	for name, o := range cases(t) {
		t.Run(name, func(t *testing.T) {
			files, err := dashboards.Generate(o)
			require.NoError(t, err)
			for _, file := range dashboardFiles {
				d := decode(t, files[file])
				var cluster map[string]any
				for _, v := range d["templating"].(map[string]any)["list"].([]any) {
					if vm := v.(map[string]any); vm["name"] == "cluster" {
						cluster = vm
					}
				}
				require.NotNil(t, cluster, "%s has no cluster variable", file)
				require.Equal(t, "query", cluster["type"])
				require.Equal(t, "label_values(steadywatch_build_info, cluster)", cluster["query"])
				require.Equal(t, true, cluster["multi"])
				require.Equal(t, true, cluster["includeAll"])
				require.Equal(t, ".*", cluster["allValue"])

				// Expanded to one cluster, every selector must match on it.
				cluster["type"], cluster["query"] = "custom", chosen
				exprs, problems := expressions(t, d)
				require.Empty(t, problems)
				require.NotEmpty(t, exprs)
				for _, e := range exprs {
					parsed, err := promql.ParseExpr(e.expr)
					require.NoError(t, err, e.where)
					selectors := 0
					parser.Inspect(parsed, func(n parser.Node, _ []parser.Node) error {
						vs, ok := n.(*parser.VectorSelector)
						if !ok {
							return nil
						}
						selectors++
						require.True(t, slices.ContainsFunc(vs.LabelMatchers, func(m *promlabels.Matcher) bool {
							return m.Name == "cluster" && m.Type == promlabels.MatchRegexp && m.Value == chosen
						}), "%s: %s is not filtered by the cluster variable", e.where, vs)
						return nil
					})
					require.Positive(t, selectors, e.where)
				}
			}
		})
	}
}
