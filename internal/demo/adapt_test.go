package demo

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
)

var exampleNames = []string{"kill-postgres-replica", "host-failure", "cpu-autoscaling", "resource-exhaustion"}

func example(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", name+".yaml"))
	require.NoError(t, err)
	return src
}

// load parses a hypothesis file as steadywatch does.
func load(t *testing.T, src []byte) hypothesis.Hypothesis {
	t.Helper()
	hs, err := hypothesis.Parse(src, "adapted.yaml")
	require.NoError(t, err, "%s", src)
	require.Len(t, hs, 1)
	return hs[0]
}

// stepFloor is what the demo must ask for at a time scale of 20: a
// scaled default step (15s/20 = 750ms) is below the hypothesis format's
// minimum.
var stepFloor = map[string]Floor{"spec.step": {Min: time.Second, Why: "no hypothesis step is below 1s"}}

// ranges lists the range selectors' and subqueries' ranges of every query
// of h's metrics, in order, as Prometheus's parser reads them from the
// queries as steadywatch expands them.
func ranges(t *testing.T, h hypothesis.Hypothesis) [][]time.Duration {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	var out [][]time.Duration
	for _, m := range h.Metrics {
		queries := []string{m.Query(chaos.Experimental)}
		if m.Ratio != nil {
			sel := h.Groups.Selector(chaos.Experimental)
			queries = []string{m.Ratio.Errors.Expand(sel), m.Ratio.Total.Expand(sel)}
		}
		for _, q := range queries {
			expr, err := p.ParseExpr(q)
			require.NoError(t, err, q)
			var rs []time.Duration
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				switch n := n.(type) {
				case *parser.MatrixSelector:
					rs = append(rs, n.Range)
				case *parser.SubqueryExpr:
					rs = append(rs, n.Range)
				}
				return nil
			})
			out = append(out, rs)
		}
	}
	return out
}

func TestAdaptScalesEachExample(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(t *testing.T, h hypothesis.Hypothesis)
	}{
		{"kill-postgres-replica", func(t *testing.T, h hypothesis.Hypothesis) {
			require.Equal(t, 90*time.Second, h.Baseline)
			require.Equal(t, time.Second, h.Step, "15s/20 = 750ms, raised to the floor")
			require.Equal(t, 3*time.Minute, h.Window.Events.Lookback)
			require.Equal(t, 15*time.Second, h.Window.Events.Before)
			require.Equal(t, 45*time.Second, h.Window.Events.After)
			require.Equal(t, 9*time.Second, h.Recovery.MTTR)
			require.Equal(t, 6*time.Second, h.Recovery.ReplacementReady)
			require.Equal(t, 15*time.Second, h.Recovery.Alerts[0].Within)
			require.Contains(t, h.Metrics[0].Query(chaos.Control), "[3s]")
		}},
		{"host-failure", func(t *testing.T, h hypothesis.Hypothesis) {
			require.Equal(t, 90*time.Second, h.Baseline, "the default 30m, scaled")
			require.Equal(t, time.Second, h.Step, "the default 15s, scaled and raised to the floor")
			require.Equal(t, 6*time.Minute, h.Window.Events.Lookback)
			require.Equal(t, 15*time.Second, h.Window.Events.Before)
			require.Equal(t, time.Minute, h.Window.Events.After)
			require.Equal(t, 30*time.Second, h.Recovery.MTTR)
			require.Equal(t, 15*time.Second, h.Recovery.ReplacementReady)
			require.Equal(t, time.Minute, h.Recovery.Alerts[0].Within)
		}},
		{"cpu-autoscaling", func(t *testing.T, h hypothesis.Hypothesis) {
			require.Equal(t, 90*time.Second, h.Baseline)
			require.Equal(t, time.Second, h.Step)
			require.Equal(t, 9*time.Second, h.Recovery.HPA.Within)
			require.Equal(t, 30*time.Second, h.Recovery.HPA.BaselineWithin)
			require.Equal(t, 10*time.Minute, h.Window.Fixed.End.Sub(h.Window.Fixed.Start), "times are not durations")
		}},
		{"resource-exhaustion", func(t *testing.T, h hypothesis.Hypothesis) {
			require.Equal(t, 3*time.Minute, h.Baseline)
			require.Equal(t, 1500*time.Millisecond, h.Step)
			require.Equal(t, 15*time.Second, h.Recovery.Alerts[0].Within)
			require.Contains(t, h.Metrics[0].Query(chaos.Control), "[6s]")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := example(t, tc.name)
			out, changes, err := Adapt(src, Adaptation{TimeScale: 20, Floors: stepFloor})
			require.NoError(t, err)
			h := load(t, out)
			tc.check(t, h)

			// Every range of every query is the original's divided by 20,
			// as Prometheus's parser reads both.
			orig, scaled := ranges(t, load(t, src)), ranges(t, h)
			require.Len(t, scaled, len(orig))
			n := 0
			for i := range orig {
				require.Len(t, scaled[i], len(orig[i]))
				for j := range orig[i] {
					require.Equal(t, orig[i][j]/20, scaled[i][j], "query %d range %d", i, j)
					n++
				}
			}
			require.Positive(t, n)

			// Comments and the order of the fields survive.
			require.Contains(t, string(out), "# Seed experiment")
			require.Less(t, strings.Index(string(out), "groups:"), strings.Index(string(out), "metrics:"))

			for _, c := range changes {
				require.NotEqual(t, c.From, c.To, "%+v", c)
				require.NotEmpty(t, c.Why, "%+v", c)
			}
		})
	}
}

func TestAdaptListsEachChange(t *testing.T) {
	_, changes, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{TimeScale: 20, Floors: stepFloor})
	require.NoError(t, err)
	scale := "time scale 1/20"
	require.Equal(t, []Change{
		{"spec.window.events.lookback", "1h", "3m", scale},
		{"spec.window.events.before", "5m", "15s", scale},
		{"spec.window.events.after", "15m", "45s", scale},
		{"spec.baseline.duration", "30m", "1m30s", scale},
		{"spec.step", "15s", "1s", "no hypothesis step is below 1s (1/20 would be 750ms)"},
		{"spec.metrics[0].query", "[1m]", "[3s]", scale},
		{"spec.metrics[1].ratio.errors", "[1m]", "[3s]", scale},
		{"spec.metrics[1].ratio.total", "[1m]", "[3s]", scale},
		{"spec.metrics[2].query", "[1m]", "[3s]", scale},
		{"spec.recovery.mttr", "3m", "9s", scale},
		{"spec.recovery.replacementReady", "2m", "6s", scale},
		{"spec.recovery.alerts[0].within", "5m", "15s", scale},
	}, changes)
}

func TestAdaptWritesDefaultsItScales(t *testing.T) {
	out, changes, err := Adapt(example(t, "host-failure"), Adaptation{TimeScale: 20, Floors: stepFloor})
	require.NoError(t, err)
	require.Contains(t, changes, Change{"spec.baseline.duration", "30m (default)", "1m30s", "time scale 1/20"})
	require.Contains(t, changes, Change{"spec.step", "15s (default)", "1s", "no hypothesis step is below 1s (1/20 would be 750ms)"})
	require.Contains(t, string(out), "baseline: {duration: 1m30s}")
}

func TestAdaptStepBelowTheFormatsMinimumIsAnError(t *testing.T) {
	_, _, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{TimeScale: 20})
	require.ErrorContains(t, err, "spec.step: must be at least 1s, got 750ms")
}

func TestAdaptReplacesTheWindow(t *testing.T) {
	start := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	w := &FixedWindow{Start: start, End: start.Add(30 * time.Second)}

	t.Run("a fixed window keeps its form", func(t *testing.T) {
		out, changes, err := Adapt(example(t, "cpu-autoscaling"), Adaptation{TimeScale: 20, Floors: stepFloor, Window: w})
		require.NoError(t, err)
		h := load(t, out)
		require.Equal(t, &hypothesis.FixedWindow{Start: w.Start, End: w.End}, h.Window.Fixed)
		require.Contains(t, changes, Change{"spec.window.fixed.start", "2026-11-22T14:00:00Z", "2026-12-07T08:00:00Z", "the demo's attack schedule"})
		require.Contains(t, changes, Change{"spec.window.fixed.end", "2026-11-22T14:10:00Z", "2026-12-07T08:00:30Z", "the demo's attack schedule"})
		require.Contains(t, string(out), "The attack's own schedule", "the window's comment survives")
	})
	t.Run("an event window becomes a fixed one", func(t *testing.T) {
		out, changes, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{TimeScale: 20, Floors: stepFloor, Window: w})
		require.NoError(t, err)
		h := load(t, out)
		require.Nil(t, h.Window.Events)
		require.Equal(t, &hypothesis.FixedWindow{Start: w.Start, End: w.End}, h.Window.Fixed)
		require.Contains(t, changes, Change{
			"spec.window",
			"{events: {kinds: [pod_deleted], lookback: 1h, before: 5m, after: 15m}}",
			"{fixed: {start: 2026-12-07T08:00:00Z, end: 2026-12-07T08:00:30Z}}",
			"the demo's attack schedule",
		})
		for _, c := range changes {
			require.NotContains(t, c.Path, "spec.window.events", "a replaced window's fields are not scaled")
		}
	})
}

func TestAdaptLookback(t *testing.T) {
	out, changes, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{TimeScale: 20, Floors: stepFloor, Lookback: 40 * time.Second})
	require.NoError(t, err)
	require.Equal(t, 40*time.Second, load(t, out).Window.Events.Lookback)
	require.Contains(t, changes, Change{"spec.window.events.lookback", "1h", "40s", "the demo's lookback: an experiment does not look back into the one before it"})

	_, _, err = Adapt(example(t, "cpu-autoscaling"), Adaptation{TimeScale: 20, Floors: stepFloor, Lookback: 40 * time.Second})
	require.ErrorContains(t, err, "spec.window")
}

func TestAdaptFloors(t *testing.T) {
	const why = "the testbed's HPA controller syncs every 15s"
	for _, tc := range []struct {
		name   string
		min    time.Duration
		want   time.Duration
		change *Change
	}{
		{
			"a floor above the scaled value raises it", 30 * time.Second, 30 * time.Second,
			&Change{"spec.recovery.hpa.within", "3m", "30s", why + " (1/20 would be 9s)"},
		},
		{
			"a floor just above the scaled value raises it", 9*time.Second + time.Millisecond, 9*time.Second + time.Millisecond,
			&Change{"spec.recovery.hpa.within", "3m", "9s1ms", why + " (1/20 would be 9s)"},
		},
		{
			"a floor at the scaled value leaves it", 9 * time.Second, 9 * time.Second,
			&Change{"spec.recovery.hpa.within", "3m", "9s", "time scale 1/20"},
		},
		{
			"a floor below the scaled value leaves it", 5 * time.Second, 9 * time.Second,
			&Change{"spec.recovery.hpa.within", "3m", "9s", "time scale 1/20"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			floors := map[string]Floor{"spec.step": stepFloor["spec.step"], "spec.recovery.hpa.within": {Min: tc.min, Why: why}}
			out, changes, err := Adapt(example(t, "cpu-autoscaling"), Adaptation{TimeScale: 20, Floors: floors})
			require.NoError(t, err)
			require.Equal(t, tc.want, load(t, out).Recovery.HPA.Within)
			require.Contains(t, changes, *tc.change)
		})
	}

	t.Run("a floor at an original value asks for no change", func(t *testing.T) {
		floors := map[string]Floor{"spec.recovery.hpa.within": {Min: time.Second, Why: why}}
		out, changes, err := Adapt(example(t, "cpu-autoscaling"), Adaptation{TimeScale: 1, Floors: floors})
		require.NoError(t, err)
		require.Empty(t, changes)
		require.Equal(t, 3*time.Minute, load(t, out).Recovery.HPA.Within)
	})
	t.Run("a floor on a field the file lacks is an error", func(t *testing.T) {
		floors := map[string]Floor{"spec.recovery.hpa.within": {Min: time.Second, Why: why}}
		_, _, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{TimeScale: 20, Floors: floors})
		require.ErrorContains(t, err, "spec.recovery.hpa.within")
	})
	t.Run("a floor on a field that is no duration is an error", func(t *testing.T) {
		floors := map[string]Floor{"spec.service": {Min: time.Second, Why: why}}
		_, _, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{TimeScale: 20, Floors: floors})
		require.ErrorContains(t, err, "spec.service")
	})
}

func TestAdaptSet(t *testing.T) {
	out, changes, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{
		TimeScale: 20, Floors: stepFloor, Set: map[string]string{"spec.recovery.mttr": "1s"},
	})
	require.NoError(t, err)
	require.Equal(t, time.Second, load(t, out).Recovery.MTTR)
	require.Contains(t, changes, Change{"spec.recovery.mttr", "3m", "1s", "set by the demo"})

	_, _, err = Adapt(example(t, "kill-postgres-replica"), Adaptation{
		TimeScale: 20, Floors: stepFloor, Set: map[string]string{"spec.recovery.alerts[1].within": "1s"},
	})
	require.ErrorContains(t, err, "spec.recovery.alerts[1].within")

	_, _, err = Adapt(example(t, "kill-postgres-replica"), Adaptation{
		TimeScale: 20, Floors: stepFloor, Set: map[string]string{"spec.recovery": "1s"},
	})
	require.ErrorContains(t, err, "spec.recovery")
}

func TestAdaptKeepsEverythingAtTimeScaleOne(t *testing.T) {
	for _, name := range exampleNames {
		t.Run(name, func(t *testing.T) {
			src := example(t, name)
			out, changes, err := Adapt(src, Adaptation{TimeScale: 1})
			require.NoError(t, err)
			require.Empty(t, changes)
			before, after := load(t, src), load(t, out)
			require.Equal(t, before.Digest(), after.Digest())
		})
	}
}

func TestAdaptErrors(t *testing.T) {
	src := example(t, "kill-postgres-replica")
	for _, tc := range []struct {
		name string
		src  string
		a    Adaptation
		want string
	}{
		{"a time scale of 0", string(src), Adaptation{TimeScale: 0}, "time scale 0: must be at least 1"},
		{"a time scale below 0", string(src), Adaptation{TimeScale: -20}, "time scale -20: must be at least 1"},
		{
			"a duration that does not parse", strings.Replace(string(src), "mttr: 3m", "mttr: 3 minutes", 1),
			Adaptation{TimeScale: 20},
			"line 52: spec.recovery.mttr: ",
		},
		{
			"a query range that does not parse", strings.Replace(string(src), "[1m]", "[1x]", 1),
			Adaptation{TimeScale: 20},
			"spec.metrics[0].query",
		},
		{"two documents", string(src) + "---\n" + string(src), Adaptation{TimeScale: 20}, "one hypothesis"},
		{"no document", "", Adaptation{TimeScale: 20}, "no hypothesis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Adapt([]byte(tc.src), tc.a)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestScaleDuration(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		scale int
		want  time.Duration
	}{
		{time.Minute, 20, 3 * time.Second},
		{30 * time.Second, 20, 1500 * time.Millisecond},
		{time.Millisecond, 20, time.Millisecond},
		{20 * time.Millisecond, 20, time.Millisecond},
		{21 * time.Millisecond, 20, 2 * time.Millisecond},
		{39 * time.Millisecond, 20, 2 * time.Millisecond},
		{40 * time.Millisecond, 20, 2 * time.Millisecond},
		{0, 20, 0},
		{time.Hour, 1, time.Hour},
		{-time.Minute, 20, -3 * time.Second},
	} {
		require.Equal(t, tc.want, scaleDuration(tc.d, tc.scale), "%s/%d", tc.d, tc.scale)
	}
}

func TestAdaptRoundsUpToTheMillisecond(t *testing.T) {
	src := strings.Replace(string(example(t, "kill-postgres-replica")), "within: 5m", "within: 21ms", 1)
	out, changes, err := Adapt([]byte(src), Adaptation{TimeScale: 20, Floors: stepFloor})
	require.NoError(t, err)
	require.Equal(t, 2*time.Millisecond, load(t, out).Recovery.Alerts[0].Within)
	require.Contains(t, changes, Change{"spec.recovery.alerts[0].within", "21ms", "2ms", "time scale 1/20"})
}

func TestScaleQuery(t *testing.T) {
	for _, tc := range []struct {
		name, query, want, from, to, why string
	}{
		{"a range", `sum(rate(x{ {{ .Group }} }[1m]))`, `sum(rate(x{ {{ .Group }} }[3s]))`, "[1m]", "[3s]", "time scale 1/20"},
		{
			"a subquery", `max_over_time(rate(x{ {{ .Group }} }[1m])[5m:30s])`, `max_over_time(rate(x{ {{ .Group }} }[3s])[15s:1s500ms])`,
			"[1m], [5m:30s]", "[3s], [15s:1s500ms]", "time scale 1/20",
		},
		{"a subquery at the default step", `max_over_time(x{ {{ .Group }} }[5m:])`, `max_over_time(x{ {{ .Group }} }[15s:])`, "[5m:]", "[15s:]", "time scale 1/20"},
		{"spaces inside the brackets", `rate(x{ {{ .Group }} }[ 1m ])`, `rate(x{ {{ .Group }} }[ 3s ])`, "[ 1m ]", "[ 3s ]", "time scale 1/20"},
		{
			"an offset", `rate(x{ {{ .Group }} }[1m] offset 1h)`, `rate(x{ {{ .Group }} }[3s] offset 3m)`,
			"[1m], offset 1h", "[3s], offset 3m", "time scale 1/20 (offsets too)",
		},
		{"a negative offset", `x{ {{ .Group }} } offset -1h`, `x{ {{ .Group }} } offset -3m`, "offset -1h", "offset -3m", "time scale 1/20 (offsets too)"},
		{
			"a label value that looks like a range", `rate(x{path="/a[1m]", {{ .Group }} }[1m])`, `rate(x{path="/a[1m]", {{ .Group }} }[3s])`,
			"[1m]", "[3s]", "time scale 1/20",
		},
		{
			"a label value that looks like an offset", `rate(x{q='offset 1h', {{ .Group }} }[1m])`, `rate(x{q='offset 1h', {{ .Group }} }[3s])`,
			"[1m]", "[3s]", "time scale 1/20",
		},
		{
			"a label named offset", `sum by (offset) (rate(x{ {{ .Group }} }[1m]))`, `sum by (offset) (rate(x{ {{ .Group }} }[3s]))`,
			"[1m]", "[3s]", "time scale 1/20",
		},
		{"a comment", "rate(x{ {{ .Group }} }[1m]) # not [5m]\n", "rate(x{ {{ .Group }} }[3s]) # not [5m]\n", "[1m]", "[3s]", "time scale 1/20"},
		{"braces touching the placeholder", `rate(x{{{ .Group }}}[1m])`, `rate(x{{{ .Group }}}[3s])`, "[1m]", "[3s]", "time scale 1/20"},
		{
			"a range repeated", `rate(x{ {{ .Group }} }[1m]) / rate(y{ {{ .Group }} }[1m])`, `rate(x{ {{ .Group }} }[3s]) / rate(y{ {{ .Group }} }[3s])`,
			"[1m]", "[3s]", "time scale 1/20",
		},
		{"no range", `x{ {{ .Group }} }`, `x{ {{ .Group }} }`, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, c, err := scaleQuery("spec.metrics[0].query", tc.query, 20)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.from, c.From)
			require.Equal(t, tc.to, c.To)
			require.Equal(t, tc.why, c.Why)
		})
	}

	for _, q := range []string{
		`rate(x{ {{ .Group }} }[1m] @ 100)`, // no duration, but left as it is
	} {
		_, _, err := scaleQuery("spec.metrics[0].query", q, 20)
		require.NoError(t, err, q)
	}
	for _, q := range []string{
		`rate(x{ {{ .Group }} }[1x])`,
		`rate(x{ {{ .Group }} }[60])`, // a range in seconds: not found, so the proof fails
	} {
		_, _, err := scaleQuery("spec.metrics[0].query", q, 20)
		require.ErrorContains(t, err, "spec.metrics[0].query", q)
	}
}

func FuzzAdapt(f *testing.F) {
	for _, name := range exampleNames {
		f.Add(example(f, name), 20, "spec.recovery.mttr", "1s")
		f.Add(example(f, name), 7, "spec.step", "2s") // 15s/7 is above the minimum step, and not a whole millisecond
	}
	f.Add([]byte("spec: &s\n  <<: [*s]\n"), 20, "spec.step", "1s")
	f.Add([]byte(experimentWindow), 7, "spec.metrics[0].query", "x{ {{ .Group }} }")
	f.Add([]byte(strings.Replace(experimentWindow, "  step: 20s\n", "  step: &d 20s\n  baseline: {duration: *d}\n", 1)), 3, "spec.baseline.duration", "x")
	f.Fuzz(func(t *testing.T, src []byte, scale int, path, value string) {
		scale %= 100
		// No panic, and whatever Adapt returns loads.
		if out, _, err := Adapt(src, Adaptation{TimeScale: scale, Floors: stepFloor, Set: map[string]string{path: value}}); err == nil {
			_, err = hypothesis.Parse(out, "fuzz.yaml")
			require.NoError(t, err)
		}

		// What loads is the original divided by the scale, rounded up to
		// the millisecond.
		hs, err := hypothesis.Parse(src, "fuzz.yaml")
		if err != nil || len(hs) != 1 || scale < 1 {
			return
		}
		out, _, err := Adapt(src, Adaptation{TimeScale: scale})
		if err != nil {
			return // a step scaled below the minimum, a range the adaptation does not read
		}
		before, after := hs[0], load(t, out)
		div := func(d time.Duration) time.Duration {
			ms := d.Milliseconds()
			return time.Duration((ms+int64(scale)-1)/int64(scale)) * time.Millisecond
		}
		require.Equal(t, div(before.Baseline), after.Baseline)
		require.Equal(t, div(before.Step), after.Step)
		require.Equal(t, div(before.Recovery.MTTR), after.Recovery.MTTR)
		require.Equal(t, div(before.Recovery.ReplacementReady), after.Recovery.ReplacementReady)
		for i := range before.Recovery.Alerts {
			require.Equal(t, div(before.Recovery.Alerts[i].Within), after.Recovery.Alerts[i].Within)
		}
		if e := before.Window.Events; e != nil {
			require.Equal(t, []time.Duration{div(e.Lookback), div(e.Before), div(e.After)},
				[]time.Duration{after.Window.Events.Lookback, after.Window.Events.Before, after.Window.Events.After})
		}
		if e := before.Window.Experiment; e != nil {
			require.Equal(t, []time.Duration{div(e.Lookback), div(e.Before), div(e.After)},
				[]time.Duration{after.Window.Experiment.Lookback, after.Window.Experiment.Before, after.Window.Experiment.After})
		}
		if hpa := before.Recovery.HPA; hpa != nil {
			require.Equal(t, div(hpa.Within), after.Recovery.HPA.Within)
			require.Equal(t, div(hpa.BaselineWithin), after.Recovery.HPA.BaselineWithin)
		}
		orig, scaled := ranges(t, before), ranges(t, after)
		for i := range orig {
			for j := range orig[i] {
				require.Equal(t, div(orig[i][j]), scaled[i][j])
			}
		}
	})
}

// TestAdaptScalesEveryDurationOfTheFormat reads the duration fields of the
// hypothesis file format from its wire types in hypothesis/file.go, so
// that a duration added there and not here fails.
func TestAdaptScalesEveryDurationOfTheFormat(t *testing.T) {
	fset := token.NewFileSet()
	f, err := goparser.ParseFile(fset, filepath.Join("..", "..", "hypothesis", "file.go"), nil, 0)
	require.NoError(t, err)
	structs := map[string]*ast.StructType{}
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				structs[ts.Name.Name] = st
			}
		}
		return true
	})
	var inFile []string
	var walk func(path string, st *ast.StructType)
	walk = func(path string, st *ast.StructType) {
		for _, fd := range st.Fields.List {
			if fd.Tag == nil {
				continue // an embedded type: timestamp's time.Time
			}
			tag, err := strconv.Unquote(fd.Tag.Value)
			require.NoError(t, err)
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get("yaml"), ",")
			p := name
			if path != "" {
				p = path + "." + name
			}
			typ := fd.Type
			for {
				if s, ok := typ.(*ast.StarExpr); ok {
					typ = s.X
					continue
				}
				if a, ok := typ.(*ast.ArrayType); ok {
					typ, p = a.Elt, p+"[]"
					continue
				}
				break
			}
			switch typ := typ.(type) {
			case *ast.SelectorExpr:
				if x, ok := typ.X.(*ast.Ident); ok && x.Name == "model" && typ.Sel.Name == "Duration" {
					inFile = append(inFile, p)
				}
			case *ast.Ident:
				if st, ok := structs[typ.Name]; ok {
					walk(p, st)
				}
			}
		}
	}
	walk("", structs["fileHypothesis"])

	var scaled []string
	for _, f := range fields {
		if !f.query {
			scaled = append(scaled, f.parent+"."+f.key)
		}
	}
	require.ElementsMatch(t, inFile, scaled)
	require.Len(t, inFile, 13)
}

func TestAdaptNamespace(t *testing.T) {
	out, changes, err := Adapt(example(t, "kill-postgres-replica"), Adaptation{TimeScale: 1, Namespace: "demo"})
	require.NoError(t, err)
	require.Equal(t, "demo", load(t, out).Namespace)
	require.Equal(t, []Change{{"spec.namespace", "pipeline", "demo", "the demo's namespace"}}, changes)

	src := strings.Replace(string(example(t, "kill-postgres-replica")), "  namespace: pipeline\n", "", 1)
	out, changes, err = Adapt([]byte(src), Adaptation{TimeScale: 1, Namespace: "demo"})
	require.NoError(t, err)
	require.Equal(t, "demo", load(t, out).Namespace)
	require.Equal(t, []Change{{"spec.namespace", "(none)", "demo", "the demo's namespace"}}, changes)
	require.Less(t, strings.Index(string(out), "service:"), strings.Index(string(out), "namespace: demo"))
	require.Less(t, strings.Index(string(out), "namespace: demo"), strings.Index(string(out), "groups:"))
}

func TestAdaptListsTheChangesInTheFilesOrder(t *testing.T) {
	_, changes, err := Adapt(example(t, "host-failure"), Adaptation{TimeScale: 20, Floors: stepFloor})
	require.NoError(t, err)
	var paths []string
	for _, c := range changes {
		paths = append(paths, c.Path)
	}
	require.Equal(t, []string{
		"spec.window.events.lookback", "spec.window.events.before", "spec.window.events.after",
		"spec.baseline.duration", "spec.step", // written in front of metrics
		"spec.metrics[0].ratio.errors", "spec.metrics[0].ratio.total", "spec.metrics[1].query",
		"spec.metrics[3].ratio.errors", "spec.metrics[3].ratio.total",
		"spec.recovery.mttr", "spec.recovery.replacementReady", "spec.recovery.alerts[0].within",
	}, paths)
}

const experimentWindow = `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: pod-delete}
spec:
  service: api
  namespace: shop
  groups: {control: group="control", experimental: group="experimental"}
  window:
    experiment: {tool: litmus, name: api-pod-delete, before: 1m}
  step: 20s
  metrics:
    - name: latency
      query: max_over_time(rate(x{ {{ .Group }} }[1m])[10m:1m] offset 2m)
      slo: {max: 1}
`

func TestAdaptExperimentWindow(t *testing.T) {
	out, changes, err := Adapt([]byte(experimentWindow), Adaptation{TimeScale: 20})
	require.NoError(t, err)
	w := load(t, out).Window.Experiment
	require.Equal(t, 3*time.Minute, w.Lookback, "the default 1h, scaled")
	require.Equal(t, 3*time.Second, w.Before)
	require.Equal(t, 30*time.Second, w.After, "the default 10m, scaled")
	require.Contains(t, changes, Change{"spec.window.experiment.lookback", "1h (default)", "3m", "time scale 1/20"})
	require.Contains(t, changes, Change{"spec.metrics[0].query", "[1m], [10m:1m], offset 2m", "[3s], [30s:3s], offset 6s", "time scale 1/20 (offsets too)"})

	out, changes, err = Adapt([]byte(experimentWindow), Adaptation{TimeScale: 1, Lookback: 5 * time.Minute})
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, load(t, out).Window.Experiment.Lookback)
	require.Equal(t, []Change{{"spec.window.experiment.lookback", "1h (default)", "5m", whyLookback}}, changes)
}

func TestAdaptScalesAnAliasedDurationOnce(t *testing.T) {
	src := strings.Replace(experimentWindow, "  step: 20s\n", "  step: &d 20s\n  baseline: {duration: *d}\n", 1)
	out, changes, err := Adapt([]byte(src), Adaptation{TimeScale: 10})
	require.NoError(t, err)
	h := load(t, out)
	require.Equal(t, 2*time.Second, h.Step)
	require.Equal(t, 2*time.Second, h.Baseline)
	require.Contains(t, changes, Change{"spec.step", "20s", "2s", "time scale 1/10"})
	for _, c := range changes {
		require.NotEqual(t, "spec.baseline.duration", c.Path, "the alias shares the step's change")
	}
}
