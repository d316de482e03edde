package verdict_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

// coverage is a CoverageSource holding spans.
type coverage []chaos.WatchSpan

func (c coverage) Coverage(_ context.Context, since, until time.Time) ([]chaos.WatchSpan, error) {
	var out []chaos.WatchSpan
	for _, s := range c {
		if !s.To.Before(since) && !s.From.After(until) {
			out = append(out, s)
		}
	}
	return out, nil
}

// watched is one session watching every resource from base+from to
// base+to, the span ending as ended says (err for a broken one).
func watched(session string, from, to time.Duration, ended, err string) coverage {
	var c coverage
	for _, r := range chaos.WatchedResources {
		c = append(c, chaos.WatchSpan{Session: session, Resource: r, From: base.Add(from), To: base.Add(to), Ended: ended, Err: err})
	}
	return c
}

func concat(cs ...coverage) coverage {
	var out coverage
	for _, c := range cs {
		out = append(out, c...)
	}
	return out
}

// Issue 11, #8: the seeds' examples, judged over a fixed window steadywatch
// never watched, failed ("did not scale up within 3m").
func TestAnExampleWindowSteadywatchNeverWatchedIsInconclusive(t *testing.T) {
	for _, tc := range []struct {
		file, expectation, reason string
	}{
		{
			"cpu-autoscaling.yaml", "hpa/scale-app-experimental",
			"steadywatch has no record of 2026-11-22 14:00:00–14:03:00 UTC: it was not running (without it: fail, scale-app-experimental did not scale up within 3m0s of the chaos start)",
		},
		{
			"resource-exhaustion.yaml", "alert/ScaleAppHighLatency",
			"steadywatch has no record of 2026-11-21 10:00:00–10:05:00 UTC: it was not running (without it: fail, ScaleAppHighLatency did not start within 5m0s of the chaos start)",
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			hs, err := hypothesis.Load(filepath.Join("..", "examples", tc.file))
			require.NoError(t, err)
			h := &hs[0]
			at := h.Window.Fixed.End.Add(24 * time.Hour)
			// steadywatch ran the week before, and ran now, judging.
			before := h.Window.Fixed.Start.Add(-7 * 24 * time.Hour)
			cov := coverage{}
			for _, r := range chaos.WatchedResources {
				cov = append(cov,
					chaos.WatchSpan{Session: "a", Resource: r, From: before, To: before.Add(time.Hour), Ended: chaos.SpanStopped},
					chaos.WatchSpan{Session: "b", Resource: r, From: at.Add(-time.Minute), To: at})
			}
			for _, withCoverage := range []bool{false, true} {
				o := verdict.Options{Samples: newSource(), Store: tracker.NewMemoryStore(), Alerts: &fakeAlerts{}}
				if withCoverage {
					o.Coverage = cov
				}
				v, err := newJudge(t, o).Judge(t.Context(), h, at)
				require.NoError(t, err)
				x := expectationNamed(t, v, tc.expectation)
				if !withCoverage {
					require.Equal(t, verdict.Fail, x.Result, "the defect: %s", x.Reason)
					continue
				}
				require.Equal(t, verdict.Inconclusive, x.Result)
				require.Equal(t, tc.reason, x.Reason)
				require.Equal(t, verdict.Inconclusive, v.Result, v.Reason)
				require.Len(t, v.Unwatched, 1)
				require.Equal(t, verdict.GapNotRunning, v.Unwatched[0].Why)
				require.Equal(t, h.Window.Fixed.Start, v.Unwatched[0].From)
				require.Equal(t, h.Window.Fixed.End, v.Unwatched[0].To)
			}
		})
	}
}

func expectationNamed(t *testing.T, v verdict.Verdict, name string) verdict.Expectation {
	t.Helper()
	for _, x := range v.Recovery {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("no expectation %s in %+v", name, v.Recovery)
	return verdict.Expectation{}
}

func TestRecoveryExpectationsOverTimeSteadywatchDidNotWatch(t *testing.T) {
	const m = time.Minute
	// An incident at base+5m that recovered in 30 s: mttr 3m passes on it.
	recovered := []chaos.Incident{inc(chaos.PodDeleted, 5*m, 30*time.Second)}
	for _, tc := range []struct {
		name     string
		recovery string
		coverage coverage
		alerts   []alert.Alert
		want     verdict.Result
		reason   string
		verdict  verdict.Result
		gaps     int
	}{
		{
			name: "watched throughout: the measurement stands", recovery: "{mttr: 3m}",
			coverage: watched("a", -m, 2*time.Hour, chaos.SpanOpen, ""),
			want:     verdict.Pass, reason: "all 1 incidents recovered within 3m0s", verdict: verdict.Pass,
		},
		{
			name: "a broken pod watch in the window: a fault may have gone unseen", recovery: "{mttr: 3m}",
			coverage: concat(
				coverage{{Session: "a", Resource: "pods", From: base.Add(-m), To: base.Add(10*m + 3*time.Second), Ended: chaos.SpanBroken, Err: "connection refused"}},
				coverage{{Session: "a", Resource: "pods", From: base.Add(10*m + 17*time.Second), To: base.Add(2 * time.Hour)}},
				watched("a", -m, 2*time.Hour, chaos.SpanOpen, "")[1:]),
			want:    verdict.Inconclusive,
			reason:  "the pods watch was broken 2026-03-01 12:10:03–12:10:17 UTC (connection refused) (without it: pass, all 1 incidents recovered within 3m0s",
			verdict: verdict.Inconclusive, gaps: 1,
		},
		{
			name: "steadywatch restarted in the window", recovery: "{mttr: 3m}",
			coverage: concat(watched("a", -m, 20*m, chaos.SpanStopped, ""), watched("b", 21*m, 2*time.Hour, chaos.SpanOpen, "")),
			want:     verdict.Inconclusive,
			reason:   "steadywatch has no record of 2026-03-01 12:20:00–12:21:00 UTC: it was not running",
			verdict:  verdict.Inconclusive, gaps: 1,
		},
		{
			name: "steadywatch stopped heartbeating: not recorded", recovery: "{mttr: 3m}",
			coverage: watched("a", -m, 30*m, chaos.SpanOpen, ""),
			want:     verdict.Inconclusive,
			reason:   "steadywatch has no record of 2026-03-01 12:30:00–13:01:00 UTC: it recorded its watch until 12:30:00 and nothing since",
			verdict:  verdict.Inconclusive, gaps: 1,
		},
		{
			name: "a gap after the expectation's span leaves it judged, but the verdict cannot pass", recovery: "{mttr: 3m}",
			coverage: concat(watched("a", -m, 50*m, chaos.SpanStopped, ""), watched("b", 51*m, 2*time.Hour, chaos.SpanOpen, "")),
			want:     verdict.Inconclusive, // the chaos span is the whole window here
			reason:   "steadywatch has no record of 2026-03-01 12:50:00–12:51:00 UTC: it was not running",
			verdict:  verdict.Inconclusive, gaps: 1,
		},
		{
			name: "an alert that was seen passes over a gap", recovery: "{alerts: [{name: Down, within: 5m}]}",
			coverage: concat(watched("a", -m, 2*m, chaos.SpanStopped, ""), watched("b", 3*m, 2*time.Hour, chaos.SpanOpen, "")),
			alerts:   []alert.Alert{firing("Down", 4*m)},
			want:     verdict.Pass, reason: "Down started 4m0s after the chaos start",
			verdict: verdict.Inconclusive, gaps: 1,
		},
		{
			name: "an alert not seen while steadywatch was not running is inconclusive", recovery: "{alerts: [{name: Down, within: 5m}]}",
			coverage: concat(watched("a", -m, 2*m, chaos.SpanStopped, ""), watched("b", 3*m, 2*time.Hour, chaos.SpanOpen, "")),
			want:     verdict.Inconclusive,
			reason:   "steadywatch has no record of 2026-03-01 12:02:00–12:03:00 UTC: it was not running (without it: fail, Down did not start",
			verdict:  verdict.Inconclusive, gaps: 1,
		},
		{
			name: "an alert not seen while only the watch was broken still fails: alerts came in", recovery: "{alerts: [{name: Down, within: 5m}]}",
			coverage: concat(
				coverage{{Session: "a", Resource: "pods", From: base.Add(-m), To: base.Add(2 * m), Ended: chaos.SpanBroken}},
				coverage{{Session: "a", Resource: "pods", From: base.Add(3 * m), To: base.Add(2 * time.Hour)}},
				watched("a", -m, 2*time.Hour, chaos.SpanOpen, "")[1:]),
			want:    verdict.Fail,
			reason:  "Down did not start within 5m0s of the chaos start",
			verdict: verdict.Fail, gaps: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tracker.NewMemoryStore()
			for _, i := range recovered {
				require.NoError(t, s.Save(t.Context(), i))
			}
			o := verdict.Options{Samples: newSource(), Store: s, Alerts: &fakeAlerts{alerts: tc.alerts}, Coverage: tc.coverage}
			h := hyp(t, fixedWindow, "  recovery: "+tc.recovery+"\n")
			v, err := newJudge(t, o).Judge(t.Context(), h, after)
			require.NoError(t, err)
			require.Len(t, v.Recovery, 1)
			require.Equal(t, tc.want, v.Recovery[0].Result, v.Recovery[0].Reason)
			require.Contains(t, v.Recovery[0].Reason, tc.reason)
			require.Equal(t, tc.verdict, v.Result, v.Reason)
			require.Len(t, v.Unwatched, tc.gaps)
			if tc.verdict == verdict.Inconclusive && tc.gaps > 0 {
				require.Contains(t, v.Reason, v.Unwatched[0].Reason)
			}
		})
	}
}

func TestAFailureSeenStandsOverAGap(t *testing.T) {
	s := tracker.NewMemoryStore()
	require.NoError(t, s.Save(t.Context(), inc(chaos.PodDeleted, 5*time.Minute, 0)))
	f := newSource()
	aa(f, "latency", 1, 1)
	h := hyp(t, fixedWindow, metrics(latencyMetric))
	f.Set("latency", chaos.Experimental, scaled(lognormal(2, nSamples, 1, 0.1), 3))
	o := verdict.Options{
		Samples: f, Store: s,
		Coverage: concat(watched("a", -time.Minute, 20*time.Minute, chaos.SpanStopped, ""), watched("b", 21*time.Minute, 2*time.Hour, chaos.SpanOpen, "")),
	}
	v, err := newJudge(t, o).Judge(t.Context(), h, after)
	require.NoError(t, err)
	require.Equal(t, verdict.Fail, v.Result, v.Reason)
	require.Contains(t, v.Reason, "(and steadywatch has no record of 2026-03-01 12:20:00–12:21:00 UTC: it was not running)")
}

// No verdict passes over time steadywatch did not watch, whatever the
// window and wherever the gaps (issue 11: "a property test over random
// windows and random gaps").
func TestNoVerdictPassesOverAGap(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 8))
	s := tracker.NewMemoryStore()
	require.NoError(t, s.Save(t.Context(), inc(chaos.PodDeleted, 5*time.Minute, 30*time.Second)))
	h := hyp(t, fixedWindow, "  recovery: {mttr: 3m}\n")
	for i := range 300 {
		// Sessions covering [-1h, +2h] with up to three random holes,
		// each broken, stopped or unrecorded.
		var cov coverage
		cursor := -time.Hour
		holes := 0
		for cursor < 2*time.Hour {
			length := time.Duration(r.Int64N(int64(90*time.Minute))) + time.Second
			end := min(cursor+length, 2*time.Hour)
			ended := []string{chaos.SpanOpen, chaos.SpanBroken, chaos.SpanStopped}[r.IntN(3)]
			if end == 2*time.Hour || holes == 3 {
				end, ended = 2*time.Hour, chaos.SpanOpen
			}
			cov = append(cov, watched("s"+string(rune('a'+i%26)), cursor, end, ended, "")...)
			gap := time.Duration(r.Int64N(int64(5*time.Minute))) + time.Millisecond
			cursor = end + gap
			holes++
		}
		o := verdict.Options{Samples: newSource(), Store: s, Coverage: cov}
		v, err := newJudge(t, o).Judge(t.Context(), h, after)
		require.NoError(t, err)
		// The oracle: is [base, winEnd] inside the union of the spans?
		covered := true
		reach := base
		for {
			next := reach
			for _, sp := range cov {
				if !sp.From.After(reach) && sp.To.After(next) {
					next = sp.To
				}
			}
			if !next.Before(winEnd) {
				break
			}
			if next.Equal(reach) {
				covered = false
				break
			}
			reach = next
		}
		if covered {
			require.Equal(t, verdict.Pass, v.Result, "case %d: watched throughout: %s", i, v.Reason)
			require.Empty(t, v.Unwatched, "case %d", i)
		} else {
			require.Equal(t, verdict.Inconclusive, v.Result, "case %d: %s", i, v.Reason)
			require.NotEmpty(t, v.Unwatched, "case %d", i)
		}
	}
}

// Issue 11, #9: an incident whose start was inferred (a relist found its
// pod gone) took an estimated time; it is no evidence for an MTTR bound.
func TestAnIncidentWhoseStartWasNotSeenIsNoEvidence(t *testing.T) {
	missed := inc(chaos.PodDeleted, 5*time.Minute, time.Nanosecond)
	missed.Missed = true
	slow := inc(chaos.PodDeleted, 10*time.Minute, 5*time.Minute)
	for _, tc := range []struct {
		name      string
		incidents []chaos.Incident
		want      verdict.Result
		reason    string
	}{
		{
			"alone: inconclusive",
			[]chaos.Incident{missed},
			verdict.Inconclusive,
			"1 of 1 incidents started while steadywatch was not watching; how long they took is unknown: pod_deleted Deployment/shop/api at 2026-03-01T12:05:00Z",
		},
		{
			"beside a slow one seen: the failure stands",
			[]chaos.Incident{missed, slow},
			verdict.Fail,
			"1 of 2 incidents not recovered within 3m0s: pod_deleted Deployment/shop/api at 2026-03-01T12:10:00Z took 5m0s",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tracker.NewMemoryStore()
			for _, i := range tc.incidents {
				require.NoError(t, s.Save(t.Context(), i))
			}
			v, err := newJudge(t, verdict.Options{Samples: newSource(), Store: s}).
				Judge(t.Context(), hyp(t, fixedWindow, "  recovery: {mttr: 3m}\n"), after)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Recovery[0].Result)
			require.Equal(t, tc.reason, v.Recovery[0].Reason)
		})
	}
}
