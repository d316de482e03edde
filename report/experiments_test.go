package report_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// stored is a verdict of the history, as the verdict loop saves it.
type stored struct {
	hypothesis string
	at         time.Time
	result     verdict.Result
	score      float64
	running    bool
	final      bool
}

// verdictHistory writes, from seed, a month of verdicts (from 2026-W10,
// Berlin) of random hypotheses — results changing, windows closing,
// final verdicts of the same result — and the named cases the test
// checks by hand in 2026-W12 (Berlin):
//   - steady: failed in W11, unchanged in W12 (no verdict in it);
//   - flipped: passed in W11, failed then passed then failed in W12;
//   - newcomer: judged first in W12, inconclusive, then final pass;
//   - later: judged first in W13 only;
//   - unjudged: inconclusive with no score (NaN) since W10.
func verdictHistory(seed uint64) []stored {
	rng := rand.New(rand.NewPCG(seed, seed^0xfeed))
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, berlin)
	results := []verdict.Result{verdict.Pass, verdict.Fail, verdict.Inconclusive}
	var out []stored
	for h := range 6 {
		name := fmt.Sprintf("random-%d", h)
		at := base.Add(time.Duration(rng.Int64N(int64(7 * 24 * time.Hour))))
		for at.Before(base.Add(35 * 24 * time.Hour)) {
			s := stored{hypothesis: name, at: at, result: results[rng.IntN(3)], score: float64(rng.IntN(101)), running: true}
			if rng.IntN(4) == 0 {
				s.score = math.NaN()
			}
			out = append(out, s)
			if rng.IntN(5) == 0 {
				// The window closes: the same result, final.
				s.at, s.running, s.final = s.at.Add(time.Duration(1+rng.IntN(60))*time.Minute), false, true
				out = append(out, s)
			}
			at = at.Add(time.Duration(rng.Int64N(int64(4 * 24 * time.Hour))))
		}
	}
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, berlin) }
	out = append(out,
		stored{"steady", day(10, 9), verdict.Pass, 100, true, false},
		stored{"steady", day(12, 9), verdict.Fail, 20, true, false},
		stored{"flipped", day(13, 9), verdict.Pass, 90, true, false},
		stored{"flipped", day(16, 0), verdict.Fail, 30, true, false}, // W12 starts at 16 00:00 Berlin
		stored{"flipped", day(18, 9), verdict.Pass, 95, true, false},
		stored{"flipped", day(20, 9), verdict.Fail, 10, true, false},
		stored{"newcomer", day(17, 9), verdict.Inconclusive, math.NaN(), true, false},
		stored{"newcomer", day(19, 9), verdict.Pass, 100, true, false},
		stored{"newcomer", day(19, 10), verdict.Pass, 100, false, true},
		stored{"later", day(23, 0), verdict.Pass, 100, true, false}, // W13 starts at 23 00:00 Berlin
		stored{"unjudged", day(3, 9), verdict.Inconclusive, math.NaN(), true, false},
	)
	return out
}

func saveHistory(t *testing.T, s store.Store, hist []stored) {
	for _, h := range hist {
		tr, err := verdict.NewTransition(verdict.Verdict{
			Hypothesis: h.hypothesis, At: h.at, Result: h.result, Score: h.score, Running: h.running,
			Reason: "judged " + string(h.result),
		}, h.final)
		require.NoError(t, err)
		require.NoError(t, s.SaveVerdict(t.Context(), tr))
	}
}

// expectExperiments computes the experiments of [from, to) by brute force
// over the history, as docs/reports.md defines them.
func expectExperiments(hist []stored, from, to time.Time) []report.Experiment {
	byName := map[string][]stored{}
	for _, h := range hist {
		byName[h.hypothesis] = append(byName[h.hypothesis], h)
	}
	out := []report.Experiment{}
	for name, hs := range byName {
		slices.SortFunc(hs, func(a, b stored) int { return a.at.Compare(b.at) })
		var inForce, last *stored
		e := report.Experiment{Hypothesis: name}
		for i := range hs {
			h := &hs[i]
			switch {
			case h.at.Before(from):
				inForce, last = h, h
			case h.at.Before(to):
				if last == nil || last.result != h.result {
					switch h.result {
					case verdict.Pass:
						e.Counts.Pass++
					case verdict.Fail:
						e.Counts.Fail++
					default:
						e.Counts.Inconclusive++
					}
				}
				e.Verdicts++
				last = h
			}
		}
		if last == nil {
			continue
		}
		if inForce != nil {
			e.Previous = inForce.result
		}
		e.Result, e.At, e.Reason, e.Running, e.Final = last.result, last.at, "judged "+string(last.result), last.running, last.final
		if !math.IsNaN(last.score) {
			e.Score = &last.score
		}
		e.Changed = e.Previous != e.Result
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b report.Experiment) int { return strings.Compare(a.Hypothesis, b.Hypothesis) })
	return out
}

// sameExperiments compares experiments, their times as instants.
func sameExperiments(t *testing.T, want, got []report.Experiment) {
	t.Helper()
	utc := func(es []report.Experiment) []report.Experiment {
		out := slices.Clone(es)
		for i := range out {
			out[i].At = out[i].At.UTC()
		}
		return out
	}
	require.Equal(t, utc(want), utc(got))
}

func TestTheExperimentsEqualTheVerdictsComputedFromTheHistory(t *testing.T) {
	hist := verdictHistory(14)
	w12 := report.ISOWeek(2026, 12, berlin)
	want := expectExperiments(hist, w12.From, w12.To)
	find := func(es []report.Experiment, name string) *report.Experiment {
		i := slices.IndexFunc(es, func(e report.Experiment) bool { return e.Hypothesis == name })
		if i < 0 {
			return nil
		}
		return &es[i]
	}
	// The oracle against the cases worked out by hand: the fixture tests
	// what it says.
	steady := find(want, "steady")
	require.NotNil(t, steady)
	require.Equal(t, report.Experiment{
		Hypothesis: "steady", Result: verdict.Fail, At: time.Date(2026, 3, 12, 9, 0, 0, 0, berlin), Score: new(20.0),
		Reason: "judged fail", Running: true, Previous: verdict.Fail,
	}, *steady)
	flipped := find(want, "flipped")
	require.NotNil(t, flipped)
	require.Equal(t, report.Counts{Pass: 1, Fail: 2}, flipped.Counts)
	require.Equal(t, verdict.Pass, flipped.Previous)
	require.Equal(t, verdict.Fail, flipped.Result)
	require.True(t, flipped.Changed)
	newcomer := find(want, "newcomer")
	require.NotNil(t, newcomer)
	require.Equal(t, report.Counts{Pass: 1, Inconclusive: 1}, newcomer.Counts, "becoming final is no change of result")
	require.Equal(t, 3, newcomer.Verdicts)
	require.True(t, newcomer.Final)
	require.True(t, newcomer.Changed, "a first verdict changed from none")
	require.Nil(t, find(want, "later"), "judged after the range: not in it")
	require.Nil(t, find(want, "unjudged").Score, "no score")

	for _, backend := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "sw.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.New(t) }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			s := fill(t, backend.dsn(t), generate(14))
			saveHistory(t, s, hist)
			ranges := []report.Range{}
			for _, zone := range []string{"Europe/Berlin", "UTC"} {
				for week := 9; week <= 16; week++ {
					ranges = append(ranges, report.ISOWeek(2026, week, mustLoad(zone)))
				}
			}
			between, err := report.Between(time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 18, 0, 0, 0, time.UTC), berlin)
			require.NoError(t, err)
			ranges = append(ranges, between)
			changedSomewhere, steadySomewhere := false, false
			for _, rg := range ranges {
				r, err := report.Weekly(t.Context(), s, report.Options{Range: rg, Now: func() time.Time { return now }})
				require.NoError(t, err)
				want := expectExperiments(hist, rg.From, rg.To)
				sameExperiments(t, want, r.Experiments)
				for _, e := range want {
					changedSomewhere = changedSomewhere || e.Changed && e.Previous != ""
					steadySomewhere = steadySomewhere || !e.Changed && e.Verdicts > 0
				}
			}
			require.True(t, changedSomewhere, "the random hypotheses change from one week to the next")
			require.True(t, steadySomewhere, "and some keep their verdict through a week with verdicts")

			r, err := report.Weekly(t.Context(), s, report.Options{Range: w12, Now: func() time.Time { return now }})
			require.NoError(t, err)
			var md, csv, js strings.Builder
			require.NoError(t, report.WriteMarkdown(&md, r))
			require.Contains(t, md.String(), "\n## Experiments\n")
			require.Contains(t, md.String(), "| steady | fail (running) | 2026-03-12 09:00 CET | 20.0 | 0 | 0 | 0 | fail | no |\n")
			require.Contains(t, md.String(), "| flipped | fail (running) | 2026-03-20 09:00 CET | 10.0 | 1 | 2 | 0 | pass | **yes** |\n")
			require.Contains(t, md.String(), "| newcomer | pass (final) | 2026-03-19 10:00 CET | 100.0 | 1 | 0 | 1 | none | **yes** |\n")
			require.Contains(t, md.String(), "flipped (pass → fail)")
			require.Contains(t, md.String(), "newcomer (none → pass)")
			require.NotContains(t, md.String(), "steady (")
			require.NoError(t, report.WriteCSV(&csv, r))
			require.Contains(t, csv.String(), "current,2026-03-16T00:00:00+01:00,2026-03-23T00:00:00+01:00,,experiment:flipped:became_fail,2,3\n")
			require.Contains(t, csv.String(), "current,2026-03-16T00:00:00+01:00,2026-03-23T00:00:00+01:00,,experiment:unjudged:score,,0\n")
			require.Contains(t, csv.String(), "previous,2026-03-09T00:00:00+01:00,2026-03-16T00:00:00+01:00,,experiment:newcomer:result,,0\n")
			require.Contains(t, csv.String(), "previous,2026-03-09T00:00:00+01:00,2026-03-16T00:00:00+01:00,,experiment:steady:result,fail,1\n")
			require.NoError(t, report.WriteJSON(&js, r))
			var back struct {
				Experiments []struct {
					Hypothesis string   `json:"hypothesis"`
					Score      *float64 `json:"score"`
					Changed    bool     `json:"changed"`
				} `json:"experiments"`
			}
			require.NoError(t, json.Unmarshal([]byte(js.String()), &back))
			require.Len(t, back.Experiments, len(r.Experiments))
			for i, e := range back.Experiments {
				require.Equal(t, r.Experiments[i].Hypothesis, e.Hypothesis)
				require.Equal(t, r.Experiments[i].Score, e.Score)
				require.Equal(t, r.Experiments[i].Changed, e.Changed)
			}
		})
	}
}

func TestAStoreWithOnlyVerdictsIsNotEmpty(t *testing.T) {
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{})
	w13 := report.ISOWeek(2026, 13, berlin)
	r, err := report.Weekly(t.Context(), s, report.Options{Range: w13})
	require.NoError(t, err)
	require.True(t, r.Empty)
	require.Empty(t, r.Experiments)

	// Judged after the range only: not in it, but the store has data.
	saveHistory(t, s, []stored{{"later", w13.To, verdict.Pass, 100, true, false}})
	r, err = report.Weekly(t.Context(), s, report.Options{Range: w13})
	require.NoError(t, err)
	require.False(t, r.Empty)
	require.Empty(t, r.Experiments, "a verdict at the range's end is not in it")
	var md strings.Builder
	require.NoError(t, report.WriteMarkdown(&md, r))
	require.Contains(t, md.String(), "No hypothesis has a verdict in this range.")

	// One judged the instant the range ends' nanosecond before: it is.
	saveHistory(t, s, []stored{{"at-the-end", w13.To.Add(-time.Nanosecond), verdict.Fail, 0, true, false}})
	r, err = report.Weekly(t.Context(), s, report.Options{Range: w13})
	require.NoError(t, err)
	require.Len(t, r.Experiments, 1)
	require.Equal(t, "at-the-end", r.Experiments[0].Hypothesis)
}

func TestTheReportNamesTheChaosToolRunAVerdictJudgedAndWhereTheToolDisagrees(t *testing.T) {
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{})
	w12 := report.ISOWeek(2026, 12, berlin)
	start := time.Date(2026, 3, 17, 9, 0, 0, 0, berlin)
	run := verdict.Experiment{
		Tool: "litmus", Kind: "ChaosEngine", Namespace: "shop", Name: "kill-web", UID: "u-1", Fault: "pod-delete",
		Start: start, End: start.Add(5 * time.Minute), Result: "Pass", Detail: "phase Completed",
	}
	disagrees := "litmus ChaosEngine shop/kill-web pod-delete says Pass; steadywatch's comparison with control fails"
	save := func(v verdict.Verdict) {
		tr, err := verdict.NewTransition(v, false)
		require.NoError(t, err)
		require.NoError(t, s.SaveVerdict(t.Context(), tr))
	}
	save(verdict.Verdict{
		Hypothesis: "kill-web", At: start.Add(10 * time.Minute), Result: verdict.Fail, Score: 20, Reason: "latency",
		Experiments: []verdict.Experiment{run}, ToolDisagrees: disagrees,
	})
	save(verdict.Verdict{Hypothesis: "by-events", At: start.Add(20 * time.Minute), Result: verdict.Pass, Score: 100, Reason: "ok"})

	r, err := report.Weekly(t.Context(), s, report.Options{Range: w12})
	require.NoError(t, err)
	require.Len(t, r.Experiments, 2)
	byEvents, killWeb := r.Experiments[0], r.Experiments[1]
	require.Equal(t, "kill-web", killWeb.Hypothesis)
	require.Len(t, killWeb.Runs, 1)
	require.Equal(t, run.UID, killWeb.Runs[0].UID)
	require.True(t, run.Start.Equal(killWeb.Runs[0].Start))
	require.Equal(t, disagrees, killWeb.ToolDisagrees)
	require.Empty(t, byEvents.Runs, "a window from events names no tool's run")
	require.Empty(t, byEvents.ToolDisagrees)

	var md, csv strings.Builder
	require.NoError(t, report.WriteMarkdown(&md, r))
	require.Contains(t, md.String(), "| Chaos tool run |")
	require.Contains(t, md.String(), "| kill-web | fail | 2026-03-17 09:10 CET | 20.0 | 0 | 1 | 0 | none | **yes** | litmus ChaosEngine shop/kill-web pod-delete: Pass (phase Completed) |\n")
	require.Contains(t, md.String(), "| by-events | pass | 2026-03-17 09:20 CET | 100.0 | 1 | 0 | 0 | none | **yes** | none |\n")
	require.Contains(t, md.String(), "The chaos tool disagrees with kill-web: "+disagrees+".")
	require.NoError(t, report.WriteCSV(&csv, r))
	require.Contains(t, csv.String(), ",experiment:kill-web:chaos_run,litmus ChaosEngine shop/kill-web pod-delete: Pass (phase Completed),1\n")
	require.Contains(t, csv.String(), ",experiment:kill-web:tool_disagrees,"+disagrees+",1\n")
	require.NotContains(t, csv.String(), "experiment:by-events:chaos_run")

	var html strings.Builder
	require.NoError(t, report.WriteHTML(&html, r))
	require.Contains(t, html.String(), "Chaos tool run")
	require.Contains(t, html.String(), "The chaos tool disagrees with kill-web")
}

// A verdict judged after its window that is not final yet (an HPA's return
// still to come) says when it will be decided, in every format.
func TestAVerdictNotFinalYetSaysWhenItIsDecided(t *testing.T) {
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{})
	w12 := report.ISOWeek(2026, 12, berlin)
	start := time.Date(2026, 3, 17, 9, 0, 0, 0, berlin)
	by := start.Add(34 * time.Minute)
	for _, v := range []verdict.Verdict{
		{
			Hypothesis: "cpu", At: start.Add(31 * time.Minute), Result: verdict.Inconclusive, Score: 100, Reason: "not yet",
			Recovery: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Pass, Observed: 60},
				{Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(), DecidedBy: by},
			},
		},
		{
			Hypothesis: "kill", At: start.Add(31 * time.Minute), Result: verdict.Pass, Score: 100, Reason: "ok",
			Recovery: []verdict.Expectation{{Name: "mttr", Result: verdict.Pass, Observed: 3}},
		},
	} {
		tr, err := verdict.NewTransition(v, v.DecidedBy().IsZero())
		require.NoError(t, err)
		require.NoError(t, s.SaveVerdict(t.Context(), tr))
	}
	r, err := report.Weekly(t.Context(), s, report.Options{Range: w12})
	require.NoError(t, err)
	require.Len(t, r.Experiments, 2)
	cpu, kill := r.Experiments[0], r.Experiments[1]
	require.False(t, cpu.Final)
	require.NotNil(t, cpu.DecidedBy)
	require.True(t, by.Equal(*cpu.DecidedBy))
	require.True(t, kill.Final)
	require.Nil(t, kill.DecidedBy)

	var md, csv, js strings.Builder
	require.NoError(t, report.WriteMarkdown(&md, r))
	require.Contains(t, md.String(), "| cpu | inconclusive (not final: decided by 2026-03-17 09:34 CET) |")
	require.Contains(t, md.String(), "| kill | pass (final) |")
	require.NoError(t, report.WriteCSV(&csv, r))
	require.Contains(t, csv.String(), ",experiment:cpu:decided_by,2026-03-17T08:34:00Z,1\n")
	require.NotContains(t, csv.String(), "experiment:kill:decided_by")
	require.NoError(t, report.WriteJSON(&js, r))
	require.Contains(t, js.String(), `"decided_by": "2026-03-17T08:34:00Z"`)
}
