package abort

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTakeOverMovesTheAbortAlertsToTheNewPoster: after a reload the new
// Poster (new credentials) holds and resolves the alerts the old one
// raised; the old one no longer does.
func TestTakeOverMovesTheAbortAlertsToTheNewPoster(t *testing.T) {
	old, err := New(Options{URL: "http://127.0.0.1:9093"})
	require.NoError(t, err)
	next, err := New(Options{URL: "http://127.0.0.1:9093"})
	require.NoError(t, err)
	start := time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC)
	old.started["kill-postgres"] = start

	require.False(t, next.Aborting("kill-postgres"))
	next.TakeOver(old)
	require.True(t, next.Aborting("kill-postgres"))
	require.Equal(t, start, next.started["kill-postgres"], "the alert keeps its start")
	require.False(t, old.Aborting("kill-postgres"))
	next.TakeOver(next)
	next.TakeOver(nil)
	require.True(t, next.Aborting("kill-postgres"))
}
