package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// scriptedJudge returns its verdicts in turn, the last one for ever.
type scriptedJudge struct {
	mu     sync.Mutex
	script []verdict.Verdict
	calls  int
	// windowless: from this call on (when > 0) the judge cannot tell the
	// window (no chaos events found, the store unreachable).
	windowless int
}

func (j *scriptedJudge) Judge(_ context.Context, h *hypothesis.Hypothesis, at time.Time) (verdict.Verdict, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.script[min(j.calls, len(j.script)-1)]
	j.calls++
	v.Hypothesis, v.At, v.HypothesisDigest = h.Name, at, h.Digest()
	v.Window, _ = h.Window.Resolve(at, nil) // as the judge gives it
	if j.windowless > 0 && j.calls > j.windowless {
		v.Window, v.Running = hypothesis.Span{}, false // as the judge gives it: no window, none running
	}
	return v, nil
}

// killPostgresYAML is a hypothesis named NAME with a fixed window, 10:00
// to 10:30.
const killPostgresYAML = `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: NAME}
spec:
  service: postgres
  groups: {control: 'g="c"', experimental: 'g="e"'}
  window: {fixed: {start: 2026-11-21T10:00:00Z, end: 2026-11-21T10:30:00Z}}
  metrics:
    - name: errors
      query: 'sum(rate(errors_total{ {{ .Group }} }[1m]))'
      slo: {max: 1}
`

// killPostgres is killPostgresYAML named kill-postgres.
func killPostgres(t *testing.T) []hypothesis.Hypothesis {
	t.Helper()
	hs, err := hypothesis.Parse([]byte(strings.ReplaceAll(killPostgresYAML, "NAME", "kill-postgres")), "kill.yaml")
	require.NoError(t, err)
	return hs
}

func TestTheVerdictLoopRaisesAndResolvesTheAbortAndStopsAtTheFinalVerdict(t *testing.T) {
	hs := killPostgres(t)
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	poster, err := abort.New(abort.Options{URL: am.URL()})
	require.NoError(t, err)

	judge := &scriptedJudge{script: []verdict.Verdict{
		{Result: verdict.Fail, Running: true, Abort: true, AbortReasons: []string{"errors above 1"}},
		{Result: verdict.Inconclusive, Running: true},
		{Result: verdict.Fail},
	}}
	start := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	var clock sync.Mutex
	now := start
	l := &verdictLoop{
		judge: judge, hypotheses: hs, verdicts: verdict.NewBoard(), abort: poster,
		interval: time.Minute, log: slog.New(slog.DiscardHandler),
		now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now },
	}
	l.final = map[string]bool{}
	alerts := func() int {
		got, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
		require.NoError(t, err)
		return len(got.Payload)
	}

	l.judgeAll(t.Context())
	v, ok := l.verdicts.Get("kill-postgres")
	require.True(t, ok)
	require.True(t, v.Abort)
	require.True(t, poster.Aborting("kill-postgres"))
	// The alert is dated by the judgement's clock, in the past here: it is
	// held until now + 3 intervals of that clock, so not visible as active
	// in Alertmanager unless that is in the future.
	clock.Lock()
	now = time.Now()
	clock.Unlock()
	l.judge = &scriptedJudge{script: judge.script}
	l.judgeAll(t.Context()) // aborts again, with a current clock
	require.Equal(t, 1, alerts())

	l.judgeAll(t.Context()) // inconclusive: nothing shows the bound holds, held
	require.True(t, poster.Aborting("kill-postgres"))
	require.Equal(t, 1, alerts())

	// Past the window's end the verdict is final and not judged again; the
	// abort is resolved.
	clock.Lock()
	now = time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	clock.Unlock()
	l.judgeAll(t.Context())
	require.False(t, poster.Aborting("kill-postgres"))
	calls := l.judge.(*scriptedJudge).calls
	l.judgeAll(t.Context())
	require.Equal(t, calls, l.judge.(*scriptedJudge).calls, "a final verdict is kept")
	v, _ = l.verdicts.Get("kill-postgres")
	require.Equal(t, verdict.Fail, v.Result)
	require.False(t, v.Running)
}

// historyLoop is a serve (re)started with history, judging script, one
// judgement a minute on the clock now.
func historyLoop(t *testing.T, hs []hypothesis.Hypothesis, history verdictHistory, now func() time.Time, script ...verdict.Verdict) *verdictLoop {
	l := &verdictLoop{
		judge: &scriptedJudge{script: script}, hypotheses: hs, verdicts: verdict.NewBoard(), history: history,
		interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)), now: now,
	}
	l.final = map[string]bool{}
	return l
}

// flakyHistory is a store whose SaveVerdict fails while failing is set.
type flakyHistory struct {
	store.Store
	failing bool
	saves   int
}

func (f *flakyHistory) SaveVerdict(ctx context.Context, t verdict.Transition) error {
	f.saves++
	if f.failing {
		return errors.New("disk full")
	}
	return f.Store.SaveVerdict(ctx, t)
}

// history lists the stored verdicts as "15:04 result running|final".
func history(t *testing.T, s store.Store) []string {
	var out []string
	require.NoError(t, s.EachVerdict(t.Context(), time.Time{}, time.Time{}, func(tr *verdict.Transition) error {
		state := "running"
		switch {
		case tr.Final:
			state = "final"
		case !tr.Running:
			state = "closed"
		}
		out = append(out, tr.At.Format("15:04")+" "+string(tr.Result)+" "+state)
		return nil
	}))
	return out
}

func TestTheVerdictLoopRecordsTheTransitionsAndTheFinalVerdictOnceAcrossRestarts(t *testing.T) {
	hs := killPostgres(t)
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	hist := &flakyHistory{Store: db}

	var clock sync.Mutex
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	// newLoop is a serve (re)started with the store, judging script, one
	// judgement a minute.
	newLoop := func(script ...verdict.Verdict) *verdictLoop {
		return historyLoop(t, hs, hist, func() time.Time { clock.Lock(); defer clock.Unlock(); return now }, script...)
	}
	judge := func(l *verdictLoop, n int) {
		for range n {
			l.judgeAll(t.Context())
			clock.Lock()
			now = now.Add(time.Minute)
			clock.Unlock()
		}
	}
	pass, fail := verdict.Verdict{Result: verdict.Pass, Running: true, Score: 100}, verdict.Verdict{Result: verdict.Fail, Running: true, Score: math.NaN()}

	l := newLoop(pass, pass, fail, fail, pass)
	judge(l, 6) // 10:00 to 10:05
	require.Equal(t, []string{"10:00 pass running", "10:02 fail running", "10:04 pass running"}, history(t, db),
		"a judgement with the result before it is not recorded")

	// Restarted: the first judgement is what the store holds last.
	l = newLoop(pass, pass, fail)
	judge(l, 3) // 10:06 to 10:08
	require.Equal(t, []string{"10:00 pass running", "10:02 fail running", "10:04 pass running", "10:08 fail running"}, history(t, db),
		"a restart does not record the verdict in force again")

	// The store fails: the transition is recorded at the next judgement,
	// as judged when it happened.
	hist.failing = true
	saves := hist.saves
	l = newLoop(pass, pass, pass)
	judge(l, 2) // 10:09, 10:10
	require.Equal(t, 2, hist.saves-saves, "tried at the judgement, retried at the next")
	hist.failing = false
	judge(l, 1) // 10:11
	require.Equal(t, []string{"10:00 pass running", "10:02 fail running", "10:04 pass running", "10:08 fail running", "10:09 pass running"},
		history(t, db))

	// The window is over: the final verdict, with the same result, is
	// recorded, also when its first save fails.
	clock.Lock()
	now = time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	clock.Unlock()
	hist.failing = true
	l.judge = &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Pass, Score: 100}}}
	judge(l, 1) // 10:31, fails
	hist.failing = false
	judge(l, 1) // 10:32: not judged again, saved
	require.Equal(t, 1, l.judge.(*scriptedJudge).calls, "the final verdict is not judged again")
	want := []string{"10:00 pass running", "10:02 fail running", "10:04 pass running", "10:08 fail running", "10:09 pass running", "10:31 pass final"}
	require.Equal(t, want, history(t, db))
	judge(l, 2)
	require.Equal(t, want, history(t, db), "a final verdict is recorded once")

	// Restarted after the window, Prometheus has dropped the data: the
	// verdict judged again is inconclusive, and history is not rewritten.
	l = newLoop(verdict.Verdict{Result: verdict.Inconclusive, Score: math.NaN()})
	judge(l, 2)
	require.Equal(t, want, history(t, db), "a restart does not record a final verdict again")
	// Nor is it judged again: the API and the metrics give the final
	// verdict the store keeps, not an inconclusive re-judgement.
	require.Zero(t, l.judge.(*scriptedJudge).calls, "a final verdict is restored, not judged again")
	restored, ok := l.verdicts.Get("kill-postgres")
	require.True(t, ok)
	require.Equal(t, verdict.Pass, restored.Result)
	require.InDelta(t, 100.0, restored.Score, 0)
	require.Equal(t, time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC), restored.At)

	got, err := db.LatestVerdicts(t.Context(), time.Time{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, verdict.Pass, got[0].Result)
	fails, err := db.LatestVerdicts(t.Context(), time.Date(2026, 11, 21, 10, 3, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Len(t, fails, 1)
	require.True(t, math.IsNaN(fails[0].Score), "the fail's NaN score is stored as none")
	require.Contains(t, string(fails[0].Verdict), `"score":null`)

	// The other side: the hypothesis's window moved (edited; over too, the
	// stored verdict's time is past its end): the stored final verdict is
	// not its verdict, and it is judged.
	moved := killPostgres(t)
	moved[0].Window.Fixed.Start = moved[0].Window.Fixed.Start.Add(-5 * time.Minute)
	moved[0].Window.Fixed.End = moved[0].Window.Fixed.End.Add(-5 * time.Minute)
	l = newLoop(verdict.Verdict{Result: verdict.Fail, Score: 0})
	l.hypotheses = moved
	judge(l, 1)
	require.Equal(t, 1, l.judge.(*scriptedJudge).calls, "a moved window is judged")
	rejudged, _ := l.verdicts.Get("kill-postgres")
	require.Equal(t, verdict.Fail, rejudged.Result)
}

// TestAFinalVerdictIsRestoredOnlyToTheHypothesisItJudged: a hypothesis
// edited in place (its window kept) after its final PASS was stored is
// judged again rather than given the PASS of another hypothesis.
func TestAFinalVerdictIsRestoredOnlyToTheHypothesisItJudged(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	after := time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	newLoop := func(hs []hypothesis.Hypothesis, v verdict.Verdict, now time.Time) *verdictLoop {
		return &verdictLoop{
			judge: &scriptedJudge{script: []verdict.Verdict{v}}, hypotheses: hs, verdicts: verdict.NewBoard(), history: db,
			interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
			now: func() time.Time { return now }, final: map[string]bool{},
		}
	}
	l := newLoop(killPostgres(t), verdict.Verdict{Result: verdict.Pass, Score: 100}, after)
	l.judgeAll(t.Context())
	require.Equal(t, []string{"10:31 pass final"}, history(t, db))

	// Restarted with the same hypothesis: restored.
	l = newLoop(killPostgres(t), verdict.Verdict{Result: verdict.Fail, Score: 0}, after.Add(time.Hour))
	l.judgeAll(t.Context())
	require.Zero(t, l.judge.(*scriptedJudge).calls, "the same hypothesis: restored")
	v, _ := l.verdicts.Get("kill-postgres")
	require.Equal(t, verdict.Pass, v.Result)

	// Restarted with its SLO tightened, the window the same: judged.
	edited := killPostgres(t)
	edited[0].Metrics[0].SLO.Max = 0.5
	l = newLoop(edited, verdict.Verdict{Result: verdict.Fail, Score: 0}, after.Add(time.Hour))
	l.judgeAll(t.Context())
	require.Equal(t, 1, l.judge.(*scriptedJudge).calls, "an edited hypothesis is judged again")
	v, _ = l.verdicts.Get("kill-postgres")
	require.Equal(t, verdict.Fail, v.Result, "not the PASS of the hypothesis before the edit")
	// And its final FAIL is the verdict of record: kept in the history,
	// given by followers and restored at the next restart.
	require.Equal(t, []string{"10:31 pass final", "11:31 fail final"}, history(t, db))
	stored, err := storedVerdicts(t.Context(), db, []string{"kill-postgres"})
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.Equal(t, verdict.Fail, stored[0].Result)
	l = newLoop(edited, verdict.Verdict{Result: verdict.Inconclusive, Score: math.NaN()}, after.Add(2*time.Hour))
	l.judgeAll(t.Context())
	require.Zero(t, l.judge.(*scriptedJudge).calls, "the edited hypothesis's final verdict is restored")
	v, _ = l.verdicts.Get("kill-postgres")
	require.Equal(t, verdict.Fail, v.Result)
}

// TestTheBoardForgetsTheVerdictOfAHypothesisBeforeItsEdit: reloaded with
// its SLO tightened, a hypothesis whose history cannot be read (so it is
// not judged) shows no verdict rather than the PASS of the one before.
func TestTheBoardForgetsTheVerdictOfAHypothesisBeforeItsEdit(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	after := time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	board := verdict.NewBoard()
	newLoop := func(hs []hypothesis.Hypothesis, h verdictHistory) *verdictLoop {
		return &verdictLoop{
			judge: &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Pass, Score: 100}}}, hypotheses: hs,
			verdicts: board, history: h, interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
			now: func() time.Time { return after }, final: map[string]bool{},
		}
	}
	newLoop(killPostgres(t), db).judgeAll(t.Context())
	v, ok := board.Get("kill-postgres")
	require.True(t, ok)
	require.Equal(t, verdict.Pass, v.Result)

	for _, tc := range []struct {
		name string
		edit func([]hypothesis.Hypothesis)
		kept bool
	}{
		{"the same hypothesis", func([]hypothesis.Hypothesis) {}, true},
		{"its SLO tightened", func(hs []hypothesis.Hypothesis) { hs[0].Metrics[0].SLO.Max = 0.5 }, false},
	} {
		hs := killPostgres(t)
		tc.edit(hs)
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // run judges once, and stops
		newLoop(hs, &unreadableHistory{Store: db, failing: true}).run(ctx)
		_, ok := board.Get("kill-postgres")
		require.Equal(t, tc.kept, ok, tc.name)
	}
}

// TestAFinishedWindowIsNotJudgedWhileTheHistoryCannotBeRead: whether a
// final verdict is kept is unknown; judging it again (Prometheus may have
// dropped the data) and pinning that would replace the verdict of record.
func TestAFinishedWindowIsNotJudgedWhileTheHistoryCannotBeRead(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	after := time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	hs := killPostgres(t)
	first := &verdictLoop{
		judge: &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Pass, Score: 100}}}, hypotheses: hs,
		verdicts: verdict.NewBoard(), history: db, interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		now: func() time.Time { return after }, final: map[string]bool{},
	}
	first.judgeAll(t.Context())
	require.Equal(t, []string{"10:31 pass final"}, history(t, db))

	unreadable := &unreadableHistory{Store: db, failing: true}
	l := &verdictLoop{
		judge: &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Inconclusive, Score: math.NaN()}}}, hypotheses: hs,
		verdicts: verdict.NewBoard(), history: unreadable, interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		now: func() time.Time { return after.Add(24 * time.Hour) }, final: map[string]bool{},
	}
	l.judgeAll(t.Context())
	l.judgeAll(t.Context())
	require.Zero(t, l.judge.(*scriptedJudge).calls, "not judged while the history cannot be read")
	_, ok := l.verdicts.Get("kill-postgres")
	require.False(t, ok, "no verdict given")

	unreadable.failing = false
	l.judgeAll(t.Context())
	require.Zero(t, l.judge.(*scriptedJudge).calls, "restored once the history can be read")
	v, ok := l.verdicts.Get("kill-postgres")
	require.True(t, ok)
	require.Equal(t, verdict.Pass, v.Result)
	require.Equal(t, []string{"10:31 pass final"}, history(t, db))

	// The other side: a window still open is judged whatever the history.
	open := killPostgres(t)
	open[0].Window.Fixed.End = after.Add(48 * time.Hour)
	unreadable.failing = true
	l = &verdictLoop{
		judge: &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Pass, Running: true, Score: 100}}}, hypotheses: open,
		verdicts: verdict.NewBoard(), history: unreadable, interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		now: func() time.Time { return after.Add(24 * time.Hour) }, final: map[string]bool{},
	}
	l.judgeAll(t.Context())
	require.Equal(t, 1, l.judge.(*scriptedJudge).calls, "a running window is judged")
}

// unreadableHistory is a store whose LatestVerdicts fails while failing
// is set.
type unreadableHistory struct {
	store.Store
	failing bool
}

func (u *unreadableHistory) LatestVerdicts(ctx context.Context, before time.Time) ([]verdict.Transition, error) {
	if u.failing {
		return nil, errors.New("connection refused")
	}
	return u.Store.LatestVerdicts(ctx, before)
}

// TestARestoredInconclusiveVerdictKeepsItsUnknownNumbers: the NaN score
// and p-value a final inconclusive verdict was stored with (null in its
// JSON) come back NaN, not 0 — a score of 0 is a judged failure.
func TestARestoredInconclusiveVerdictKeepsItsUnknownNumbers(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	after := time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	inconclusive := verdict.Verdict{
		Result: verdict.Inconclusive, Score: math.NaN(),
		Metrics: []verdict.Metric{{
			Name: "errors", Result: verdict.Inconclusive, Weight: 1, PValue: math.NaN(),
			Control: verdict.Summary{Value: math.NaN()}, Experimental: verdict.Summary{Value: math.NaN()},
		}},
	}
	for _, want := range []string{"judged", "restored"} {
		l := &verdictLoop{
			judge: &scriptedJudge{script: []verdict.Verdict{inconclusive}}, hypotheses: killPostgres(t),
			verdicts: verdict.NewBoard(), history: db, interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
			now: func() time.Time { return after }, final: map[string]bool{},
		}
		l.judgeAll(t.Context())
		require.Equal(t, want == "judged", l.judge.(*scriptedJudge).calls == 1, want)
		v, ok := l.verdicts.Get("kill-postgres")
		require.True(t, ok)
		require.Equal(t, verdict.Inconclusive, v.Result, want)
		require.True(t, math.IsNaN(v.Score), "%s: score %v", want, v.Score)
		require.Len(t, v.Metrics, 1)
		require.True(t, math.IsNaN(v.Metrics[0].PValue), "%s: p-value %v", want, v.Metrics[0].PValue)
		require.True(t, math.IsNaN(v.Metrics[0].Control.Value), "%s: control value %v", want, v.Metrics[0].Control.Value)
		require.InDelta(t, 1.0, v.Metrics[0].Weight, 0, want)
	}
}

// TestAVerdictWithAnExpectationStillToComeIsNotFinalAfterTheWindow: an
// HPA's return (or an alert, a recovery) may be judged after the window
// ends, within its own bound; until it is decided the loop keeps judging,
// and the history keeps no final verdict, nor restores one after a restart.
func TestAVerdictWithAnExpectationStillToComeIsNotFinalAfterTheWindow(t *testing.T) {
	hs := killPostgres(t)
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()

	var clock sync.Mutex
	now := time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC) // the window ended at 10:30
	backBy := time.Date(2026, 11, 21, 10, 34, 0, 0, time.UTC)
	notYet := verdict.Verdict{Result: verdict.Inconclusive, Score: math.NaN(), Recovery: []verdict.Expectation{{
		Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(),
		Reason: "api is not back at its baseline of 3 replicas yet; it may until 2026-11-21T10:34:00Z", DecidedBy: backBy,
	}}}
	back := verdict.Verdict{Result: verdict.Pass, Score: 100, Recovery: []verdict.Expectation{{
		Name: "hpa/api/baseline", Result: verdict.Pass, Observed: 200, Reason: "api was back at 3 replicas (baseline 3) 3m20s after the chaos end",
	}}}
	newLoop := func(script ...verdict.Verdict) *verdictLoop {
		return historyLoop(t, hs, db, func() time.Time { clock.Lock(); defer clock.Unlock(); return now }, script...)
	}
	tick := func(l *verdictLoop) {
		l.judgeAll(t.Context())
		clock.Lock()
		now = now.Add(time.Minute)
		clock.Unlock()
	}

	l := newLoop(notYet, notYet, back)
	tick(l) // 10:31
	tick(l) // 10:32
	require.Equal(t, []string{"10:31 inconclusive closed"}, history(t, db), "not final while the return may still come")
	require.False(t, l.final["kill-postgres"])

	// Restarted before it is decided: nothing final to restore, so it is
	// judged again.
	l = newLoop(notYet, back)
	require.False(t, l.restoreFinal(t.Context(), &l.hypotheses[0]))
	tick(l) // 10:33, still not back
	tick(l) // 10:34, back
	require.Equal(t, []string{"10:31 inconclusive closed", "10:34 pass final"}, history(t, db))
	calls := l.judge.(*scriptedJudge).calls
	tick(l)
	require.Equal(t, calls, l.judge.(*scriptedJudge).calls, "a final verdict is kept, not judged again")
	v, _ := l.verdicts.Get("kill-postgres")
	require.Equal(t, verdict.Pass, v.Result)
}
