package verdict_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// genGroup is one group's generated answer and what the test knows of it,
// computed here from the data alone, not by the judge's code.
type genGroup struct {
	series  [][]float64
	warning bool
}

// genSeries makes one series of n steps: lognormal values around median,
// with random gaps (no sample), NaN and ±Inf injected at random rates,
// sometimes all of one kind, sometimes a single point.
func genSeries(rng *rand.Rand, n int, median float64) []float64 {
	xs := make([]float64, n)
	gapRate, nanRate, infRate := 0.0, 0.0, 0.0
	switch rng.IntN(10) {
	case 0, 6, 7, 8, 9: // clean
	case 1:
		gapRate = rng.Float64()
	case 2:
		nanRate = rng.Float64()
	case 3:
		infRate = rng.Float64()
	case 4:
		gapRate, nanRate, infRate = rng.Float64()/3, rng.Float64()/3, rng.Float64()/3
	case 5: // all NaN, all Inf, or a single point
		kind := rng.IntN(3)
		single := rng.IntN(n)
		for i := range xs {
			switch {
			case kind == 0:
				xs[i] = math.NaN()
			case kind == 1:
				xs[i] = math.Inf(1 - 2*rng.IntN(2))
			case i == single:
				xs[i] = median
			default:
				xs[i] = absent
			}
		}
		return xs
	}
	for i := range xs {
		u := rng.Float64()
		switch {
		case u < gapRate:
			xs[i] = absent
		case u < gapRate+nanRate:
			xs[i] = math.NaN()
		case u < gapRate+nanRate+infRate:
			xs[i] = math.Inf(1 - 2*rng.IntN(2))
		default:
			xs[i] = median * math.Exp(0.3*rng.NormFloat64())
		}
	}
	return xs
}

func genGroupData(rng *rand.Rand, n int, median float64) genGroup {
	g := genGroup{warning: rng.IntN(10) == 0}
	switch u := rng.IntN(10); {
	case u == 0: // the group is missing
	case u <= 2: // two series (per pod, or a forgotten matcher)
		g.series = [][]float64{genSeries(rng, n, median), genSeries(rng, n, median)}
	default:
		g.series = [][]float64{genSeries(rng, n, median)}
	}
	return g
}

// seriesIn counts the series with a sample (NaN included) in the window:
// a series without one there is not in Prometheus's answer.
func (g genGroup) seriesIn(steps []int) int {
	n := 0
	for _, s := range g.series {
		for _, i := range steps {
			if !verdicttest.IsAbsent(s[i]) {
				n++
				break
			}
		}
	}
	return n
}

// stepsIn are the data indexes in the window [from, to] (both included).
func stepsIn(from, to, n int) []int {
	var out []int
	for i := max(from, 0); i <= to && i < n; i++ {
		out = append(out, i)
	}
	return out
}

// finiteSteps counts the window's steps that hold a finite value: of the
// one series, or with an aggregate, the steps where some series has a
// sample and none of them is NaN or infinite. ok is false when the group
// cannot be compared at all: no series, or several without an aggregate.
func (g genGroup) finiteSteps(steps []int, aggregate bool) (n int, ok bool) {
	if s := g.seriesIn(steps); s == 0 || (s > 1 && !aggregate) {
		return 0, false
	}
	for _, i := range steps {
		present, bad := 0, false
		for _, s := range g.series {
			switch v := s[i]; {
			case verdicttest.IsAbsent(v):
			case math.IsNaN(v) || math.IsInf(v, 0):
				present++
				bad = true
			default:
				present++
			}
		}
		if present > 0 && !bad {
			n++
		}
	}
	return n, true
}

// genMetric is one generated metric: its spec (as metrics() takes it),
// its data registered with the source, and whether its evidence falls
// short, counted here from the generated data alone.
type genMetric struct {
	name     string
	spec     string
	critical bool
	weight   float64
	short    bool
	why      string // why it is short
}

// generateMetric makes a metric of kind "value" or "ratio" judged over the
// window's data steps, with suffix on its name and its series' names (so
// that several can share a source), and registers its data with f. weight
// 0 leaves the hypothesis's default.
func generateMetric(rng *rand.Rand, f *verdicttest.Source, kind, suffix string, steps []int, n int, aggregate, critical bool, weight float64) genMetric {
	const minSamples = verdict.DefaultMinSamples
	g := genMetric{critical: critical, weight: weight}
	var extra string
	if weight > 0 {
		extra += fmt.Sprintf("\n      weight: %g", weight)
	}
	if kind == "value" {
		g.name = "latency" + strings.ReplaceAll(suffix, "_", "-")
		series := "latency" + suffix
		rangeMinutes := []int{0, 1, 2, 5}[rng.IntN(4)]
		query, k := series+`{ {{ .Group }} }`, 1
		if rangeMinutes > 0 {
			query, k = fmt.Sprintf(`sum(rate(%s{ {{ .Group }} }[%dm]))`, series, rangeMinutes), 4*rangeMinutes
		}
		if aggregate {
			extra += "\n      aggregate: avg"
		}
		g.spec = fmt.Sprintf(`
    - name: %s
      query: '%s'
      direction: higherIsWorse
      allowedEffect: 20%%
      critical: %t%s`, g.name, query, critical, extra)
		factor := []float64{1, 1, 10}[rng.IntN(3)]
		ctl, exp := genGroupData(rng, n, 0.1), genGroupData(rng, n, 0.1*factor)
		f.Set(series, chaos.Control, ctl.series...)
		f.Set(series, chaos.Experimental, exp.series...)
		for grp, d := range map[chaos.Group]genGroup{chaos.Control: ctl, chaos.Experimental: exp} {
			if d.warning {
				f.Warn(series, grp, "partial response")
			}
		}
		nc, okc := ctl.finiteSteps(steps, aggregate)
		ne, oke := exp.finiteSteps(steps, aggregate)
		thinned := func(x int) int { return (x + k - 1) / k }
		switch {
		case !okc || !oke:
			g.short, g.why = true, "a group is missing or has several series"
		case ctl.warning || exp.warning:
			g.short, g.why = true, "a warning"
		case thinned(nc) < minSamples || thinned(ne) < minSamples:
			g.short, g.why = true, fmt.Sprintf("%d and %d finite samples, one in %d independent", nc, ne, k)
		}
		return g
	}
	g.name = "error-ratio" + strings.ReplaceAll(suffix, "_", "-")
	requests, errs := "requests_rate"+suffix, "errors_rate"+suffix
	if aggregate {
		extra += "\n      aggregate: sum"
	}
	g.spec = fmt.Sprintf(`
    - name: %s
      ratio:
        errors: sum(rate(%s{ {{ .Group }} }[1m]))
        total: sum(rate(%s{ {{ .Group }} }[1m]))
      direction: higherIsWorse
      allowedEffect: 50%%
      critical: %t%s`, g.name, errs, requests, critical, extra)
	ctlTot, expTot := genGroupData(rng, n, 10), genGroupData(rng, n, 10)
	ctlErr, expErr := genGroupData(rng, n, 0.01), genGroupData(rng, n, []float64{0.01, 0.5}[rng.IntN(2)])
	f.Set(requests, chaos.Control, ctlTot.series...)
	f.Set(requests, chaos.Experimental, expTot.series...)
	f.Set(errs, chaos.Control, ctlErr.series...)
	f.Set(errs, chaos.Experimental, expErr.series...)
	for _, w := range []struct {
		name string
		g    chaos.Group
		d    genGroup
	}{
		{requests, chaos.Control, ctlTot},
		{requests, chaos.Experimental, expTot},
		{errs, chaos.Control, ctlErr},
		{errs, chaos.Experimental, expErr},
	} {
		if w.d.warning {
			f.Warn(w.name, w.g, "partial response")
		}
	}
	rc, okc := countedRequests(ctlTot, ctlErr, steps, aggregate)
	re, oke := countedRequests(expTot, expErr, steps, aggregate)
	switch {
	case !okc || !oke:
		g.short, g.why = true, "a total missing, several series, or errors all NaN"
	case ctlTot.warning || expTot.warning || ctlErr.warning || expErr.warning:
		g.short, g.why = true, "a warning"
	case rc < 100 || re < 100:
		g.short, g.why = true, fmt.Sprintf("%.0f and %.0f requests", rc, re)
	}
	return g
}

// countedRequests are a group's requests counted over the steps where its
// total is finite and its errors (if the errors series exists) are too;
// an errors query without series is the zero-error case, by design.
func countedRequests(tot, errs genGroup, steps []int, aggregate bool) (requests float64, ok bool) {
	nt, ne := tot.seriesIn(steps), errs.seriesIn(steps)
	if nt == 0 || (nt > 1 && !aggregate) || (ne > 1 && !aggregate) {
		return 0, false
	}
	errFinite := 0
	for _, i := range steps {
		var total float64
		present, bad := 0, false
		for _, s := range tot.series {
			switch v := s[i]; {
			case verdicttest.IsAbsent(v):
			case math.IsNaN(v) || math.IsInf(v, 0):
				present++
				bad = true
			default:
				present++
				total += v
			}
		}
		errPresent, errBad := 0, false
		for _, s := range errs.series {
			switch v := s[i]; {
			case verdicttest.IsAbsent(v):
			case math.IsNaN(v) || math.IsInf(v, 0):
				errPresent++
				errBad = true
			default:
				errPresent++
			}
		}
		if errPresent > 0 && !errBad {
			errFinite++
		}
		if present > 0 && !bad && !errBad {
			requests += total * step.Seconds()
		}
	}
	if ne > 0 && errFinite == 0 {
		return requests, false // an errors series with nothing finite in the window
	}
	return requests, true
}

// fixedSteps is a random fixed window over the data's n steps, as the
// window's YAML and its data steps.
func fixedSteps(rng *rand.Rand, n int) (window string, from, to int) {
	from = rng.IntN(n + 20)
	to = from + 1 + rng.IntN(n)
	return fixedWindowOf(from, to), from, to
}

// fixedWindowOf is the YAML of the fixed window over data steps [from, to].
func fixedWindowOf(from, to int) string {
	return fmt.Sprintf("window: {fixed: {start: %s, end: %s}}",
		base.Add(time.Duration(from)*step).Format(time.RFC3339), base.Add(time.Duration(to)*step).Format(time.RFC3339))
}

// No verdict is ever pass on missing, NaN, infinite or partial data: over
// random windows, gaps, NaN and ±Inf injections, missing groups, single
// points, several series per group and Prometheus warnings, a metric whose
// evidence falls short — as counted here from the generated data — is never
// Pass, and neither is the hypothesis. (Unwatched time is
// TestNoRecoveryExpectationPassesOverUnwatchedTime's; several metrics
// TestNoHypothesisPassesOnTooFewJudgedMetrics's.)
func TestNoVerdictPassesOnInsufficientData(t *testing.T) {
	const n = 241 // data steps from base, at 15 s
	iterations := 2000
	if testing.Short() {
		iterations = 400
	}
	type tally struct{ short, enough, passed int }
	for _, kind := range []string{"value", "ratio"} {
		t.Run(kind, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2026, map[string]uint64{"value": 11, "ratio": 12}[kind]))
			var seen tally
			for it := range iterations {
				window, from, to := fixedSteps(rng, n)
				aggregate := rng.IntN(2) == 0
				f := newSource()
				if rng.IntN(4) == 0 {
					f.Spill = time.Duration(1+rng.IntN(40)) * step
				}
				g := generateMetric(rng, f, kind, "", stepsIn(from, to, n), n, aggregate, true, 0)
				v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, window, metrics(g.spec)), base.Add(2*time.Hour))
				require.NoError(t, err)
				m := v.Metrics[0]
				if g.short {
					seen.short++
					require.NotEqualf(t, verdict.Pass, m.Result, "iteration %d, window steps [%d, %d], %s: %s\n%s", it, from, to, g.why, m.Reason, g.spec)
					require.NotEqualf(t, verdict.Pass, v.Result, "iteration %d: %s", it, v.Reason)
					continue
				}
				seen.enough++
				if m.Result == verdict.Pass {
					seen.passed++
				}
			}
			t.Logf("%s: %d cases with too little evidence (none passed), %d with enough (%d passed)", kind, seen.short, seen.enough, seen.passed)
			// the generator must reach both sides, or the property says nothing
			require.Greater(t, seen.short, iterations/10)
			require.Greater(t, seen.passed, iterations/20)
		})
	}
}

// No hypothesis passes on too few judged metrics: over 2–5 metrics of
// random weights and critical flags, each with data that is enough or falls
// short (as generateMetric counts it), and minJudged below 1, the
// hypothesis passes only if (Overall's rules, counted here from the data)
// every critical metric had enough evidence and passed, the weight of the
// metrics with enough evidence is at least minJudged of all, and no metric
// failed; and a critical metric that fails fails the hypothesis.
//
// The weights are 0.5–2, so one failing metric among at most five is more
// than 5 % of the judged weight: below the default pass score of 95, any
// failure keeps the hypothesis from passing.
func TestNoHypothesisPassesOnTooFewJudgedMetrics(t *testing.T) {
	const n = 241
	iterations := 1000
	if testing.Short() {
		iterations = 200
	}
	rng := rand.New(rand.NewPCG(2026, 13))
	var seen struct{ passed, passedWithShort, refused, criticalFailed int }
	for it := range iterations {
		// Mostly long windows: the metrics fall short by their data more
		// than by the window, so that some hypotheses can pass.
		window, from, to := fixedSteps(rng, n)
		if rng.IntN(4) > 0 {
			from = rng.IntN(n / 4)
			to = from + n/4 + rng.IntN(n)
			window = fixedWindowOf(from, to)
		}
		steps := stepsIn(from, to, n)
		f := newSource()
		if rng.IntN(4) == 0 {
			f.Spill = time.Duration(1+rng.IntN(40)) * step
		}
		minJudged := float64(5+rng.IntN(91)) / 100
		ms := make([]genMetric, 2+rng.IntN(4))
		specs := make([]string, len(ms))
		for i := range ms {
			kind := []string{"value", "ratio"}[rng.IntN(2)]
			weight := float64(1+rng.IntN(4)) / 2
			ms[i] = generateMetric(rng, f, kind, fmt.Sprintf("_%d", i), steps, n, rng.IntN(2) == 0, rng.IntN(3) == 0, weight)
			specs[i] = ms[i].spec
		}
		spec := metrics(specs...) + fmt.Sprintf("  judgement: {minJudged: %g}\n", minJudged)
		v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, window, spec), base.Add(2*time.Hour))
		require.NoError(t, err)
		require.Len(t, v.Metrics, len(ms))

		// The case, for a failure's message.
		var desc strings.Builder
		fmt.Fprintf(&desc, "seed (2026, 13), iteration %d, window steps [%d, %d], minJudged %g, verdict %s (%s)", it, from, to, minJudged, v.Result, v.Reason)
		var total, enough, judged float64
		criticalShort, criticalFailed, anyFailed, anyShort := false, false, false, false
		for i, g := range ms {
			m := v.Metrics[i]
			require.Equal(t, g.name, m.Name)
			fmt.Fprintf(&desc, "\n  %s critical=%t weight=%g short=%t (%s): %s (%s)", g.name, g.critical, g.weight, g.short, g.why, m.Result, m.Reason)
			total += g.weight
			failed := m.Result == verdict.Fail || m.Result == verdict.High || m.Result == verdict.Low
			if !g.short {
				enough += g.weight
			}
			if m.Result != verdict.Inconclusive {
				judged += g.weight
			}
			anyShort = anyShort || g.short
			anyFailed = anyFailed || failed
			criticalShort = criticalShort || g.critical && g.short
			criticalFailed = criticalFailed || g.critical && failed
		}
		for i, g := range ms {
			if g.short {
				require.NotEqualf(t, verdict.Pass, v.Metrics[i].Result, "%s is short: %s", g.name, &desc)
			}
		}
		if criticalFailed {
			seen.criticalFailed++
			require.Equalf(t, verdict.Fail, v.Result, "a critical metric failed: %s", &desc)
		}
		if criticalShort || enough/total < minJudged || anyFailed {
			seen.refused++
		}
		if v.Result != verdict.Pass {
			continue
		}
		seen.passed++
		if anyShort {
			seen.passedWithShort++
		}
		require.Falsef(t, criticalShort, "a critical metric is short: %s", &desc)
		for i, g := range ms {
			if g.critical {
				require.Equalf(t, verdict.Pass, v.Metrics[i].Result, "critical %s did not pass: %s", g.name, &desc)
			}
		}
		require.GreaterOrEqualf(t, enough/total, minJudged, "the metrics with enough evidence weigh %g of %g: %s", enough, total, &desc)
		require.GreaterOrEqualf(t, judged/total, minJudged, "the judged metrics weigh %g of %g: %s", judged, total, &desc)
		require.Falsef(t, anyFailed, "a metric failed: %s", &desc)
	}
	t.Logf("%d hypotheses: %d passed (%d with a metric short of evidence), %d that must not pass, %d with a critical metric failed",
		iterations, seen.passed, seen.passedWithShort, seen.refused, seen.criticalFailed)
	// the generator must reach every side, or the property says nothing
	require.Positive(t, seen.passedWithShort)
	require.Greater(t, seen.passed, iterations/50)
	require.Greater(t, seen.refused, iterations/10)
	require.Greater(t, seen.criticalFailed, iterations/50)
}
