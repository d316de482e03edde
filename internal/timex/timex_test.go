package timex

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMinAndMax(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Nanosecond)
	require.Equal(t, t0, Min(t0, t1))
	require.Equal(t, t0, Min(t1, t0))
	require.Equal(t, t1, Max(t0, t1))
	require.Equal(t, t1, Max(t1, t0))
	// Equal instants in different zones: the first is kept.
	berlin := t0.In(time.FixedZone("CET", 3600))
	require.Same(t, berlin.Location(), Min(berlin, t0).Location())
	require.Same(t, berlin.Location(), Max(berlin, t0).Location())
}
