package report

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
)

// failureSpans answers as the scan over the failures it replaced: a
// failure holds t if start ≤ t and it is open or t ≤ end.
func TestFailureSpansAnswerAsAScanOfTheFailures(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	base := time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for range 500 {
		var incs []chaos.Incident
		f := &failureSpans{}
		for range rng.IntN(8) {
			start := rng.IntN(100)
			inc := chaos.Incident{Start: at(start)}
			if rng.IntN(4) > 0 { // a quarter still open
				inc.End = at(start + rng.IntN(30))
			}
			incs = append(incs, inc)
			f.add(&inc)
		}
		f.index()
		for m := -2; m < 135; m++ {
			want := false
			for _, inc := range incs {
				if !at(m).Before(inc.Start) && (inc.Open() || !at(m).After(inc.End)) {
					want = true
				}
			}
			require.Equal(t, want, f.contains(at(m)), "minute %d of %+v", m, incs)
		}
	}
	// At the edges: the start and the end are inside, a nanosecond out is not.
	f := &failureSpans{}
	f.add(&chaos.Incident{Start: at(10), End: at(20)})
	f.index()
	require.False(t, f.contains(at(10).Add(-time.Nanosecond)))
	require.True(t, f.contains(at(10)))
	require.True(t, f.contains(at(20)))
	require.False(t, f.contains(at(20).Add(time.Nanosecond)))
}

// writeQuoted writes what strconv.Quote returns, for every kind of byte.
func TestWriteQuotedIsStrconvQuote(t *testing.T) {
	for _, v := range []string{"", "cart", "/api/v1", `a"b`, `a\b`, "tab\there", "new\nline", "del\x7f", "é", "日本", "\xff", " ~!#$%&'()*+,-./:;<=>?@[]^_`{|}"} {
		var b strings.Builder
		writeQuoted(&b, v)
		require.Equal(t, strconv.Quote(v), b.String(), "%q", v)
	}
}

// A range's length reads as whole hours, or as a duration: a one-minute
// range read "0.016666666666666666 h" (the demo's report).
func TestHoursReadsAsHoursOrADuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		167 * time.Hour:                  "167 h",
		time.Hour:                        "1 h",
		time.Minute:                      "1m0s",
		36*time.Hour + 30*time.Minute:    "36h30m0s",
		time.Hour + 400*time.Millisecond: "1h0m0s",
	} {
		require.Equal(t, want, hours(d), "%s", d)
	}
}
