package verdict_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// genGroup is one group's generated answer and what the test knows of it,
// computed here from the data alone, not by the judge's code.
type genGroup struct {
	series  [][]float64
	warning bool
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

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
	// Mostly the injections are isolated, never two steps in a
	// row: one lost step is within the judge's allowance, and such series
	// can pass.
	isolated := rng.IntN(4) > 0
	for i := range xs {
		u := rng.Float64()
		if isolated && i > 0 && !finite(xs[i-1]) {
			u = 1
		}
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
		if present, bad, _ := g.at(i); present > 0 && !bad {
			n++
		}
	}
	return n, true
}

// judgedAt is the data step the property tests judge at (base+2h): a
// window reaching past it is judged up to it.
const judgedAt = 480

// longestGap is the longest stretch of data steps [from, end] without a
// step where ok holds, in steps, the range's ends counting as its bounds:
// from from to the first such step, between two, and from the last to
// end; a stretch at an end counts twice (one lost step there is as much
// as one lost between two samples, 2 steps apart). 0 if there is none at
// all (that is no data, not a gap).
func longestGap(from, end int, ok func(i int) bool) int {
	prev, longest, any := from, 0, false
	for i := from; i <= end; i++ {
		if ok(i) {
			if any {
				longest = max(longest, i-prev)
			} else {
				longest = 2 * (i - from)
			}
			prev, any = i, true
		}
	}
	if !any {
		return 0
	}
	return max(longest, 2*(end-prev))
}

// gapAllowed is the judge's allowance in steps, without a scrape interval:
// one lost step between two samples (2 steps apart) is allowed, two are
// not.
const gapAllowed = 2

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
//
// steps are the window's data steps; the window judged runs from data
// step from to end (the window's end or judgedAt).
func generateMetric(rng *rand.Rand, f *verdicttest.Source, kind, suffix string, steps []int, from, end, n int, aggregate, critical bool, weight float64) genMetric {
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
		default:
			for name, d := range map[string]genGroup{"control": ctl, "experimental": exp} {
				finite := func(i int) bool {
					if i >= n {
						return false
					}
					present, bad, _ := d.at(i)
					return present > 0 && !bad
				}
				if l := longestGap(from, end, finite); l > gapAllowed {
					g.short, g.why = true, fmt.Sprintf("the %s group has no finite sample for %d steps", name, l)
				}
			}
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
	default:
		for name, d := range map[string][2]genGroup{"control": {ctlTot, ctlErr}, "experimental": {expTot, expErr}} {
			counted := func(i int) bool {
				if i >= n {
					return false
				}
				present, bad, _ := d[0].at(i)
				_, errBad, _ := d[1].at(i)
				return present > 0 && !bad && !errBad
			}
			if l := longestGap(from, end, counted); l > gapAllowed {
				g.short, g.why = true, fmt.Sprintf("the %s group has no counted step for %d steps", name, l)
			}
		}
	}
	return g
}

// at is step i of the group's series: how many have a sample there,
// whether one of those is NaN or infinite, and the sum of the finite ones.
func (g genGroup) at(i int) (present int, bad bool, sum float64) {
	for _, s := range g.series {
		switch v := s[i]; {
		case verdicttest.IsAbsent(v):
		case math.IsNaN(v) || math.IsInf(v, 0):
			present++
			bad = true
		default:
			present++
			sum += v
		}
	}
	return present, bad, sum
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
		present, bad, total := tot.at(i)
		errPresent, errBad, _ := errs.at(i)
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
				if rng.IntN(4) > 0 && from+1 < n && to >= n {
					// most windows in the data, which can pass
					to = n - 1
					window = fixedWindowOf(from, to)
				}
				aggregate := rng.IntN(2) == 0
				f := newSource()
				if rng.IntN(4) == 0 {
					f.Spill = time.Duration(1+rng.IntN(40)) * step
				}
				g := generateMetric(rng, f, kind, "", stepsIn(from, to, n), from, min(to, judgedAt), n, aggregate, true, 0)
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
			if rng.IntN(3) > 0 {
				to = min(to, n-1) // in the data, which can pass
			}
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
			ms[i] = generateMetric(rng, f, kind, fmt.Sprintf("_%d", i), steps, from, min(to, judgedAt), n, rng.IntN(2) == 0, rng.IntN(3) == 0, weight)
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

// coverageFailing is a CoverageSource that cannot be read.
type coverageFailing struct{}

func (coverageFailing) Coverage(context.Context, time.Time, time.Time) ([]chaos.WatchSpan, error) {
	return nil, errors.New("dial tcp 10.0.0.7:5432: connection refused")
}

// uncovered reports whether, for some watched resource, a time in [from,
// to] lies outside every span of it — worked out here by walking the
// union of the resource's spans from from, not by the judge's code.
func uncovered(spans []chaos.WatchSpan, from, to time.Time) bool {
	if !to.After(from) {
		return false
	}
	for _, r := range chaos.WatchedResources {
		reach := from
		for grew := true; grew && reach.Before(to); {
			grew = false
			for _, s := range spans {
				if s.Resource == r && !s.From.After(reach) && s.To.After(reach) {
					reach, grew = s.To, true
				}
			}
		}
		if reach.Before(to) {
			return true
		}
	}
	return false
}

// randTime is a random time in [from, to]: to the millisecond, or half the
// time to the second.
func randTime(rng *rand.Rand, from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	d := time.Duration(rng.Int64N(int64(to.Sub(from))/int64(time.Millisecond)+1)) * time.Millisecond
	if rng.IntN(2) == 0 {
		d = d.Truncate(time.Second)
	}
	return from.Add(d)
}

// genCoverage makes random watch coverage of the time around [from,
// until], and says what it made.
func genCoverage(rng *rand.Rand, from, until time.Time) (coverage, string) {
	ends := []string{chaos.SpanOpen, chaos.SpanBroken, chaos.SpanStopped}
	session := func(name string, resources []string, a, b time.Time, ended string) coverage {
		var c coverage
		for _, r := range resources {
			c = append(c, chaos.WatchSpan{Session: name, Resource: r, From: a, To: b, Ended: ended, Err: map[bool]string{true: "watch closed"}[ended == chaos.SpanBroken]})
		}
		return c
	}
	all := chaos.WatchedResources
	// restarts is [a, b] watched by sessions with 1–3 holes of up to 5
	// minutes between them, each ending as it may.
	restarts := func(a, b time.Time) coverage {
		var cuts []time.Time
		for range 1 + rng.IntN(3) {
			cuts = append(cuts, randTime(rng, from.Add(-10*time.Minute), until))
		}
		slices.SortFunc(cuts, time.Time.Compare)
		var c coverage
		cursor := a
		for i, cut := range cuts {
			if cut.Before(cursor) {
				continue
			}
			c = append(c, session(fmt.Sprintf("s%d", i), all, cursor, cut, ends[rng.IntN(3)])...)
			cursor = cut.Add(time.Millisecond + time.Duration(rng.Int64N(int64(5*time.Minute))))
		}
		if cursor.Before(b) {
			c = append(c, session("last", all, cursor, b, chaos.SpanOpen)...)
		}
		return c
	}
	// broken breaks the watch of some resources of c for a while, and
	// leaves some out of it.
	broken := func(c coverage) (coverage, []string) {
		var out coverage
		var which []string
		for _, r := range all {
			switch rng.IntN(6) {
			case 0, 1:
				which = append(which, r+" broken")
				for _, s := range c {
					if s.Resource != r {
						continue
					}
					cut := randTime(rng, s.From, s.To)
					back := cut.Add(time.Millisecond + time.Duration(rng.Int64N(int64(3*time.Minute))))
					out = append(out, chaos.WatchSpan{Session: s.Session, Resource: r, From: s.From, To: cut, Ended: chaos.SpanBroken, Err: "connection reset"})
					if back.Before(s.To) {
						out = append(out, chaos.WatchSpan{Session: s.Session, Resource: r, From: back, To: s.To, Ended: s.Ended, Err: s.Err})
					}
				}
			case 2:
				which = append(which, r+" not watched")
			default:
				for _, s := range c {
					if s.Resource == r {
						out = append(out, s)
					}
				}
			}
		}
		return out, which
	}
	switch rng.IntN(7) {
	case 0, 1:
		return session("a", all, from.Add(-time.Hour), until, chaos.SpanOpen), "watched throughout"
	case 2:
		return restarts(from.Add(-time.Hour), until), "steadywatch restarted"
	case 3:
		c, which := broken(session("a", all, from.Add(-time.Hour), until, chaos.SpanOpen))
		return c, fmt.Sprintf("watches broken: %v", which)
	case 4:
		end := randTime(rng, from.Add(-time.Hour), from)
		c := session("before", all, from.Add(-3*time.Hour), end, ends[rng.IntN(3)])
		desc := "spans end before the window"
		if rng.IntN(2) == 0 {
			again := randTime(rng, from, until.Add(5*time.Minute))
			c = append(c, session("again", all, again, until.Add(5*time.Minute), chaos.SpanOpen)...)
			desc += ", and watched again from " + again.Format(time.RFC3339Nano)
		}
		return c, desc
	case 5:
		if rng.IntN(2) == 0 {
			return nil, "no spans at all"
		}
		stale := randTime(rng, from, until)
		return session("a", all, from.Add(-time.Hour), stale, chaos.SpanOpen), "no heartbeat since " + stale.Format(time.RFC3339Nano)
	default:
		c, which := broken(restarts(from.Add(-time.Hour), until))
		return c, fmt.Sprintf("steadywatch restarted, and watches broken: %v", which)
	}
}

// durationChoice is a bound as the hypothesis writes it and its value.
type durationChoice struct {
	yaml string
	d    time.Duration
}

func pick(rng *rand.Rand, choices ...durationChoice) durationChoice {
	return choices[rng.IntN(len(choices))]
}

// No recovery expectation measured on steadywatch's watch passes over time
// it did not watch (issue 11, #8–#10): over random windows (fixed, or
// spanning chaos events), random incidents and HPA scaling in the store,
// random times of judgement, and random coverage — watched throughout,
// restarts, watches broken for some resources or never started, spans
// ending before the window, no spans at all, no heartbeat, or a source
// that cannot be read — an mttr, replacementReady or hpa expectation whose
// span (from the chaos start to the chaos end, or start, plus its bound,
// until the time of judgement) overlaps unwatched time is never Pass, nor
// is the hypothesis; and neither is a hypothesis whose window does. Where
// the coverage has no gap the verdict is what it is without coverage. The
// unwatched time is computed here from the generated spans: any watched
// resource not covered.
func TestNoRecoveryExpectationPassesOverUnwatchedTime(t *testing.T) {
	iterations := 2500
	if testing.Short() {
		iterations = 300
	}
	const seed1, seed2 = 2026, 14
	rng := rand.New(rand.NewPCG(seed1, seed2))
	latency := newSource()
	latency.Set("latency", chaos.Control, lognormal(1, 600, 0.1, 0.3))
	latency.Set("latency", chaos.Experimental, lognormal(2, 600, 0.1, 0.3))
	var seen struct {
		unwatched, saved, watched, watchedPass, passed, hypSaved, errs int
	}
	for it := range iterations {
		s := tracker.NewMemoryStore()
		var desc strings.Builder
		fmt.Fprintf(&desc, "seed (%d, %d), iteration %d:", seed1, seed2, it)

		// The window, and when it is judged.
		var (
			window                               string
			start, end, chaosStart, chaosEnd, at time.Time
		)
		if rng.IntN(2) == 0 {
			start = base.Add(time.Duration(rng.IntN(30*60)) * time.Second)
			end = start.Add(time.Duration(5*60+rng.IntN(55*60)) * time.Second)
			chaosStart, chaosEnd = start, end
			window = fmt.Sprintf("window: {fixed: {start: %s, end: %s}}", start.Format(time.RFC3339), end.Format(time.RFC3339))
			at = randTime(rng, chaosStart.Add(time.Minute), end.Add(30*time.Minute))
		} else {
			window = "window: {events: {kinds: [pod_deleted], lookback: 6h, before: 5m, after: 15m}}"
			for k := range 1 + rng.IntN(3) {
				t0 := randTime(rng, base, base.Add(time.Hour))
				if k == 0 || t0.Before(chaosStart) {
					chaosStart = t0
				}
				if k == 0 || t0.After(chaosEnd) {
					chaosEnd = t0
				}
				require.NoError(t, s.SaveEvent(t.Context(), chaos.Event{
					Kind: chaos.PodDeleted, Subject: shopExperimental, At: chaos.Timestamp{Observed: t0},
					Object: chaos.Ref{Kind: "Pod", Namespace: "shop", Name: fmt.Sprintf("api-%d", k)},
				}))
			}
			start, end = chaosStart.Add(-5*time.Minute), chaosEnd.Add(15*time.Minute)
			at = randTime(rng, chaosEnd.Add(time.Minute), end.Add(30*time.Minute))
		}
		if rng.IntN(2) == 0 {
			at = end.Add(30 * time.Minute)
		}
		fmt.Fprintf(&desc, "\n  %s, chaos %s–%s, judged at %s", window,
			chaosStart.Format(time.RFC3339Nano), chaosEnd.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))

		// The recovery expectations, and the span each is measured over.
		spans := map[string][2]time.Time{}
		measured := func(name string, to time.Time) { spans[name] = [2]time.Time{chaosStart, minTime(to, at)} }
		var rec []string
		for len(rec) == 0 {
			if rng.IntN(2) == 0 {
				b := pick(rng, durationChoice{"1m", time.Minute}, durationChoice{"90s", 90 * time.Second}, durationChoice{"3m", 3 * time.Minute}, durationChoice{"5m", 5 * time.Minute})
				rec = append(rec, "mttr: "+b.yaml)
				measured("mttr", chaosEnd.Add(b.d))
			}
			if rng.IntN(2) == 0 {
				b := pick(rng, durationChoice{"30s", 30 * time.Second}, durationChoice{"1m", time.Minute}, durationChoice{"2m", 2 * time.Minute})
				rec = append(rec, "replacementReady: "+b.yaml)
				measured("replacement_ready", chaosEnd.Add(b.d))
			}
			if rng.IntN(2) == 0 {
				within := pick(rng, durationChoice{"1m", time.Minute}, durationChoice{"3m", 3 * time.Minute}, durationChoice{"5m", 5 * time.Minute})
				minReplicas := 3 + rng.Int32N(3)
				hpa := fmt.Sprintf("hpa: {name: api, minReplicas: %d, within: %s", minReplicas, within.yaml)
				measured("hpa/api", chaosStart.Add(within.d))
				back := pick(rng, durationChoice{"5m", 5 * time.Minute}, durationChoice{"10m", 10 * time.Minute})
				hpa += ", baselineWithin: " + back.yaml
				measured("hpa/api/baseline", chaosEnd.Add(back.d))
				rec = append(rec, hpa+"}")
				// Mostly up in time and back, sometimes too little, too
				// late, not back, or not at all.
				if rng.IntN(6) > 0 {
					up := randTime(rng, chaosStart, chaosStart.Add(within.d))
					if rng.IntN(6) == 0 {
						up = randTime(rng, chaosStart, chaosStart.Add(6*time.Minute))
					}
					to := minReplicas + rng.Int32N(2)
					if rng.IntN(6) == 0 {
						to--
					}
					events := []chaos.Event{{Kind: chaos.HPAScaledUp, Subject: shopExperimental, Object: apiHPA, At: chaos.Timestamp{Observed: up}, FromReplicas: 2, ToReplicas: to}}
					if rng.IntN(6) > 0 {
						down := maxTime(up.Add(time.Second), randTime(rng, chaosEnd, chaosEnd.Add(back.d)))
						if rng.IntN(6) == 0 {
							down = maxTime(up.Add(time.Second), randTime(rng, chaosEnd, chaosEnd.Add(12*time.Minute)))
						}
						events = append(events, chaos.Event{Kind: chaos.HPAScaledDown, Subject: shopExperimental, Object: apiHPA, At: chaos.Timestamp{Observed: down}, FromReplicas: to, ToReplicas: 2})
					}
					for _, e := range events {
						if !e.At.Observed.After(at) {
							require.NoError(t, s.SaveEvent(t.Context(), e))
							fmt.Fprintf(&desc, "\n  event %s %d→%d at %s", e.Kind, e.FromReplicas, e.ToReplicas, e.At.Observed.Format(time.RFC3339Nano))
						}
					}
				}
			}
		}
		var alerts fakeAlerts
		if rng.IntN(4) == 0 {
			rec = append(rec, "alerts: [{name: ApiDown, within: 5m}]")
			if rng.IntN(2) == 0 {
				alerts.alerts = append(alerts.alerts, alert.Alert{
					Fingerprint: "down", Status: alert.Firing, Labels: map[string]string{"alertname": "ApiDown"},
					StartsAt: randTime(rng, chaosStart, chaosStart.Add(4*time.Minute)),
				})
			}
		}
		spec := "  recovery: {" + strings.Join(rec, ", ") + "}\n"
		if rng.IntN(2) == 0 {
			spec = metrics(latencyMetric) + spec
		}
		fmt.Fprintf(&desc, "\n  %s", strings.TrimSpace(spec))

		// Incidents in the chaos span: recovered in time or not, open,
		// or started unseen.
		incidents := 1 + rng.IntN(4)
		if rng.IntN(8) == 0 {
			incidents = 0
		}
		for k := range incidents {
			kind := []chaos.Kind{chaos.PodDeleted, chaos.PodDeleted, chaos.WorkloadDegraded, chaos.NodeNotReady}[rng.IntN(4)]
			i := chaos.Incident{
				ID: fmt.Sprintf("i%d", k), Kind: kind, Subject: shopExperimental, Object: apiDeployment, Events: 1,
				Start: randTime(rng, chaosStart, chaosEnd), Missed: rng.IntN(20) == 0,
			}
			if i.Start.After(at) {
				continue
			}
			switch rng.IntN(8) {
			case 0: // open
			case 1, 2:
				i.End = i.Start.Add(time.Duration(1+rng.IntN(6*60)) * time.Second)
			default:
				i.End = i.Start.Add(time.Duration(1+rng.IntN(30000)) * time.Millisecond)
			}
			require.NoError(t, s.Save(t.Context(), i))
			fmt.Fprintf(&desc, "\n  incident %s at %s, end %s, missed %t", i.Kind, i.Start.Format(time.RFC3339Nano), i.End.Format(time.RFC3339Nano), i.Missed)
		}

		// The coverage.
		var cov verdict.CoverageSource
		var spansOf coverage
		failing := rng.IntN(10) == 0
		if failing {
			cov = coverageFailing{}
			seen.errs++
			desc.WriteString("\n  coverage: the source fails")
		} else {
			c, what := genCoverage(rng, start, at)
			cov, spansOf = c, c
			fmt.Fprintf(&desc, "\n  coverage: %s", what)
			for _, sp := range c {
				fmt.Fprintf(&desc, "\n    %s %s %s–%s %q", sp.Session, sp.Resource, sp.From.Format(time.RFC3339Nano), sp.To.Format(time.RFC3339Nano), sp.Ended)
			}
		}

		h := hyp(t, window, spec)
		o := verdict.Options{Samples: latency, Store: s, Alerts: &alerts}
		without, err := newJudge(t, o).Judge(t.Context(), h, at)
		require.NoError(t, err)
		o.Coverage = cov
		v, err := newJudge(t, o).Judge(t.Context(), h, at)
		require.NoError(t, err)
		fmt.Fprintf(&desc, "\n  verdict %s: %s\n  without coverage %s: %s", v.Result, v.Reason, without.Result, without.Reason)
		require.Len(t, v.Recovery, len(without.Recovery))

		anyUnwatched := false
		for i, x := range v.Recovery {
			sp, onTheWatch := spans[x.Name]
			if !onTheWatch {
				continue
			}
			unwatched := failing || uncovered(spansOf, sp[0], sp[1])
			anyUnwatched = anyUnwatched || unwatched
			if !unwatched {
				seen.watched++
				require.Equalf(t, without.Recovery[i].Result, x.Result, "%s over watched time %s–%s: %s (without coverage: %s)\n%s",
					x.Name, sp[0].Format(time.RFC3339Nano), sp[1].Format(time.RFC3339Nano), x.Reason, without.Recovery[i].Reason, &desc)
				if x.Result == verdict.Pass {
					seen.watchedPass++
				}
				continue
			}
			seen.unwatched++
			if without.Recovery[i].Result == verdict.Pass {
				seen.saved++
			}
			require.NotEqualf(t, verdict.Pass, x.Result, "%s over %s–%s, not wholly watched: %s\n%s",
				x.Name, sp[0].Format(time.RFC3339Nano), sp[1].Format(time.RFC3339Nano), x.Reason, &desc)
			require.NotEqualf(t, verdict.Pass, v.Result, "the hypothesis, with %s not wholly watched\n%s", x.Name, &desc)
		}
		windowUnwatched := failing || uncovered(spansOf, start, minTime(end, at))
		if windowUnwatched {
			require.NotEqualf(t, verdict.Pass, v.Result, "the hypothesis over a window not wholly watched\n%s", &desc)
		}
		if !anyUnwatched && !windowUnwatched {
			require.Equalf(t, without.Result, v.Result, "the hypothesis over watched time\n%s", &desc)
		}
		if v.Result == verdict.Pass {
			seen.passed++
		}
		if without.Result == verdict.Pass && v.Result != verdict.Pass {
			seen.hypSaved++
		}
	}
	t.Logf("%d hypotheses: %d expectations over unwatched time (%d would have passed), %d over watched time (%d passed); %d hypotheses passed, %d kept from passing by the coverage, %d with a failing coverage source",
		iterations, seen.unwatched, seen.saved, seen.watched, seen.watchedPass, seen.passed, seen.hypSaved, seen.errs)
	// the generator must reach every side, or the property says nothing
	require.Greater(t, seen.saved, iterations/20)
	require.Greater(t, seen.watchedPass, iterations/20)
	require.Greater(t, seen.passed, iterations/40)
	require.Greater(t, seen.hypSaved, iterations/40)
	require.Positive(t, seen.errs)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
