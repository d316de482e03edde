// Package waitfor waits, in tests, on a condition with a deadline: the one
// way the tests wait for something another goroutine or process does, in
// place of sleeping and hoping.
package waitfor

import (
	"testing"
	"time"
)

// Interval is how often a condition is checked.
const Interval = 5 * time.Millisecond

// True checks cond every Interval until it holds, and fails t naming what
// was waited for if it does not within timeout.
func True(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// poll reports whether cond held within timeout.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
}
