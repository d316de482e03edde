package cli

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// countingStore counts the reads of the verdict history.
type countingStore struct {
	store.Store
	latest int
}

func (c *countingStore) LatestVerdicts(ctx context.Context, before time.Time) ([]verdict.Transition, error) {
	c.latest++
	return c.Store.LatestVerdicts(ctx, before)
}

func TestRecordVerdictsReadsTheHistoryOncePerTimeOfJudgement(t *testing.T) {
	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	hyps := []hypothesis.Hypothesis{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	judged := func(at time.Time, results ...verdict.Result) []verdict.Verdict {
		var vs []verdict.Verdict
		for i, r := range results {
			vs = append(vs, verdict.Verdict{Hypothesis: hyps[i].Name, At: at, Result: r, Reason: "judged"})
		}
		return vs
	}
	cs := &countingStore{Store: db}
	require.NoError(t, recordVerdicts(t.Context(), cs, hyps, judged(at, verdict.Pass, verdict.Fail, verdict.Inconclusive)))
	require.Equal(t, 1, cs.latest, "three verdicts judged at one time: the history read once")

	// Judged again a minute later, b changed: only b's transition is new.
	later := judged(at.Add(time.Minute), verdict.Pass, verdict.Pass, verdict.Inconclusive)
	// The other side: verdicts at two times read the history at each.
	later[2].At = at.Add(2 * time.Minute)
	require.NoError(t, recordVerdicts(t.Context(), cs, hyps, later))
	require.Equal(t, 3, cs.latest, "two more times of judgement, two more reads")
	var got []string
	require.NoError(t, db.EachVerdict(t.Context(), time.Time{}, time.Time{}, func(tr *verdict.Transition) error {
		got = append(got, tr.Hypothesis+"="+string(tr.Result))
		return nil
	}))
	require.ElementsMatch(t, []string{"a=pass", "b=fail", "c=inconclusive", "b=pass"}, got)
}
