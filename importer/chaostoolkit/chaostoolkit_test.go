package chaostoolkit_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/importer/chaostoolkit"
)

// want is a metric the import must produce: its query for the
// experimental group (steadywatch_io_group="experimental" put into every
// selector) and its SLO bound.
type want struct {
	name      string
	query     string
	min, max  float64
	aggregate hypothesis.Aggregate
}

var inf = math.Inf(1)

// The fixtures are shaped after the sources named in their comments (YAML)
// or below (JSON):
//   - prometheus-readme.json: the two probes of the chaostoolkit-prometheus
//     README (https://github.com/chaostoolkit-incubator/chaostoolkit-prometheus/blob/master/README.md)
//     with a list and a range tolerance, an http probe as in
//     https://dev.to/mikotian/running-a-simple-chaos-toolkit-experiment-a5a, and
//     chaosk8s' terminate_pods as the method.
//   - tabs.json: a JSON experiment indented with tabs, as editors write them.
func TestImportTurnsPrometheusProbesIntoMetrics(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		opts    chaostoolkit.Options
		want    []want
		skipped []string
		ignored []string
		assumed []string
	}{
		{
			name: "the README's query and query_interval probes become bounded metrics and the rest is named",
			file: "prometheus-readme.json",
			want: []want{
				{name: "fetch-cpu-just-2mn-ago", query: `rate(process_cpu_seconds_total{job="websvc", steadywatch_io_group="experimental" }[1m])`, min: 0, max: 0.8},
				{name: "fetch-cpu-over-interval", query: `sum(rate(process_cpu_seconds_total{job="websvc", steadywatch_io_group="experimental" }[1m]))`, min: 0.05, max: 0.9},
			},
			skipped: []string{
				`testdata/prometheus-readme.json:11: steady-state-hypothesis.probes[0] "websvc-front-page-must-be-ok": skipped: an http probe; steadywatch imports Prometheus queries (chaosprometheus.probes) only`,
			},
			ignored: []string{
				`testdata/prometheus-readme.json:6: configuration.prometheus_base_url: not imported: steadywatch verdict takes the Prometheus URL as --prometheus (or verdicts.prometheus_url in the configuration)`,
				`testdata/prometheus-readme.json:53: method: not imported: 1 activity (terminate-websvc-pod): steadywatch does not run the chaos, it judges the window around the chaos events it records`,
			},
			assumed: []string{
				`spec.service: "web-service-survives-the-loss-of-a-pod" (from the title): set it to the service label of the chaos events steadywatch records for this experiment, or pass --service`,
				`spec.groups: the queries tell the groups apart by steadywatch_io_group="control" and steadywatch_io_group="experimental": if your series carry other labels, edit spec.groups or pass --control and --experimental`,
			},
		},
		{
			name: "a lab's Python tolerance is skipped, configuration values are put into queries and an unknown one is named",
			file: "lab-front-middle.yaml",
			opts: chaostoolkit.Options{Name: "front-middle", Service: "back", Control: `track="stable"`, Experimental: `track="canary"`},
			want: []want{
				{name: "failed-calls-to-middle-stay-rare", query: `sum(rate(failed_call_total{to="middle", track="canary" }[1m]))`, min: 0, max: 0.5},
			},
			skipped: []string{
				`testdata/lab-front-middle.yaml:20: steady-state-hypothesis.probes[0] "front-service-must-be-ok": skipped: an http probe; steadywatch imports Prometheus queries (chaosprometheus.probes) only`,
				`testdata/lab-front-middle.yaml:26: steady-state-hypothesis.probes[1] "fetch-number-of-failed-calls-from-front-to-middle": skipped: its tolerance is a probe (tolerances.error_count_should_not_grow) that runs Python on the response, which steadywatch cannot run: write its condition as a min and/or max`,
				`testdata/lab-front-middle.yaml:61: steady-state-hypothesis.probes[3] "middle-latency": skipped: its query uses ${zone}, which the experiment's configuration does not define: write the value into the query`,
			},
			ignored: []string{
				`testdata/lab-front-middle.yaml:11: configuration.prometheus_base_url: not imported: steadywatch verdict takes the Prometheus URL as --prometheus (or verdicts.prometheus_url in the configuration)`,
				`testdata/lab-front-middle.yaml:70: method: not imported: 3 activities (simulate-some-traffic, deny-all-ingress-traffic, fetch-application-logs): steadywatch does not run the chaos, it judges the window around the chaos events it records`,
				`testdata/lab-front-middle.yaml:94: rollbacks: not imported: 1 activity (remove-deny-all-ingress-traffic): steadywatch does not run the chaos, it judges the window around the chaos events it records`,
			},
		},
		{
			name: "each tolerance form is imported as a bound or skipped with its reason",
			file: "tolerances.yaml",
			opts: chaostoolkit.Options{Service: "checkout"},
			want: []want{
				{name: "checkout-error-ratio", query: `sum(rate(http_requests_total{code=~"5..",service="checkout", steadywatch_io_group="experimental" }[5m])) / sum(rate(http_requests_total{service="checkout", steadywatch_io_group="experimental" }[5m]))`, min: 0, max: 0.01},
				{name: "checkout-p99-mean-over-a-day", query: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout", steadywatch_io_group="experimental" }[5m])))`, min: 0, max: 0.5},
				{name: "nodes-cpu", query: `100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle", steadywatch_io_group="experimental" }[1m])))`, min: 0, max: inf},
			},
			skipped: []string{
				`testdata/tolerances.yaml:37: steady-state-hypothesis.probes[3] "no-5xx": skipped: tolerance 0 asks for exactly that value, and an SLO is a min and/or a max: if the value cannot be negative, slo: {max: 0} says the same`,
				`testdata/tolerances.yaml:46: steady-state-hypothesis.probes[4] "first-result-is-zero": skipped: its tolerance is a jsonpath test of the response ($.data.result[0].value[1]), which steadywatch cannot express: write its condition as a min and/or max`,
				`testdata/tolerances.yaml:58: steady-state-hypothesis.probes[5] "status-success": skipped: its tolerance is a regex test of the response, which steadywatch cannot express: write its condition as a min and/or max`,
				`testdata/tolerances.yaml:66: steady-state-hypothesis.probes[6] "checkout-up": skipped: tolerance true compares the probe's whole output with true, and an SLO is a min and/or a max of the query's value`,
				`testdata/tolerances.yaml:74: steady-state-hypothesis.probes[7] "redis-replicas": skipped: tolerance [1, 2, 3] is a list of allowed values, and an SLO is a min and/or a max: a list of two numbers is a range`,
				`testdata/tolerances.yaml:82: steady-state-hypothesis.probes[8] "no-selector": skipped: its query selects no series, so there is nothing to tell the groups apart by`,
				`testdata/tolerances.yaml:90: steady-state-hypothesis.probes[9] "range-vector": skipped: its query is a range vector, want an instant vector or a scalar`,
				`testdata/tolerances.yaml:98: steady-state-hypothesis.probes[10] "bad-promql": skipped: its query does not parse: 1:48: parse error: unexpected character inside braces: '['`,
				`testdata/tolerances.yaml:106: steady-state-hypothesis.probes[11] "pods-ready": skipped: a Python probe of chaosk8s.pod.probes; steadywatch imports Prometheus queries (chaosprometheus.probes) only`,
				`testdata/tolerances.yaml:114: steady-state-hypothesis.probes[12] "made-up-function": skipped: chaosprometheus.probes has no function query_instant; steadywatch imports query, query_interval, compute_mean and nodes_cpu_usage_mean`,
				`testdata/tolerances.yaml:122: steady-state-hypothesis.probes[13] "grep-log": skipped: a process probe; steadywatch imports Prometheus queries (chaosprometheus.probes) only`,
				`testdata/tolerances.yaml:126: steady-state-hypothesis.probes[14] "range-with-target": skipped: its range tolerance has target data, a field of the probe's output rather than the query's value`,
				`testdata/tolerances.yaml:134: steady-state-hypothesis.probes[15] "empty-range": skipped: tolerance [1, 0] holds no value: its low bound is above its high bound`,
				`testdata/tolerances.yaml:142: steady-state-hypothesis.probes[16] "from-the-environment": skipped: its query uses ${job}, which the configuration takes from the environment variable CHECKOUT_JOB: write the value into the query`,
			},
			assumed: []string{
				`spec.groups: the queries tell the groups apart by steadywatch_io_group="control" and steadywatch_io_group="experimental": if your series carry other labels, edit spec.groups or pass --control and --experimental`,
			},
		},
		{
			name: "JSON indented with tabs is read, and a probe name that is no DNS label is made one",
			file: "tabs.json",
			opts: chaostoolkit.Options{Service: "web"},
			want: []want{
				{name: "up-targets", query: `count(up{ steadywatch_io_group="experimental" } == 1)`, min: 1, max: 100},
			},
			assumed: []string{
				`spec.groups: the queries tell the groups apart by steadywatch_io_group="control" and steadywatch_io_group="experimental": if your series carry other labels, edit spec.groups or pass --control and --experimental`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			res, err := chaostoolkit.Import(data, path, tc.opts)
			require.NoError(t, err)
			require.Equal(t, tc.skipped, lines(res.Skipped), "skipped")
			require.Equal(t, tc.ignored, lines(res.Ignored), "ignored")
			require.Equal(t, tc.assumed, lines(res.Assumed), "assumed")

			// The output loads as a hypothesis file, with the metrics wanted.
			out := filepath.Join(t.TempDir(), "imported.yaml")
			require.NoError(t, os.WriteFile(out, res.File, 0o600)) //nolint:gosec // the test's own temporary directory
			hyps, err := hypothesis.Load(out)
			require.NoError(t, err, "%s", res.File)
			require.Len(t, hyps, 1)
			h := hyps[0]
			require.Len(t, h.Metrics, len(tc.want), "%s", res.File)
			for i, w := range tc.want {
				m := h.Metrics[i]
				require.Equal(t, w.name, m.Name)
				require.Equal(t, w.query, m.Query(chaos.Experimental))
				require.NotNil(t, m.SLO, "%s has no SLO", m.Name)
				require.Equal(t, hypothesis.Bound{Min: w.min, Max: w.max}, *m.SLO, m.Name)
				require.Equal(t, w.aggregate, m.Aggregate, m.Name)
				require.False(t, m.Compared(), "Chaos Toolkit has no control group to compare with")
			}
			if tc.opts.Service != "" {
				require.Equal(t, tc.opts.Service, h.Service)
			}
			if tc.opts.Name != "" {
				require.Equal(t, tc.opts.Name, h.Name)
			}
			if tc.opts.Control != "" {
				require.Equal(t, hypothesis.Groups{Control: tc.opts.Control, Experimental: tc.opts.Experimental}, h.Groups)
			}
			require.NotNil(t, h.Window.Events, "the window comes from the chaos events")
		})
	}
}

func lines(notes []chaostoolkit.Note) []string {
	var out []string
	for _, n := range notes {
		out = append(out, n.String())
	}
	return out
}

// A bound's side is the Chaos Toolkit's, inclusive at both ends, and the
// metric keeps exactly the numbers written: just inside passes, just
// outside fails.
func TestImportKeepsTheBoundsExactly(t *testing.T) {
	data := []byte(`
title: bounds
steady-state-hypothesis:
  title: t
  probes:
    - name: p
      type: probe
      tolerance: [0.1, 0.3]
      provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: x}}
`)
	res, err := chaostoolkit.Import(data, "b.yaml", chaostoolkit.Options{Service: "s"})
	require.NoError(t, err)
	hyps, err := hypothesis.Parse(res.File, "out.yaml")
	require.NoError(t, err)
	slo := hyps[0].Metrics[0].SLO
	for _, tc := range []struct {
		v    float64
		want bool
	}{
		{0.1, true},
		{0.3, true},
		{math.Nextafter(0.1, 0), false},
		{math.Nextafter(0.3, 1), false},
	} {
		require.Equal(t, tc.want, slo.Contains(tc.v), "%v", tc.v)
	}
}

// A probe name that two probes make the same metric name keeps both.
func TestImportKeepsMetricNamesUnique(t *testing.T) {
	data := []byte(`{"title": "dup", "steady-state-hypothesis": {"title": "t", "probes": [
	  {"name": "Error Rate", "type": "probe", "tolerance": [0, 1], "provider": {"type": "python", "module": "chaosprometheus.probes", "func": "query", "arguments": {"query": "a"}}},
	  {"name": "error-rate", "type": "probe", "tolerance": [0, 2], "provider": {"type": "python", "module": "chaosprometheus.probes", "func": "query", "arguments": {"query": "b"}}}
	]}}`)
	res, err := chaostoolkit.Import(data, "dup.json", chaostoolkit.Options{Service: "s"})
	require.NoError(t, err)
	hyps, err := hypothesis.Parse(res.File, "out.yaml")
	require.NoError(t, err)
	require.Equal(t, "error-rate", hyps[0].Metrics[0].Name)
	require.Equal(t, "error-rate-2", hyps[0].Metrics[1].Name)
}

func TestImportRefusesBadExperiments(t *testing.T) {
	const probe = `{name: p, type: probe, tolerance: [0, 1], provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: x}}}`
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"a syntax error names its line", "{\"title\": \"x\",\n  \"method\": [}\n", `e.json:2: invalid JSON: invalid character '}' looking for beginning of value`},
		{"an experiment that is a list", "- a\n- b\n", `e.json:1: want a mapping (a Chaos Toolkit experiment), got !!seq`},
		{"an empty file", "", `e.json: no Chaos Toolkit experiment in the file`},
		{"no steady-state hypothesis", "title: x\nmethod: []\n", `e.json: steady-state-hypothesis: missing: the experiment has no steady-state probes to import`},
		{"probes that are not a list", "steady-state-hypothesis:\n  title: t\n  probes: {a: 1}\n", `e.json:3: steady-state-hypothesis.probes: want a list, got !!map`},
		{"no probes", "steady-state-hypothesis:\n  title: t\n  probes: []\n", `e.json:3: steady-state-hypothesis.probes: empty: no steady-state probes to import`},
		{"a probe that is a string", "steady-state-hypothesis:\n  title: t\n  probes:\n    - p\n", `e.json:4: steady-state-hypothesis.probes[0]: want a mapping (a probe), got !!str ` + "`p`"},
		{"a probe without a name", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {type: probe, tolerance: 1, provider: {type: http, url: u}}\n", `e.json:4: steady-state-hypothesis.probes[0].name: missing`},
		{"a probe without a provider", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, tolerance: 1}\n", `e.json:4: steady-state-hypothesis.probes[0] "p".provider: missing`},
		{"a duplicate key", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, name: q, type: probe, tolerance: 1, provider: {type: http}}\n", `e.json:4: steady-state-hypothesis.probes[0].name: duplicate key (also line 4)`},
		{
			"a Prometheus probe without a tolerance", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: x}}}\n",
			`e.json:4: steady-state-hypothesis.probes[0] "p".tolerance: missing: Chaos Toolkit requires one on every probe of the hypothesis`,
		},
		{
			"a query that is a number", "steady-state-hypothesis:\n  title: t\n  probes:\n    - name: p\n      type: probe\n      tolerance: [0, 1]\n      provider:\n        type: python\n        module: chaosprometheus.probes\n        func: query\n        arguments:\n          query: 5\n",
			"e.json:12: steady-state-hypothesis.probes[0] \"p\".provider.arguments.query: want a string, got !!int `5`",
		},
		{
			"a Prometheus probe without a query", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, tolerance: [0, 1], provider: {type: python, module: chaosprometheus.probes, func: query_interval, arguments: {start: 1 minute ago}}}\n",
			`e.json:4: steady-state-hypothesis.probes[0] "p".provider.arguments.query: missing`,
		},
		{
			"a range with a bound that is no number", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, tolerance: {type: range, range: [0, high]}, provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: x}}}\n",
			"e.json:4: steady-state-hypothesis.probes[0] \"p\".tolerance.range[1]: want a number, got !!str `high`",
		},
		{
			"a range of three numbers", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, tolerance: {type: range, range: [0, 1, 2]}, provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: x}}}\n",
			`e.json:4: steady-state-hypothesis.probes[0] "p".tolerance.range: want two numbers [low, high], got 3 values`,
		},
		{
			"a range tolerance without its range", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, tolerance: {type: range}, provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: x}}}\n",
			`e.json:4: steady-state-hypothesis.probes[0] "p".tolerance.range: missing`,
		},
		{
			"an unknown tolerance type", "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, tolerance: {type: between}, provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: x}}}\n",
			`e.json:4: steady-state-hypothesis.probes[0] "p".tolerance.type: "between" is not one of probe, regex, jsonpath, range`,
		},
		{"a name that is no DNS label", "title: t\nsteady-state-hypothesis:\n  title: t\n  probes:\n    - " + probe + "\n", `name: "Bad_Name" is not a valid name: `},
		{"group selectors that are the same", "title: t\nsteady-state-hypothesis:\n  title: t\n  probes:\n    - " + probe + "\n", `experimental: must select other series than spec.groups.control (both are {a="1"})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := chaostoolkit.Options{Service: "s"}
			switch tc.name {
			case "a name that is no DNS label":
				opts.Name = "Bad_Name"
			case "group selectors that are the same":
				opts.Control, opts.Experimental = `a="1"`, `a="1"`
			}
			res, err := chaostoolkit.Import([]byte(tc.in), "e.json", opts)
			require.Error(t, err)
			require.Nil(t, res)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// With nothing to import there is no file, but the reasons are given.
func TestImportWithNothingToImportSaysWhy(t *testing.T) {
	in := "steady-state-hypothesis:\n  title: t\n  probes:\n    - {name: p, type: probe, tolerance: 200, provider: {type: http, url: u}}\n"
	res, err := chaostoolkit.Import([]byte(in), "e.yaml", chaostoolkit.Options{Service: "s"})
	require.ErrorIs(t, err, chaostoolkit.ErrNothingImported)
	require.EqualError(t, err, `e.yaml: nothing to import: none of the 1 steady-state probes is a Prometheus query with a min/max tolerance`)
	require.NotNil(t, res)
	require.Nil(t, res.File)
	require.Equal(t, []string{`e.yaml:4: steady-state-hypothesis.probes[0] "p": skipped: an http probe; steadywatch imports Prometheus queries (chaosprometheus.probes) only`}, lines(res.Skipped))
}
