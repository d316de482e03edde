package verdict_test

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// No verdict is ever pass on missing, NaN, infinite or partial data: over
// random windows, gaps, NaN and ±Inf injections, missing groups, single
// points, several series per group and Prometheus warnings, a metric whose
// evidence falls short — as counted here from the generated data — is never
// Pass, and neither is the hypothesis.
//
// Unwatched data (a window that overlaps an outage of steadywatch's own
// watch, issue 11 #8–#10) is another way for evidence to fall short; when
// the judge learns of outages, generate them here too.
func TestNoVerdictPassesOnInsufficientData(t *testing.T) {
	const (
		iterations = 2000
		n          = 241 // data steps from base, at 15 s
		minSamples = verdict.DefaultMinSamples
	)
	type tally struct{ short, enough, passed int }
	for _, kind := range []string{"value", "ratio"} {
		t.Run(kind, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2026, map[string]uint64{"value": 11, "ratio": 12}[kind]))
			var seen tally
			for it := range iterations {
				from := rng.IntN(n + 20)
				to := from + 1 + rng.IntN(n)
				window := fmt.Sprintf("window: {fixed: {start: %s, end: %s}}",
					base.Add(time.Duration(from)*step).Format(time.RFC3339), base.Add(time.Duration(to)*step).Format(time.RFC3339))
				aggregate := rng.IntN(2) == 0
				f := newSource()
				if rng.IntN(4) == 0 {
					f.Spill = time.Duration(1+rng.IntN(40)) * step
				}
				steps := stepsIn(from, to, n)
				var spec string
				var short bool
				var why string
				if kind == "value" {
					rangeMinutes := []int{0, 1, 2, 5}[rng.IntN(4)]
					query, k := `latency{ {{ .Group }} }`, 1
					if rangeMinutes > 0 {
						query, k = fmt.Sprintf(`sum(rate(latency{ {{ .Group }} }[%dm]))`, rangeMinutes), 4*rangeMinutes
					}
					spec = metrics(fmt.Sprintf(`
    - name: latency
      query: '%s'
      direction: higherIsWorse
      allowedEffect: 20%%
      critical: true`, query))
					if aggregate {
						spec = metrics(fmt.Sprintf(`
    - name: latency
      query: '%s'
      direction: higherIsWorse
      allowedEffect: 20%%
      critical: true
      aggregate: avg`, query))
					}
					factor := []float64{1, 1, 10}[rng.IntN(3)]
					ctl, exp := genGroupData(rng, n, 0.1), genGroupData(rng, n, 0.1*factor)
					f.Set("latency", chaos.Control, ctl.series...)
					f.Set("latency", chaos.Experimental, exp.series...)
					for g, d := range map[chaos.Group]genGroup{chaos.Control: ctl, chaos.Experimental: exp} {
						if d.warning {
							f.Warn("latency", g, "partial response")
						}
					}
					nc, okc := ctl.finiteSteps(steps, aggregate)
					ne, oke := exp.finiteSteps(steps, aggregate)
					thinned := func(x int) int { return (x + k - 1) / k }
					switch {
					case !okc || !oke:
						short, why = true, "a group is missing or has several series"
					case ctl.warning || exp.warning:
						short, why = true, "a warning"
					case thinned(nc) < minSamples || thinned(ne) < minSamples:
						short, why = true, fmt.Sprintf("%d and %d finite samples, one in %d independent", nc, ne, k)
					}
				} else {
					spec = metrics(errorRatioMetric)
					if aggregate {
						spec = metrics(errorRatioMetric + "\n      aggregate: sum")
					}
					ctlTot, expTot := genGroupData(rng, n, 10), genGroupData(rng, n, 10)
					ctlErr, expErr := genGroupData(rng, n, 0.01), genGroupData(rng, n, []float64{0.01, 0.5}[rng.IntN(2)])
					f.Set("requests_rate", chaos.Control, ctlTot.series...)
					f.Set("requests_rate", chaos.Experimental, expTot.series...)
					f.Set("errors_rate", chaos.Control, ctlErr.series...)
					f.Set("errors_rate", chaos.Experimental, expErr.series...)
					for _, w := range []struct {
						name string
						g    chaos.Group
						d    genGroup
					}{
						{"requests_rate", chaos.Control, ctlTot},
						{"requests_rate", chaos.Experimental, expTot},
						{"errors_rate", chaos.Control, ctlErr},
						{"errors_rate", chaos.Experimental, expErr},
					} {
						if w.d.warning {
							f.Warn(w.name, w.g, "partial response")
						}
					}
					// A group's requests counted over the steps where its
					// total is finite and its errors (if the errors series
					// exists) are too; an errors query without series is
					// the zero-error case, by design.
					counted := func(tot, errs genGroup) (requests float64, ok bool) {
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
					rc, okc := counted(ctlTot, ctlErr)
					re, oke := counted(expTot, expErr)
					switch {
					case !okc || !oke:
						short, why = true, "a total missing, several series, or errors all NaN"
					case ctlTot.warning || expTot.warning || ctlErr.warning || expErr.warning:
						short, why = true, "a warning"
					case rc < 100 || re < 100:
						short, why = true, fmt.Sprintf("%.0f and %.0f requests", rc, re)
					}
				}
				v, err := newJudge(t, verdict.Options{Samples: f}).Judge(t.Context(), hyp(t, window, spec), base.Add(2*time.Hour))
				require.NoError(t, err)
				m := v.Metrics[0]
				if short {
					seen.short++
					require.NotEqualf(t, verdict.Pass, m.Result, "iteration %d, window steps [%d, %d], %s: %s", it, from, to, why, m.Reason)
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
