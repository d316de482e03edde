package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// postedAlert is an alert as Alertmanager's v2 API received it.
type postedAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
}

// fakeAlertmanager records the alerts posted to it, in order.
type fakeAlertmanager struct {
	mu    sync.Mutex
	posts []postedAlert
}

func startFakeAlertmanager(t *testing.T) (*fakeAlertmanager, *abort.Poster) {
	t.Helper()
	am := &fakeAlertmanager{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
			http.NotFound(w, r)
			return
		}
		var got []postedAlert
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		am.mu.Lock()
		am.posts = append(am.posts, got...)
		am.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	p, err := abort.New(abort.Options{URL: srv.URL})
	require.NoError(t, err)
	return am, p
}

// last is the last alert posted, and how many were.
func (am *fakeAlertmanager) last(t *testing.T) (postedAlert, int) {
	t.Helper()
	am.mu.Lock()
	defer am.mu.Unlock()
	require.NotEmpty(t, am.posts, "no alert posted")
	return am.posts[len(am.posts)-1], len(am.posts)
}

// firing requires the last alert posted to be the hypothesis's abort,
// active after at.
func (am *fakeAlertmanager) firing(t *testing.T, at time.Time) postedAlert {
	t.Helper()
	a, _ := am.last(t)
	require.Equal(t, abort.AlertName, a.Labels["alertname"])
	require.Equal(t, "kill-postgres", a.Labels[abort.HypothesisLabel])
	require.True(t, a.EndsAt.After(at), "the abort alert ends at %v, not after the judgement at %v: resolved", a.EndsAt, at)
	return a
}

// resolved requires the last alert posted to resolve the abort at at.
func (am *fakeAlertmanager) resolved(t *testing.T, at time.Time) {
	t.Helper()
	a, _ := am.last(t)
	require.Equal(t, abort.AlertName, a.Labels["alertname"])
	require.False(t, a.EndsAt.After(at), "the abort alert ends at %v, after the judgement at %v: not resolved", a.EndsAt, at)
}

// abortLoop is a verdict loop of kill-postgres (window 10:00 to 10:30)
// posting to poster, with history (nil: none), at the clock *now.
func abortLoop(t *testing.T, poster *abort.Poster, history verdictHistory, now *time.Time, script ...verdict.Verdict) *verdictLoop {
	l := &verdictLoop{
		judge: &scriptedJudge{script: script}, hypotheses: killPostgres(t), verdicts: verdict.NewBoard(), abort: poster,
		interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)), now: func() time.Time { return *now },
	}
	if history != nil {
		l.history = history
	}
	l.final = map[string]bool{}
	return l
}

var (
	abortsOnErrors = verdict.Verdict{
		Result: verdict.Fail, Running: true, Abort: true,
		AbortReasons: []string{"errors: 3.2 above the SLO's max 1"},
	}
	cannotJudge = verdict.Verdict{
		Result: verdict.Inconclusive, Running: true,
		Reason: "errors: no samples of the experimental group from 10:10 to 10:12",
	}
	backWithinBound = verdict.Verdict{Result: verdict.Pass, Running: true, Score: 100}
	finalFail       = verdict.Verdict{Result: verdict.Fail, Reason: "errors above 1"}
)

func TestAnAbortIsHeldWhileTheNextJudgementCannotJudge(t *testing.T) {
	am, poster := startFakeAlertmanager(t)
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	l := abortLoop(t, poster, nil, &now, abortsOnErrors, cannotJudge)

	l.judgeAll(t.Context())
	am.firing(t, now)
	now = now.Add(time.Minute)
	l.judgeAll(t.Context())

	a := am.firing(t, now)
	require.Contains(t, a.Annotations["description"], "errors: 3.2 above the SLO's max 1")
	require.Contains(t, a.Annotations["description"], "The abort is held: the judgement at 2026-11-21T10:11:00Z could not judge")
	require.True(t, poster.Aborting("kill-postgres"))
	v, ok := l.verdicts.Get("kill-postgres")
	require.True(t, ok)
	require.Equal(t, verdict.Inconclusive, v.Result, "the verdict is the judgement's")
	require.True(t, v.Abort, "the abort is held")
	require.Equal(t, abortsOnErrors.AbortReasons, v.AbortReasons)
	require.Contains(t, v.AbortHeld, "the judgement at 2026-11-21T10:11:00Z could not judge")
	require.Contains(t, v.AbortHeld, "10:10:00Z")
}

func TestAnAbortIsHeldForTheRestOfTheWindowAfterTheMetricIsBackWithinItsBound(t *testing.T) {
	am, poster := startFakeAlertmanager(t)
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	l := abortLoop(t, poster, nil, &now, abortsOnErrors, backWithinBound, backWithinBound, finalFail)

	l.judgeAll(t.Context()) // 10:10 aborts
	for range 2 {           // 10:11, 10:12 back within the bound
		now = now.Add(time.Minute)
		l.judgeAll(t.Context())
		am.firing(t, now)
		v, _ := l.verdicts.Get("kill-postgres")
		require.True(t, v.Abort)
		require.Contains(t, v.AbortHeld, "until the window ends")
	}

	// The other side: the window over, the final verdict resolves it.
	now = time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	l.judgeAll(t.Context())
	am.resolved(t, now)
	require.False(t, poster.Aborting("kill-postgres"))
	v, _ := l.verdicts.Get("kill-postgres")
	require.False(t, v.Abort)
	require.Empty(t, v.AbortHeld)
}

func TestAnAbortEndsWithItsWindowEvenWhenTheFinalJudgementCannotJudge(t *testing.T) {
	am, poster := startFakeAlertmanager(t)
	now := time.Date(2026, 11, 21, 10, 29, 0, 0, time.UTC)
	final := cannotJudge
	final.Running = false
	l := abortLoop(t, poster, nil, &now, abortsOnErrors, final)

	l.judgeAll(t.Context())
	am.firing(t, now)
	now = time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	l.judgeAll(t.Context())
	am.resolved(t, now)
	require.False(t, poster.Aborting("kill-postgres"))
}

func TestANewLeaderThatCannotJudgeKeepsTheAbortTheHistoryRecords(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)

	// Leader A aborts, and dies (its alert is not taken over: another
	// process).
	amA, posterA := startFakeAlertmanager(t)
	a := abortLoop(t, posterA, db, &now, abortsOnErrors)
	a.judgeAll(t.Context())
	amA.firing(t, now)

	// Leader B's first judgement cannot judge (no watch record of the
	// takeover's gap).
	amB, posterB := startFakeAlertmanager(t)
	now = now.Add(3 * time.Minute)
	b := abortLoop(t, posterB, db, &now, cannotJudge, cannotJudge, finalFail)
	b.judgeAll(t.Context())
	alert := amB.firing(t, now)
	require.Contains(t, alert.Annotations["description"], "errors: 3.2 above the SLO's max 1", "posted with the recorded reasons")
	v, _ := b.verdicts.Get("kill-postgres")
	require.True(t, v.Abort)
	require.Equal(t, abortsOnErrors.AbortReasons, v.AbortReasons)
	require.Contains(t, v.AbortHeld, "could not judge")

	// Held by the history too: a third leader, or B restarted, holds it.
	now = now.Add(time.Minute)
	c := abortLoop(t, posterB, db, &now, cannotJudge)
	c.judgeAll(t.Context())
	amB.firing(t, now)

	// The window ends: resolved.
	now = time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	b.judge = &scriptedJudge{script: []verdict.Verdict{finalFail}}
	b.judgeAll(t.Context())
	amB.resolved(t, now)
}

func TestANewLeaderHoldsNoAbortOfAnotherWindowOrAnEditedHypothesis(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(v *verdict.Verdict)
	}{
		{"another window", func(v *verdict.Verdict) {
			v.Window.Start = v.Window.Start.Add(-time.Hour)
			v.Window.End = v.Window.End.Add(-time.Hour)
		}},
		{"the hypothesis before an edit", func(v *verdict.Verdict) { v.HypothesisDigest = "before-the-edit" }},
		{"a verdict that did not abort", func(v *verdict.Verdict) { v.Abort, v.AbortReasons = false, nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
			require.NoError(t, err)
			defer db.Close()
			now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
			recorded, err := (&scriptedJudge{script: []verdict.Verdict{abortsOnErrors}}).Judge(t.Context(), &killPostgres(t)[0], now)
			require.NoError(t, err)
			tt.edit(&recorded)
			tr, err := verdict.NewTransition(recorded, false)
			require.NoError(t, err)
			require.NoError(t, db.SaveVerdict(t.Context(), tr))

			am, poster := startFakeAlertmanager(t)
			now = now.Add(time.Minute)
			b := abortLoop(t, poster, db, &now, cannotJudge)
			b.judgeAll(t.Context())
			require.False(t, poster.Aborting("kill-postgres"))
			am.mu.Lock()
			require.Empty(t, am.posts)
			am.mu.Unlock()
			v, _ := b.verdicts.Get("kill-postgres")
			require.False(t, v.Abort)
		})
	}
}

func TestAnAbortRaisedWithoutAnotherResultIsRecordedForTheNextLeader(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)

	// Leader A: a fail (the comparison), then the same fail aborting.
	_, posterA := startFakeAlertmanager(t)
	a := abortLoop(t, posterA, db, &now, verdict.Verdict{Result: verdict.Fail, Running: true}, abortsOnErrors)
	a.judgeAll(t.Context())
	now = now.Add(time.Minute)
	a.judgeAll(t.Context())
	require.True(t, posterA.Aborting("kill-postgres"))

	amB, posterB := startFakeAlertmanager(t)
	now = now.Add(3 * time.Minute)
	b := abortLoop(t, posterB, db, &now, cannotJudge)
	b.judgeAll(t.Context())
	amB.firing(t, now)
}

func TestAReloadedLoopHoldsTheAbortTheLoopBeforeRaised(t *testing.T) {
	_, poster := startFakeAlertmanager(t)
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	old := abortLoop(t, poster, nil, &now, abortsOnErrors)
	old.judgeAll(t.Context())

	_, reloaded := startFakeAlertmanager(t)
	l := abortLoop(t, reloaded, nil, &now, cannotJudge)
	l.cfg.AbortAlertmanagerURL, old.cfg.AbortAlertmanagerURL = "http://am", "http://am"
	l.adopt(old)
	now = now.Add(time.Minute)
	l.judgeAll(t.Context())
	require.True(t, reloaded.Aborting("kill-postgres"), "held after the reload")
	v, _ := l.verdicts.Get("kill-postgres")
	require.True(t, v.Abort)
}

// Review: a judgement that cannot tell the window holds the abort until the
// window's end as it was known, and not after it.
func TestAnAbortIsHeldByAJudgementThatCannotTellTheWindowUntilItsKnownEnd(t *testing.T) {
	am, poster := startFakeAlertmanager(t)
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	l := abortLoop(t, poster, nil, &now, abortsOnErrors, cannotJudge)
	l.judge.(*scriptedJudge).windowless = 1

	l.judgeAll(t.Context()) // 10:10 aborts, in the window 10:00–10:30
	am.firing(t, now)
	now = time.Date(2026, 11, 21, 10, 29, 59, 0, time.UTC)
	l.judgeAll(t.Context())
	am.firing(t, now)
	v, _ := l.verdicts.Get("kill-postgres")
	require.True(t, v.Window.Start.IsZero(), "the judgement could not tell its window")
	require.True(t, v.Abort, "held until 10:30")

	now = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	l.judgeAll(t.Context())
	am.resolved(t, now)
	require.False(t, poster.Aborting("kill-postgres"))
	v, _ = l.verdicts.Get("kill-postgres")
	require.False(t, v.Abort, "released at the window's end")
}

// Review: the abort alert's endsAt outlasts a leader's takeover. The old
// leader posts it at each judgement, then crashes just before the next;
// its last renewal was then. A follower sees that renewal at its next try
// (a jittered retry period, up to 1.2 ×), takes the Lease over at its
// first try once lease_duration has passed since, and judges at once,
// within an interval of its start (the cluster listed). The alert must
// still fire then, or the chaos tool reads the gap as an all-clear.
func TestTheAbortAlertOutlastsALeaderTakeover(t *testing.T) {
	defaults := config.Default().Kubernetes.LeaderElection
	defaults.Enabled = true
	for _, tc := range []struct {
		name     string
		interval time.Duration
		election config.LeaderElection
	}{
		{"a 5s interval, the default Lease", 5 * time.Second, defaults},
		{"a minute's interval, the default Lease", time.Minute, defaults},
		{"a 5s interval, without election (three judgements)", 5 * time.Second, config.LeaderElection{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			am, poster := startFakeAlertmanager(t)
			now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
			l := abortLoop(t, poster, nil, &now, abortsOnErrors)
			l.interval, l.election = tc.interval, tc.election
			l.judgeAll(t.Context())

			// The oracle: the last moment the next post may come, after
			// two missed (three judgements, as without election), or
			// after a takeover.
			next := now.Add(3 * tc.interval)
			if tc.election.Enabled {
				crash := now.Add(tc.interval)
				retry := time.Duration(1.2 * float64(tc.election.RetryPeriod))
				if takeover := crash.Add(retry + time.Duration(tc.election.LeaseDuration) + retry + tc.interval); takeover.After(next) {
					next = takeover
				}
			}
			a := am.firing(t, now)
			require.False(t, a.EndsAt.Before(next), "the alert ends at %v, before the next post may come at %v", a.EndsAt, next)
			// And not much longer: a withdrawn abort (a leader gone for
			// good) resolves by itself soon after.
			require.Less(t, a.EndsAt.Sub(next), time.Second, "held %v past the next post", a.EndsAt.Sub(next))
		})
	}
}

// Review: a leader whose last judgement could not tell its window (no
// chaos events found, the store unreachable) held the abort and recorded
// it so, not running and with no window; the next leader holds it too, in
// the window of the judgement that raised it.
func TestANewLeaderHoldsTheAbortAJudgementThatCouldNotTellItsWindowHeld(t *testing.T) {
	for _, tc := range []struct {
		name  string
		next  verdict.Verdict
		holds bool
	}{
		{"the next leader cannot judge", cannotJudge, true},
		{"the next leader finds the metric back within its bound", backWithinBound, true},
		{"the window is over", finalFail, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
			require.NoError(t, err)
			defer db.Close()
			now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)

			// Leader A aborts, then cannot tell the window, holds the
			// abort, and dies.
			amA, posterA := startFakeAlertmanager(t)
			a := abortLoop(t, posterA, db, &now, abortsOnErrors, cannotJudge)
			a.judge.(*scriptedJudge).windowless = 1
			a.judgeAll(t.Context())
			now = now.Add(time.Minute)
			a.judgeAll(t.Context())
			amA.firing(t, now)
			held, _ := a.verdicts.Get("kill-postgres")
			require.True(t, held.Window.Start.IsZero())
			require.False(t, held.Running, "a judgement that cannot tell its window does not say it runs")
			require.True(t, held.Abort)

			amB, posterB := startFakeAlertmanager(t)
			now = now.Add(3 * time.Minute)
			if !tc.holds {
				now = time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
			}
			b := abortLoop(t, posterB, db, &now, tc.next)
			b.judgeAll(t.Context())
			v, _ := b.verdicts.Get("kill-postgres")
			require.Equal(t, tc.holds, v.Abort)
			require.Equal(t, tc.holds, posterB.Aborting("kill-postgres"))
			if !tc.holds {
				amB.mu.Lock()
				require.Empty(t, amB.posts)
				amB.mu.Unlock()
				return
			}
			alert := amB.firing(t, now)
			require.Contains(t, alert.Annotations["description"], "errors: 3.2 above the SLO's max 1", "posted with the recorded reasons")
			require.Contains(t, v.AbortHeld, "the abort recorded at 2026-11-21T10:10:00Z", "the abort of the judgement that raised it")
		})
	}
}

// countedHistory is a history that fails, counting the reads.
type countedHistory struct{ reads int }

func (*countedHistory) SaveVerdict(context.Context, verdict.Transition) error {
	return errors.New("connection refused")
}

func (c *countedHistory) LatestVerdicts(context.Context, time.Time) ([]verdict.Transition, error) {
	c.reads++
	return nil, errors.New("connection refused")
}

// Review: a store that is down is tried once a judgement, not once for
// each hypothesis and each use (the final verdict, the recorded abort,
// the verdicts to store): each try may wait for the store's timeout, and
// the judgements, with their abort alerts, wait for them.
func TestAHistoryThatCannotBeReadIsTriedOnceAJudgement(t *testing.T) {
	var hyps []hypothesis.Hypothesis
	for _, name := range []string{"kill-a", "kill-b", "kill-c"} {
		hs, err := hypothesis.Parse([]byte(strings.ReplaceAll(killPostgresYAML, "NAME", name)), name+".yaml")
		require.NoError(t, err)
		hyps = append(hyps, hs...)
	}
	_, poster := startFakeAlertmanager(t)
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	history := &countedHistory{}
	l := abortLoop(t, poster, history, &now, abortsOnErrors)
	l.hypotheses = hyps
	l.judgeAll(t.Context())
	require.Equal(t, 1, history.reads, "reads of the history in the first judgement")
	require.Equal(t, 3, l.judge.(*scriptedJudge).calls, "every hypothesis judged")
	require.True(t, poster.Aborting("kill-c"))
	now = now.Add(time.Minute)
	l.judgeAll(t.Context())
	require.Equal(t, 2, history.reads, "tried again at the next judgement")
}

// earlierUnreadable is a store whose reads of verdicts before a time fail
// while failing is set, counting the tries.
type earlierUnreadable struct {
	store.Store
	failing bool
	tries   int
}

func (e *earlierUnreadable) LatestVerdicts(ctx context.Context, before time.Time) ([]verdict.Transition, error) {
	if before.IsZero() {
		return e.Store.LatestVerdicts(ctx, before)
	}
	e.tries++
	if e.failing {
		return nil, errors.New("connection refused")
	}
	return e.Store.LatestVerdicts(ctx, before)
}

// Review: the verdict before one that could not tell its window, read when
// the store fails, holds nothing (logged) and judges on; it is read again
// at the next judgement, and then holds the abort.
func TestTheVerdictBeforeAWindowlessHeldAbortIsReadAgainWhenTheStoreFailed(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	now := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	_, posterA := startFakeAlertmanager(t)
	a := abortLoop(t, posterA, db, &now, abortsOnErrors, cannotJudge)
	a.judge.(*scriptedJudge).windowless = 1
	a.judgeAll(t.Context())
	now = now.Add(time.Minute)
	a.judgeAll(t.Context())

	history := &earlierUnreadable{Store: db, failing: true}
	_, posterB := startFakeAlertmanager(t)
	now = now.Add(time.Minute)
	b := abortLoop(t, posterB, nil, &now, cannotJudge)
	b.history = history
	b.judgeAll(t.Context())
	require.Equal(t, 1, history.tries)
	require.Equal(t, 1, b.judge.(*scriptedJudge).calls, "judged")
	require.False(t, posterB.Aborting("kill-postgres"), "nothing to hold, as far as could be read")

	// The store back, the next judgement reads it and holds the abort:
	// B's first verdict, which held nothing, waited (else it would be
	// the history's last, and the abort lost for good).
	history.failing = false
	now = now.Add(time.Minute)
	b.judgeAll(t.Context())
	require.Equal(t, 2, history.tries)
	require.True(t, posterB.Aborting("kill-postgres"), "held once the history could be read")
	v, _ := b.verdicts.Get("kill-postgres")
	require.Contains(t, v.AbortHeld, "the abort recorded at 2026-11-21T10:10:00Z")
}
