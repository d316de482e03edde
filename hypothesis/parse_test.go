package hypothesis

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

func TestLoadRejectsEachInvalidFileWithItsExactMessage(t *testing.T) {
	for _, tc := range invalidFiles {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := Load(path)
			require.EqualError(t, err, tc.want)

			var herr *Error
			require.ErrorAs(t, err, &herr)
			require.Equal(t, path, herr.File)
			require.Positive(t, herr.Line)
		})
	}
}

func TestEveryInvalidFileHasAnExpectedMessage(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yaml"))
	require.NoError(t, err)
	tested := make(map[string]bool)
	for _, tc := range invalidFiles {
		require.False(t, tested[tc.file], "%s is tested twice", tc.file)
		tested[tc.file] = true
	}
	require.GreaterOrEqual(t, len(files), 30)
	for _, f := range files {
		require.True(t, tested[filepath.Base(f)], "%s has no test case", f)
	}
	require.Len(t, tested, len(files))
}

func TestParseReadsEveryFieldOfTheGoodFile(t *testing.T) {
	hs, err := Load(filepath.Join("testdata", "good.yaml"))
	require.NoError(t, err)
	require.Len(t, hs, 1)
	h := hs[0]
	groups := Groups{
		Control:      `group="control", app_kubernetes_io_part_of="scale"`,
		Experimental: `group="experimental", app_kubernetes_io_part_of="scale"`,
	}
	want := Hypothesis{
		Name:        "kill-postgres-replica",
		Description: "Killing one Postgres replica does not hurt the API",
		Service:     "postgres",
		Namespace:   "pipeline",
		Groups:      groups,
		Window: Window{Events: &EventWindow{
			Kinds:    []chaos.Kind{chaos.PodDeleted, chaos.WorkloadDegraded},
			Lookback: 2 * time.Hour,
			Before:   time.Minute,
			After:    15 * time.Minute,
		}},
		Baseline: 45 * time.Minute,
		Step:     30 * time.Second,
		Metrics: []Metric{
			{
				Name:          "api-p99-latency",
				Value:         mustTemplate(t, "histogram_quantile(0.99,\n  sum by (le) (rate(flask_http_request_duration_seconds_bucket{ {{ .Group }} }[1m])))\n"),
				Direction:     HigherIsWorse,
				AllowedEffect: 0.2,
				Critical:      true,
				Weight:        2,
				SLO:           &Bound{Min: 0.001, Max: 0.5},
				groups:        groups,
			},
			{
				Name: "api-error-ratio",
				Ratio: &Ratio{
					Errors:   mustTemplate(t, `sum(rate(flask_http_request_total{status=~"5..", {{.Group}}}[1m]))`),
					Total:    mustTemplate(t, `sum(rate(flask_http_request_total{{{ .Group }}}[1m]))`),
					MinTotal: 250,
				},
				Direction:     Either,
				AllowedEffect: 0.5,
				Weight:        1,
				SLO:           &Bound{Min: math.Inf(-1), Max: 0.01},
				Aggregate:     AggregateSum,
				groups:        groups,
			},
		},
		Recovery: Recovery{
			MTTR: 2 * time.Minute,
			Alerts: []AlertExpectation{
				{Name: "PostgresReplicaDown", Within: 5 * time.Minute},
				{Name: "ScaleAppErrors", Matchers: labels.Matchers{
					mustMatcher(t, labels.MatchEqual, "service", "scale-app"),
					mustMatcher(t, labels.MatchRegexp, "severity", "page|critical"),
				}, Within: 3 * time.Minute},
			},
			HPA:              &HPAExpectation{Name: "scale-app", MinReplicas: 6, Within: 3 * time.Minute, BaselineWithin: 10 * time.Minute},
			ReplacementReady: time.Minute,
		},
		Judgement: Judgement{Confidence: 0.95, PassScore: 90, MarginalScore: 70, MinJudged: 0.5, AbortOnHardBound: false},
		Source:    Source{File: filepath.Join("testdata", "good.yaml"), Line: 2},
	}
	h.lines = nil
	require.Equal(t, want, h)
}

func mustMatcher(t *testing.T, mt labels.MatchType, name, value string) *labels.Matcher {
	t.Helper()
	m, err := labels.NewMatcher(mt, name, value)
	require.NoError(t, err)
	return m
}

func mustTemplate(t *testing.T, s string) Template {
	t.Helper()
	tmpl, err := parseTemplate("query", s)
	require.Nil(t, err)
	return tmpl
}

func TestTheGoodFileSetsEveryField(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "good.yaml"))
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	f := defaultFile()
	d := newDecoder("good.yaml")
	require.Nil(t, decode(d, doc.Content[0], "", reflect.ValueOf(&f).Elem()))
	set := make(map[string]bool)
	for p := range d.Lines() {
		set[indexless(p)] = true
	}
	for _, path := range fieldPaths(reflect.TypeFor[fileHypothesis](), "") {
		if strings.HasPrefix(path, "spec.window.fixed.") || strings.HasPrefix(path, "spec.window.experiment.") {
			continue // exclusive with events; minimal.yaml and TestParseReadsEveryFieldOfAnExperimentWindow have them
		}
		require.True(t, set[path], "good.yaml does not set %s", path)
	}
}

// indexless removes list indexes from a field path.
func indexless(p string) string {
	var b strings.Builder
	skip := false
	for _, r := range p {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fieldPaths lists the YAML paths of the leaf fields of t, lists' elements
// without their index.
func fieldPaths(t reflect.Type, prefix string) []string {
	var paths []string
	fields, _ := yamlnode.StructFields(t)
	for name, i := range fields {
		path := yamlnode.JoinPath(prefix, name)
		ft := t.Field(i).Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[timestamp]() {
			paths = append(paths, fieldPaths(ft, path)...)
		} else {
			paths = append(paths, path)
		}
	}
	return paths
}

func TestParseFillsWhatTheMinimalFileLeavesOutWithDefaults(t *testing.T) {
	hs, err := Load(filepath.Join("testdata", "minimal.yaml"))
	require.NoError(t, err)
	require.Len(t, hs, 1)
	h := hs[0]
	require.Equal(t, DefaultBaseline, h.Baseline)
	require.Equal(t, DefaultStep, h.Step)
	require.Equal(t, Judgement{
		Confidence:       DefaultConfidence,
		PassScore:        DefaultPassScore,
		MarginalScore:    DefaultMarginalScore,
		MinJudged:        DefaultMinJudged,
		AbortOnHardBound: DefaultAbortOnHardBound,
	}, h.Judgement)
	require.Equal(t, time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), h.Window.Fixed.Start)
	require.True(t, h.Window.Fixed.End.Equal(time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)), "end is %s", h.Window.Fixed.End)
	require.Empty(t, h.Metrics)
	require.Equal(t, Recovery{MTTR: time.Minute}, h.Recovery)
}

func TestParseDefaultsOfSectionsAndListEntries(t *testing.T) {
	hs, err := Parse([]byte(minimalWith(`
  window: {events: {}}
  metrics:
    - name: errors
      ratio:
        errors: sum(rate(e{ {{ .Group }} }[1m]))
        total: sum(rate(t{ {{ .Group }} }[1m]))
      slo: {max: 0.1}
`)), "h.yaml")
	require.NoError(t, err)
	h := hs[0]
	require.Equal(t, &EventWindow{Kinds: chaos.Kinds, Lookback: DefaultLookback, After: DefaultAfter}, h.Window.Events)
	require.InDelta(t, DefaultWeight, h.Metrics[0].Weight, 0)
	require.InDelta(t, DefaultMinTotal, h.Metrics[0].Ratio.MinTotal, 0)
	require.False(t, h.Metrics[0].Compared())
}

// minimalWith returns a valid hypothesis named "h" with extra lines added
// to its spec, which may replace its window and recovery.
func minimalWith(spec string) string {
	doc := "apiVersion: steadywatch.io/v1alpha1\nkind: Hypothesis\nmetadata: {name: h}\nspec:\n" +
		"  service: web\n  groups: {control: 'g=\"c\"', experimental: 'g=\"e\"'}\n"
	if !strings.Contains(spec, "  window:") {
		doc += "  window: {fixed: {start: 2026-11-21T10:00:00Z, end: 2026-11-21T10:30:00Z}}\n"
	}
	if !strings.Contains(spec, "  recovery:") && !strings.Contains(spec, "  metrics:") {
		doc += "  recovery: {mttr: 1m}\n"
	}
	return doc + strings.TrimPrefix(spec, "\n")
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{
			"an empty file holds no hypothesis",
			"",
			"h.yaml: no hypothesis in the file",
		},
		{
			"a byte that is not UTF-8 names its line and column",
			strings.Replace(minimalWith("  recovery: {mttr: 1m}\n"), "service: web", "service: w\xffb", 1),
			"h.yaml:5: column 13: invalid UTF-8 (byte 0xff): the file must be UTF-8",
		},
		{
			"a NUL byte names its line and column",
			strings.Replace(minimalWith("  recovery: {mttr: 1m}\n"), "service: web", "service: w\x00b", 1),
			"h.yaml:5: column 13: control character U+0000 is not allowed in YAML",
		},
		{
			"a file of comments and empty documents holds no hypothesis",
			"# nothing\n---\n---\n~\n",
			"h.yaml: no hypothesis in the file",
		},
		{
			"a PromQL error in a plain scalar over two lines points at the second",
			minimalWith("  metrics:\n    - name: m\n      query: sum(rate(x{ {{ .Group }} }[1m]))\n        / sum(rate(y{ {{ .Group }} }[1m])\n      slo: {max: 1}\n"),
			"h.yaml:11: spec.metrics[0].query: parse error at char 34: unclosed left parenthesis",
		},
		{
			"a PromQL error in a quoted scalar counts from the quote",
			minimalWith("  metrics:\n    - name: m\n      query: 'sum(rate(x{ {{ .Group }} }[1m])) by le'\n      slo: {max: 1}\n"),
			`h.yaml:10: spec.metrics[0].query: parse error at char 37: unexpected identifier "le" in grouping opts, expected "("`,
		},
		{
			"an error in a query given through an alias points at the anchor",
			minimalWith("  metrics:\n    - name: m\n      query: &q 'x{ {{ .Group }} '\n      slo: {max: 1}\n    - name: n\n      query: *q\n      slo: {max: 1}\n"),
			`h.yaml:10: spec.metrics[0].query: parse error at char 17: unexpected end of input inside braces`,
		},
		{
			"a query that fails only with the experimental matchers says so",
			strings.Replace(minimalWith("  metrics:\n    - name: m\n      query: 'x{ {{ .Group }} }'\n      slo: {max: 1}\n"),
				`experimental: 'g="e"'`, `experimental: 'g="e", le="1"'`, 1),
			"",
		},
		{
			"a bad value in a flow mapping names its field",
			minimalWith("  judgement: {confidence: 0.9, passScore: high}\n"),
			"h.yaml:9: spec.judgement.passScore: want a number, got !!str `high`",
		},
		{
			"an integer too large for its field is rejected",
			minimalWith("  recovery: {hpa: {name: a, minReplicas: 100000000000000000000, within: 1m, baselineWithin: 1m}}\n"),
			"h.yaml:8: spec.recovery.hpa.minReplicas: want an integer, got !!float `1000000...`",
		},
		{
			"an infinite weight is rejected",
			minimalWith("  metrics:\n    - {name: m, query: 'x{ {{ .Group }} }', slo: {max: 1}, weight: .inf}\n"),
			"h.yaml:9: spec.metrics[0].weight: must be a number greater than 0, got +Inf",
		},
		{
			"a NaN SLO bound is rejected",
			minimalWith("  metrics:\n    - {name: m, query: 'x{ {{ .Group }} }', slo: {max: .nan}}\n"),
			"h.yaml:9: spec.metrics[0].slo.max: must be a finite number, got NaN",
		},
		{
			"an unknown anchor is reported without a line",
			minimalWith("  step: *nowhere\n"),
			"h.yaml: unknown anchor 'nowhere' referenced",
		},
		{
			"a mapping key that is a list is rejected",
			"? [a]\n: 1\n",
			"h.yaml:1: mapping key must be a scalar, not !!seq",
		},
		{
			"an unknown field brought in by a merge is rejected at its own line",
			minimalWith("  judgement: &j\n    confidence: 0.9\n  baseline:\n    <<: *j\n"),
			"h.yaml:10: spec.baseline: unknown field \"confidence\", want one of duration",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data), "h.yaml")
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
			var herr *Error
			require.ErrorAs(t, err, &herr)
		})
	}
}

func TestParseWithoutAFilenameNamesOnlyTheLine(t *testing.T) {
	_, err := Parse([]byte(minimalWith("  step: 0s\n")), "")
	require.EqualError(t, err, "line 9: spec.step: must be greater than 0, got 0s")
}

func TestParseReadsEveryDocumentOfAFile(t *testing.T) {
	one := minimalWith("")
	two := strings.Replace(one, "name: h", "name: i", 1)
	hs, err := Parse([]byte("# two hypotheses\n---\n"+one+"---\n---\n"+two), "h.yaml")
	require.NoError(t, err)
	require.Len(t, hs, 2)
	require.Equal(t, "h", hs[0].Name)
	require.Equal(t, Source{File: "h.yaml", Line: 3}, hs[0].Source)
	require.Equal(t, "i", hs[1].Name)
	require.Equal(t, Source{File: "h.yaml", Line: 3 + strings.Count(one, "\n") + 2}, hs[1].Source)
}

func TestPositionNamesTheLineOfAFieldOrItsClosestParent(t *testing.T) {
	hs, err := Load(filepath.Join("testdata", "good.yaml"))
	require.NoError(t, err)
	h := &hs[0]
	file := filepath.Join("testdata", "good.yaml")
	require.Equal(t, Source{File: file, Line: 24}, h.Position("spec.metrics[0].query"))
	require.Equal(t, Source{File: file, Line: 34}, h.Position("spec.metrics[1].ratio.errors"))
	require.Equal(t, Source{File: file, Line: 33}, h.Position("spec.metrics[1].ratio.nothing"), "the line of the section's key")
	require.Equal(t, Source{File: file, Line: 2}, h.Position("nothing"))
	require.Equal(t, file+":24", h.Position("spec.metrics[0].query").String())
}

func TestSourceStringsLeaveOutWhatIsUnknown(t *testing.T) {
	require.Equal(t, "a.yaml:3", Source{File: "a.yaml", Line: 3}.String())
	require.Equal(t, "a.yaml", Source{File: "a.yaml"}.String())
	require.Equal(t, "line 3", Source{Line: 3}.String())
}

func TestLoadReadsADirectoryInOrderSkippingOtherFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	write("b.yml", strings.Replace(minimalWith(""), "name: h", "name: b", 1))
	write("a.yaml", strings.Replace(minimalWith(""), "name: h", "name: a", 1))
	write("c.yaml.bak", "not: a hypothesis")
	write(".hidden.yaml", "not: a hypothesis")
	write("README.md", "# not a hypothesis")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o750))
	hs, err := Load(dir)
	require.NoError(t, err)
	require.Len(t, hs, 2)
	require.Equal(t, "a", hs[0].Name)
	require.Equal(t, filepath.Join(dir, "a.yaml"), hs[0].Source.File)
	require.Equal(t, "b", hs[1].Name)

	extra := filepath.Join(t.TempDir(), "extra.txt")
	require.NoError(t, os.WriteFile(extra, []byte(strings.Replace(minimalWith(""), "name: h", "name: x", 1)), 0o600))
	hs, err = Load(extra, dir)
	require.NoError(t, err)
	require.Len(t, hs, 3, "a file named explicitly is read whatever its extension")
}

func TestLoadRejectsANameGivenInTwoFilesNamingBoth(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.yaml", "b.yaml"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(minimalWith("")), 0o600))
	}
	_, err := Load(dir)
	require.EqualError(t, err, filepath.Join(dir, "b.yaml")+`:3: metadata.name: duplicate hypothesis "h" (also `+filepath.Join(dir, "a.yaml")+`:3)`)
}

func TestLoadErrors(t *testing.T) {
	_, err := Load()
	require.EqualError(t, err, "no hypothesis files given")

	_, err = Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	dir := t.TempDir()
	_, err = Load(dir)
	require.EqualError(t, err, dir+": no *.yaml or *.yml files in the directory")
	var herr *Error
	require.ErrorAs(t, err, &herr)
}

func TestAllowedEffectsReadAsFractions(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  float64
	}{
		{"20%", 0.2},
		{"'+20 %'", 0.2},
		{"150%", 1.5},
		{"0.2", 0.2},
		{"1", 1},
		{"0.5%", 0.005},
	} {
		t.Run(tc.value, func(t *testing.T) {
			hs, err := Parse([]byte(minimalWith("  metrics:\n    - {name: m, query: 'x{ {{ .Group }} }', direction: either, allowedEffect: "+tc.value+"}\n")), "h.yaml")
			require.NoError(t, err)
			require.InDelta(t, tc.want, hs[0].Metrics[0].AllowedEffect, 1e-12)
		})
	}
}

func TestErrorMessagesLeaveOutUnknownParts(t *testing.T) {
	inner := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  *Error
		want string
	}{
		{"a full error has every part", &Error{File: "f.yaml", Line: 3, Path: "spec.step", Err: inner}, "f.yaml:3: spec.step: boom"},
		{"an error without a line names the file", &Error{File: "f.yaml", Path: "spec.step", Err: inner}, "f.yaml: spec.step: boom"},
		{"an error without a file names the line", &Error{Line: 3, Err: inner}, "line 3: boom"},
		{"an error without a cause still says something", &Error{Path: "spec"}, "spec: invalid hypothesis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.EqualError(t, tc.err, tc.want)
		})
	}
	require.ErrorIs(t, &Error{Err: inner}, inner)
}

func TestParseBoundsWhatAFileCanMakeItDo(t *testing.T) {
	nestedMerges := func() string {
		// Each mapping merges the previous one ten times.
		var b strings.Builder
		b.WriteString("spec:\n  <<:\n    - &l0 {service: x}\n")
		for i := 1; i <= 10; i++ {
			fmt.Fprintf(&b, "    - &l%d {<<: [%s*l%d]}\n", i, strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), i-1)
		}
		return b.String()
	}()
	placeholders := strings.Replace(minimalWith("  metrics:\n    - {name: m, query: 'x{ "+strings.Repeat("{{ .Group }},", 6000)+" }', slo: {max: 1}}\n"),
		`experimental: 'g="e"'`, `experimental: 'g="`+strings.Repeat("e", 20)+`"'`, 1)
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"nested merges that would expand ten billion entries are cut short", nestedMerges, "document contains excessive aliasing"},
		{"a placeholder repeated thousands of times is cut short", placeholders, "spec.metrics[0].query: is 150005 bytes long once expanded for the experimental group, more than 65536"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse([]byte(tc.data), "h.yaml")
			require.ErrorContains(t, err, tc.want)
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

// The bound on aliasing counts what aliases and merges expand, not what a
// file spells out: a long file without an alias is no attack (issue 13
// #11: 2,000 metrics were refused as "excessive aliasing").
func TestParseReadsALongFileWithoutAliases(t *testing.T) {
	var b strings.Builder
	b.WriteString("  metrics:\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "    - name: m%d\n      query: 'up{ {{ .Group }} }'\n      direction: higherIsWorse\n      allowedEffect: 10%%\n      weight: 1\n", i)
	}
	h, err := Parse([]byte(minimalWith(b.String())), "h.yaml")
	require.NoError(t, err)
	require.Len(t, h[0].Metrics, 3000)
}
