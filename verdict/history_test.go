package verdict_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/verdict"
)

func digest(t *verdict.Transition, d string) *verdict.Transition {
	t.HypothesisDigest = d
	return t
}

func abort(t *verdict.Transition) *verdict.Transition {
	t.Abort = true
	return t
}

func TestATransitionIsKeptWhenItChangesTheVerdictBefore(t *testing.T) {
	tr := func(r verdict.Result, running, final bool) *verdict.Transition {
		return &verdict.Transition{Hypothesis: "h", Result: r, Running: running, Final: final}
	}
	for _, tt := range []struct {
		name       string
		prev, next *verdict.Transition
		keep       bool
	}{
		{"the first verdict of a hypothesis is kept", nil, tr(verdict.Pass, true, false), true},
		{"the same result, still running, is not", tr(verdict.Pass, true, false), tr(verdict.Pass, true, false), false},
		{"another result is", tr(verdict.Pass, true, false), tr(verdict.Fail, true, false), true},
		{"the window closing is", tr(verdict.Pass, true, false), tr(verdict.Pass, false, false), true},
		{"the verdict becoming final is", tr(verdict.Pass, false, false), tr(verdict.Pass, false, true), true},
		{"a final verdict judged again is not, even with another result", tr(verdict.Pass, false, true), tr(verdict.Inconclusive, false, true), false},
		{"a verdict that is not final after a final one is (the window moved)", tr(verdict.Pass, false, true), tr(verdict.Pass, true, false), true},
		{"a final verdict of the hypothesis edited since is", digest(tr(verdict.Pass, false, true), "a"), digest(tr(verdict.Fail, false, true), "b"), true},
		{"a final verdict of the same hypothesis judged again is not", digest(tr(verdict.Pass, false, true), "a"), digest(tr(verdict.Fail, false, true), "a"), false},
		{"an abort raised is", tr(verdict.Fail, true, false), abort(tr(verdict.Fail, true, false)), true},
		{"an abort withdrawn is", abort(tr(verdict.Fail, true, false)), tr(verdict.Fail, true, false), true},
		{"an abort held is not", abort(tr(verdict.Fail, true, false)), abort(tr(verdict.Fail, true, false)), false},
		{"a final verdict after one of no known digest is not", tr(verdict.Pass, false, true), digest(tr(verdict.Fail, false, true), "b"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.keep, tt.next.Changes(tt.prev))
		})
	}
}

func TestATransitionCarriesTheVerdictsJSONWithNullForNaN(t *testing.T) {
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	v := verdict.Verdict{Hypothesis: "h", At: at, Result: verdict.Inconclusive, Reason: "no data", Score: math.NaN(), Running: true}
	tr, err := verdict.NewTransition(v, false)
	require.NoError(t, err)
	require.Equal(t, "h", tr.Hypothesis)
	require.Equal(t, at, tr.At)
	require.Equal(t, verdict.Inconclusive, tr.Result)
	require.True(t, math.IsNaN(tr.Score))
	require.Nil(t, tr.ScoreOrNil())
	require.True(t, tr.Running)
	require.False(t, tr.Final)
	require.Equal(t, "no data", tr.Reason)
	var back map[string]any
	require.NoError(t, json.Unmarshal(tr.Verdict, &back))
	require.Nil(t, back["score"])
	require.Contains(t, back, "score")
	require.Equal(t, "inconclusive", back["result"])
	require.False(t, tr.Abort)

	v.Score, v.Abort = 87.5, true
	tr, err = verdict.NewTransition(v, true)
	require.NoError(t, err)
	require.True(t, tr.Final)
	require.True(t, tr.Abort)
	require.Equal(t, new(87.5), tr.ScoreOrNil())
}
