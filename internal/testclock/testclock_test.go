package testclock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testclock"
)

func TestTheClockMovesOnlyWhenMoved(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := testclock.New(t0)
	require.Equal(t, t0, c.Now())
	require.Equal(t, t0, c.Now(), "reading it does not move it")
	c.Advance(1500 * time.Millisecond)
	require.Equal(t, t0.Add(1500*time.Millisecond), c.Now())
	c.Set(t0.Add(-time.Hour))
	require.Equal(t, t0.Add(-time.Hour), c.Now())
}
