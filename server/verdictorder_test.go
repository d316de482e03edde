package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// failingHistory is a store whose reads of verdicts (all of them, or only
// those before a time: the verdict before a windowless held abort) and
// whose saves fail while told to, and which records every save it took,
// in the order it took them.
type failingHistory struct {
	store.Store
	failReads, failEarlier, failSaves bool
	saved                             []verdict.Transition
}

func (f *failingHistory) LatestVerdicts(ctx context.Context, before time.Time) ([]verdict.Transition, error) {
	if f.failReads || (f.failEarlier && !before.IsZero()) {
		return nil, errors.New("connection refused")
	}
	return f.Store.LatestVerdicts(ctx, before)
}

func (f *failingHistory) SaveVerdict(ctx context.Context, t verdict.Transition) error {
	if f.failSaves {
		return errors.New("disk full")
	}
	if err := f.Store.SaveVerdict(ctx, t); err != nil {
		return err
	}
	f.saved = append(f.saved, t)
	return nil
}

// Review: a verdict judged while the history could not be read waits
// (pending) for the next judgement; it must not be stored after a verdict
// judged later. It cannot be: each hypothesis's verdicts wait in one queue,
// in the order judged, stored from its head and only up to the first the
// store refuses; a judgement appends to it, and a reloaded loop puts the
// queue of the loop before ahead of its own. Checked on random runs of
// judgements of two hypotheses, each judgement with the history's reads
// failing (all, or only the earlier verdicts), its saves failing, or a
// reload: the saves of a hypothesis come in the order judged, and once the
// store is back and a judgement stored what waited, the history's last
// verdict of each is the one the loop holds as stored, the last that
// changed the verdict.
func TestVerdictsWaitingForTheHistoryAreStoredInTheOrderJudged(t *testing.T) {
	var hyps []hypothesis.Hypothesis
	for _, name := range []string{"kill-a", "kill-b"} {
		hs, err := hypothesis.Parse([]byte(strings.ReplaceAll(killPostgresYAML, "NAME", name)), name+".yaml")
		require.NoError(t, err)
		hyps = append(hyps, hs...)
	}
	kinds := []verdict.Verdict{abortsOnErrors, cannotJudge, backWithinBound}
	backlogs := 0 // judgements that stored two or more verdicts of a hypothesis, over every run
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 27))
			db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
			require.NoError(t, err)
			defer db.Close()
			history := &failingHistory{Store: db}
			judge := &scriptedJudge{}
			for range 2 * 30 {
				judge.script = append(judge.script, kinds[r.IntN(len(kinds))])
			}
			judge.windowless = 2 * (5 + r.IntN(20)) // some judgements cannot tell the window
			now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
			newLoop := func() *verdictLoop {
				l := abortLoop(t, nil, history, &now)
				l.judge, l.hypotheses = judge, hyps
				return l
			}
			l := newLoop()
			var trace []string
			for i := range 29 { // 10:00 to 10:28, the window running
				history.failReads = r.IntN(4) == 0
				history.failEarlier = r.IntN(4) == 0
				history.failSaves = r.IntN(4) == 0
				if r.IntN(8) == 0 {
					next := newLoop()
					next.adopt(l)
					l = next
					trace = append(trace, "reload")
				}
				before := len(history.saved)
				l.judgeAll(t.Context())
				perHypothesis := map[string]int{}
				for _, s := range history.saved[before:] {
					if perHypothesis[s.Hypothesis]++; perHypothesis[s.Hypothesis] == 2 {
						backlogs++
					}
				}
				trace = append(trace, fmt.Sprintf("%02d reads failing %t, earlier %t, saves %t: %d waiting",
					i, history.failReads, history.failEarlier, history.failSaves, l.unstored()))
				now = now.Add(time.Minute)
			}
			history.failReads, history.failEarlier, history.failSaves = false, false, false
			l.judgeAll(t.Context())
			msg := strings.Join(trace, "\n")
			require.Zero(t, l.unstored(), "stored once the store is back\n%s", msg)

			last := map[string]time.Time{}
			for _, s := range history.saved {
				require.True(t, s.At.After(last[s.Hypothesis]), "%s: the verdict judged at %s stored after the one judged at %s\n%s",
					s.Hypothesis, s.At.Format("15:04"), last[s.Hypothesis].Format("15:04"), msg)
				last[s.Hypothesis] = s.At
			}
			latest, err := db.LatestVerdicts(t.Context(), time.Time{})
			require.NoError(t, err)
			require.Len(t, latest, len(hyps), msg)
			for _, got := range latest {
				want := l.stored[got.Hypothesis]
				require.Equal(t, want.At, got.At.In(time.UTC), "%s: the history's last verdict is not the one the loop holds as stored\n%s", got.Hypothesis, msg)
				require.Equal(t, want.Result, got.Result, got.Hypothesis)
				require.Equal(t, want.Abort, got.Abort, got.Hypothesis)
			}
		})
	}
	require.Positive(t, backlogs, "no run stored verdicts that waited behind another")
	t.Logf("%d judgements stored a backlog of verdicts of a hypothesis", backlogs)
}
