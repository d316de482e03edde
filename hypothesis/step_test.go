package hypothesis

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The step's bounds, each from both sides: the floor, and the most points
// per query over the longest period queried (the baseline of 30m by
// default, else the window).
func TestStepBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want string // "" for accepted
	}{
		{"a step of 1s is accepted", "  step: 1s\n", ""},
		{"a step of 999ms is refused", "  step: 999ms\n", "spec.step: must be at least 1s, got 999ms"},
		{
			"11,000 points over a fixed window are accepted",
			"  window: {fixed: {start: 2026-11-21T00:00:00Z, end: 2026-11-21T03:03:19Z}}\n  step: 1s\n", "",
		},
		{
			"11,001 points over a fixed window are refused",
			"  window: {fixed: {start: 2026-11-21T00:00:00Z, end: 2026-11-21T03:03:20Z}}\n  step: 1s\n",
			"spec.step: 1s makes 11001 points per query over the window of 3h3m20s, more than the 11000 Prometheus allows: use a step of at least 2s",
		},
		{
			"a baseline longer than the window counts",
			"  baseline: {duration: 4h}\n  step: 1s\n",
			"spec.step: 1s makes 14401 points per query over the baseline of 4h, more than the 11000 Prometheus allows: use a step of at least 2s",
		},
		{
			"an event window counts as long as it can be",
			"  window: {events: {lookback: 2h, before: 1m, after: 2h}}\n  step: 1s\n",
			"spec.step: 1s makes 14461 points per query over the longest window (before + lookback + after) of 4h1m, more than the 11000 Prometheus allows: use a step of at least 2s",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimalWith(tc.spec)), "h.yaml")
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// Issue 11 #11: a step below the scrape interval of the Prometheus judged
// against is refused, from both sides, naming the file and line.
func TestStepAgainstTheScrapeInterval(t *testing.T) {
	for _, tc := range []struct {
		name   string
		step   string
		scrape time.Duration
		want   string
	}{
		{"a step equal to the scrape interval is accepted", "15s", 15 * time.Second, ""},
		{"a step longer than it is accepted", "30s", 15 * time.Second, ""},
		{"a step a millisecond shorter is refused", "14999ms", 15 * time.Second, `spec.step: 14s999ms is shorter than the scrape interval of 15s: the samples between two scrapes repeat the same value; use a step of at least 15s`},
		{"an unknown scrape interval checks nothing", "1s", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := Parse([]byte(minimalWith("  step: "+tc.step+"\n")), "h.yaml")
			require.NoError(t, err)
			require.Len(t, hs, 1)
			err = hs[0].CheckScrapeInterval(tc.scrape)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			line := hs[0].Position("spec.step").Line
			require.Positive(t, line)
			require.EqualError(t, err, fmt.Sprintf("h.yaml:%d: %s", line, tc.want))
		})
	}
}
