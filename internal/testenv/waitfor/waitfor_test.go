package waitfor

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	start := time.Now()
	require.True(t, poll(10*time.Second, func() bool { return n.Add(1) == 3 }))
	require.Equal(t, int32(3), n.Load(), "checked until it held, not after")
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestPollGivesUpAtTheDeadline(t *testing.T) {
	start := time.Now()
	require.False(t, poll(50*time.Millisecond, func() bool { return false }))
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}

func TestPollChecksOnceMoreAtTheDeadline(t *testing.T) {
	deadline := time.Now().Add(30 * time.Millisecond)
	require.True(t, poll(30*time.Millisecond, func() bool { return !time.Now().Before(deadline) }),
		"a condition that holds just at the deadline holds")
}
