package hypothesis

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
)

func TestTemplatesExpandEveryPlaceholderWithTheMatchers(t *testing.T) {
	const sel = `g="c", zone="a"`
	for _, tc := range []struct {
		name string
		text string
		want string
	}{
		{"a spaced placeholder", `x{ {{ .Group }} }`, `x{ g="c", zone="a" }`},
		{"a placeholder without spaces", `x{{{.Group}}}`, `x{g="c", zone="a"}`},
		{"a placeholder touching the selector's braces", `x{{{ .Group }}}`, `x{g="c", zone="a"}`},
		{"a placeholder after other matchers", `x{a="b",{{ .Group }}}`, `x{a="b",g="c", zone="a"}`},
		{"several placeholders", `a{ {{ .Group }} } / b{ {{ .Group }} }`, `a{ g="c", zone="a" } / b{ g="c", zone="a" }`},
		{"a placeholder with tabs and line breaks", "x{ {{\t.Group\n}} }", `x{ g="c", zone="a" }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := parseTemplate("query", tc.text)
			require.Nil(t, err)
			require.Equal(t, tc.want, tmpl.Expand(sel))
			require.Equal(t, tc.text, tmpl.String())
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want string
	}{
		{"another field", `x{ {{ .Service }} }`, "query: parse error at char 4: unsupported template action {{ .Service }}: only {{ .Group }} is allowed"},
		{"a pipeline", `x{ {{ .Group | printf "%s" }} }`, `query: parse error at char 4: unsupported template action {{ .Group | printf "%s" }}: only {{ .Group }} is allowed`},
		{"a comment", `x{ {{/* c */}} {{ .Group }} }`, "query: parse error at char 4: unsupported template action {{/* c */}}: only {{ .Group }} is allowed"},
		{"a lower-case field", `x{ {{ .group }} }`, "query: parse error at char 4: unsupported template action {{ .group }}: only {{ .Group }} is allowed"},
		{"an unclosed action", `x{ {{ .Group }`, `query: parse error at char 4: unclosed template action: "{{ .Group }" has no }}`},
		{"no placeholder", `sum(x)`, "query: has no {{ .Group }} placeholder, so it would select the same series for both groups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTemplate("query", tc.text)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestSourcePosMapsExpandedOffsetsBackToTheTemplate(t *testing.T) {
	tmpl, err := parseTemplate("query", `a{ {{ .Group }} } + b{ {{ .Group }} }`)
	require.Nil(t, err)
	const sel = `g="experimental"` // longer than the placeholder
	expanded := tmpl.Expand(sel)
	for _, tc := range []struct {
		name     string
		expanded int
		want     int
	}{
		{"before any placeholder", 1, 1},
		{"inside the first expansion", 5, 3},
		{"between the placeholders", len(`a{ g="experimental" } `), len(`a{ {{ .Group }} } `)},
		{"inside the second expansion", len(`a{ g="experimental" } + b{ g`), len(`a{ {{ .Group }} } + b{ `)},
		{"at the end", len(expanded), len(tmpl.String())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tmpl.sourcePos(sel, tc.expanded))
		})
	}
}

func TestMetricQueriesSelectEachGroup(t *testing.T) {
	hs, err := Parse([]byte(minimalWith(`
  metrics:
    - name: latency
      query: histogram_quantile(0.99, sum by (le) (rate(h_bucket{ {{ .Group }} }[1m])))
      slo: {max: 1}
    - name: errors
      ratio:
        errors: sum(rate(r{code="500", {{ .Group }} }[1m]))
        total: sum(rate(r{ {{ .Group }} }[1m]))
      direction: higherIsWorse
      allowedEffect: 10%
`)), "h.yaml")
	require.NoError(t, err)
	h := hs[0]
	require.Equal(t, `histogram_quantile(0.99, sum by (le) (rate(h_bucket{ g="c" }[1m])))`, h.Metrics[0].Query(chaos.Control))
	require.Equal(t, `histogram_quantile(0.99, sum by (le) (rate(h_bucket{ g="e" }[1m])))`, h.Metrics[0].Query(chaos.Experimental))
	require.Equal(t, `(sum(rate(r{code="500", g="e" }[1m]))) / (sum(rate(r{ g="e" }[1m])))`, h.Metrics[1].Query(chaos.Experimental))
	require.False(t, h.Metrics[0].Value.IsZero())
	require.True(t, h.Metrics[1].Value.IsZero(), "a ratio has no value template")
	require.Equal(t, `sum(rate(r{ g="c" }[1m]))`, h.Metrics[1].Ratio.Total.Expand(h.Groups.Selector(chaos.Control)))
	for _, m := range h.Metrics {
		for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
			_, err := promql.ParseExpr(m.Query(g))
			require.NoError(t, err, "%s for %s", m.Name, g)
		}
	}
	require.PanicsWithValue(t, `hypothesis: no selector for group "none"`, func() { h.Groups.Selector(chaos.NoGroup) })
}

func TestBoundsContainTheirEndsAndNotNaN(t *testing.T) {
	b := Bound{Min: 1, Max: 2}
	require.True(t, b.Contains(1))
	require.True(t, b.Contains(2))
	require.False(t, b.Contains(0.99))
	require.False(t, b.Contains(2.01))
	require.False(t, b.Contains(math.NaN()))
	require.True(t, unbounded().Contains(math.MaxFloat64))
	require.True(t, Bound{Min: math.Inf(-1), Max: 0.01}.Contains(-5))
}

func TestWindowsResolve(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 11, 21, 10, m, 0, 0, time.UTC) }
	now := at(50)
	events := &EventWindow{Lookback: 30 * time.Minute, Before: time.Minute, After: 5 * time.Minute}
	for _, tc := range []struct {
		name   string
		window Window
		events []time.Time
		want   Span
		ok     bool
	}{
		{
			"a fixed window is itself whatever the events",
			Window{Fixed: &FixedWindow{Start: at(0), End: at(30)}},
			[]time.Time{at(40)},
			Span{Start: at(0), End: at(30), ChaosStart: at(0), ChaosEnd: at(30)},
			true,
		},
		{
			"an event window spans the events within the lookback, with its margins",
			Window{Events: events},
			[]time.Time{at(35), at(10), at(25), at(55)},
			Span{Start: at(24), End: at(40), ChaosStart: at(25), ChaosEnd: at(35)},
			true,
		},
		{
			"an event at the very start of the lookback counts",
			Window{Events: events},
			[]time.Time{at(20)},
			Span{Start: at(19), End: at(25), ChaosStart: at(20), ChaosEnd: at(20)},
			true,
		},
		{
			"an event window without events within the lookback is unresolved",
			Window{Events: events},
			[]time.Time{at(10), at(51)},
			Span{},
			false,
		},
		{
			"an empty window is unresolved",
			Window{},
			[]time.Time{at(40)},
			Span{},
			false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.window.Resolve(now, tc.events)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}
