package server

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testclock"
	"github.com/steadywatch/steadywatch/store"
)

func TestTheCoverageRecorderCutsTheSpanWhereTheWatchBroke(t *testing.T) {
	t0 := time.Date(2026, 11, 12, 10, 0, 0, 0, time.UTC)
	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	clk := testclock.New(t0)
	c := newCoverageRecorder(db, nil, clk.Now)

	c.broke("nodes", t0.Add(-time.Second), errors.New("forbidden")) // before the sync: no span yet
	c.start(t0)
	c.restored("nodes", t0.Add(-time.Second), t0.Add(time.Second))
	clk.Set(t0.Add(10 * time.Second))
	c.flush(t.Context(), false)
	c.broke("pods", t0.Add(12*time.Second), errors.New("connection refused"))
	clk.Set(t0.Add(20 * time.Second))
	c.flush(t.Context(), false)

	// While the pod watch is broken, the live coverage shows the hole.
	live, err := c.Coverage(t.Context(), time.Time{}, time.Time{})
	require.NoError(t, err)
	pods := spansOf(live, "pods")
	require.Len(t, pods, 1)
	require.Equal(t, chaos.WatchSpan{
		Session: c.session, Resource: "pods", From: t0, To: t0.Add(12 * time.Second),
		Ended: chaos.SpanBroken, Err: "connection refused",
	}, pods[0])
	deps := spansOf(live, "deployments")
	require.Equal(t, t0.Add(20*time.Second), deps[0].To, "the live span reaches now")

	c.restored("pods", t0.Add(12*time.Second), t0.Add(26*time.Second))
	clk.Set(t0.Add(30 * time.Second))
	c.flush(t.Context(), true)

	stored, err := db.Coverage(t.Context(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Equal(t, []chaos.WatchSpan{
		{Session: c.session, Resource: "pods", From: t0, To: t0.Add(12 * time.Second), Ended: chaos.SpanBroken, Err: "connection refused"},
		{Session: c.session, Resource: "pods", From: t0.Add(26 * time.Second), To: t0.Add(30 * time.Second), Ended: chaos.SpanStopped},
	}, spansOf(stored, "pods"))
	require.Equal(t, []chaos.WatchSpan{
		{Session: c.session, Resource: "nodes", From: t0.Add(time.Second), To: t0.Add(30 * time.Second), Ended: chaos.SpanStopped},
	}, spansOf(stored, "nodes"), "a resource broken at the sync is covered from when it came back")
	require.Equal(t, []chaos.WatchSpan{
		{Session: c.session, Resource: "deployments", From: t0, To: t0.Add(30 * time.Second), Ended: chaos.SpanStopped},
	}, spansOf(stored, "deployments"))
}

func spansOf(spans []chaos.WatchSpan, resource string) []chaos.WatchSpan {
	var out []chaos.WatchSpan
	for _, s := range spans {
		if s.Resource == resource {
			out = append(out, s)
		}
	}
	return out
}
