package server

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Parts stop last started first, each finished before the next is asked:
// the verdict loop before the detector, the detector before the write
// queue it feeds.
func TestBackgroundPartsStopInReverseOrderAndAreWaitedFor(t *testing.T) {
	var (
		mu    sync.Mutex
		ended []string
	)
	var parts background
	for _, name := range []string{"writes", "detector", "verdicts"} {
		parts.start(t.Context(), func(ctx context.Context) {
			<-ctx.Done()
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, name)
		})
	}
	mu.Lock()
	require.Empty(t, ended, "nothing stops before it is asked")
	mu.Unlock()
	parts.stop()
	require.Equal(t, []string{"verdicts", "detector", "writes"}, ended)
	parts.stop() // a second stop has nothing left to do
}
