package verdict_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/verdict"
)

func TestABoardHoldsTheLatestVerdictOfEachHypothesisAndCountsThemAll(t *testing.T) {
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	b := verdict.NewBoard()
	require.Empty(t, b.Latest())
	require.Empty(t, b.Issued())

	b.Record(verdict.Verdict{Hypothesis: "b", At: at, Result: verdict.Inconclusive})
	b.Record(verdict.Verdict{Hypothesis: "a", At: at, Result: verdict.Pass})
	b.Record(verdict.Verdict{Hypothesis: "b", At: at.Add(time.Minute), Result: verdict.Fail})
	b.Record(verdict.Verdict{Hypothesis: "b", At: at.Add(2 * time.Minute), Result: verdict.Fail})

	latest := b.Latest()
	require.Len(t, latest, 2)
	require.Equal(t, "a", latest[0].Hypothesis, "sorted by hypothesis name")
	require.Equal(t, "b", latest[1].Hypothesis)
	got, ok := b.Get("b")
	require.True(t, ok)
	require.Equal(t, verdict.Fail, got.Result)
	require.Equal(t, at.Add(2*time.Minute), got.At, "the latest verdict replaces the earlier ones")
	_, ok = b.Get("c")
	require.False(t, ok)
	require.Equal(t, map[string]map[verdict.Result]uint64{
		"a": {verdict.Pass: 1},
		"b": {verdict.Inconclusive: 1, verdict.Fail: 2},
	}, b.Issued())
}

func TestKeepForgetsTheHypothesesNoLongerLoadedWithTheirCounts(t *testing.T) {
	b := verdict.NewBoard()
	b.Record(verdict.Verdict{Hypothesis: "a", Result: verdict.Pass})
	b.Record(verdict.Verdict{Hypothesis: "b", Result: verdict.Fail})

	b.Keep([]string{"a", "c"})

	require.Len(t, b.Latest(), 1)
	_, ok := b.Get("b")
	require.False(t, ok)
	require.Equal(t, map[string]map[verdict.Result]uint64{"a": {verdict.Pass: 1}}, b.Issued())

	b.Record(verdict.Verdict{Hypothesis: "b", Result: verdict.Fail})
	require.Equal(t, uint64(1), b.Issued()["b"][verdict.Fail], "a hypothesis loaded again counts afresh")
}

func TestIssuedIsACopyTheBoardDoesNotChangeLater(t *testing.T) {
	b := verdict.NewBoard()
	b.Record(verdict.Verdict{Hypothesis: "a", Result: verdict.Pass})
	issued := b.Issued()

	b.Record(verdict.Verdict{Hypothesis: "a", Result: verdict.Pass})
	issued["a"][verdict.Pass] = 7

	require.Equal(t, uint64(2), b.Issued()["a"][verdict.Pass])
}

func TestABoardIsReadWhileItIsWritten(t *testing.T) {
	b := verdict.NewBoard()
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		wg.Go(func() {
			for range 100 {
				b.Record(verdict.Verdict{Hypothesis: name, Result: verdict.Pass})
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			b.Latest()
			b.Issued()
		}
	})
	wg.Wait()

	for _, name := range []string{"a", "b", "c"} {
		require.Equal(t, uint64(100), b.Issued()[name][verdict.Pass], name)
	}
}
