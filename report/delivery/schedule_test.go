package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
)

func TestTheLatestScheduledTimeIsAtOrBeforeNow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	monday9 := newSchedule(config.Schedule{Weekday: "monday", Time: "09:00", TimeZone: "Europe/Berlin"})
	sunday2330 := newSchedule(config.Schedule{Weekday: "sunday", Time: "23:30", TimeZone: "UTC"})
	at := func(y int, m time.Month, d, h, mi int, loc *time.Location) time.Time {
		return time.Date(y, m, d, h, mi, 0, 0, loc)
	}
	for _, tc := range []struct {
		name         string
		s            schedule
		now          time.Time
		latest, next time.Time
	}{
		{"at the scheduled time it is the latest", monday9, at(2026, 11, 23, 9, 0, berlin), at(2026, 11, 23, 9, 0, berlin), at(2026, 11, 30, 9, 0, berlin)},
		{"a nanosecond before, the week before's is", monday9, at(2026, 11, 23, 9, 0, berlin).Add(-1), at(2026, 11, 16, 9, 0, berlin), at(2026, 11, 23, 9, 0, berlin)},
		{"later in the week", monday9, at(2026, 11, 29, 23, 0, berlin), at(2026, 11, 23, 9, 0, berlin), at(2026, 11, 30, 9, 0, berlin)},
		// Berlin moves to summer time on Sunday 29 March 2026: the week
		// between the two Mondays lasts 167 hours.
		{"across a daylight saving change, local time holds", monday9, at(2026, 3, 30, 8, 0, berlin), at(2026, 3, 23, 9, 0, berlin), at(2026, 3, 30, 9, 0, berlin)},
		{"a Sunday late in UTC", sunday2330, at(2026, 11, 30, 0, 0, time.UTC), at(2026, 11, 29, 23, 30, time.UTC), at(2026, 12, 6, 23, 30, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, tc.s.latest(tc.now).Equal(tc.latest), "latest %s, want %s", tc.s.latest(tc.now), tc.latest)
			require.True(t, tc.s.next(tc.now).Equal(tc.next), "next %s, want %s", tc.s.next(tc.now), tc.next)
		})
	}
	require.Equal(t, 167*time.Hour, monday9.next(at(2026, 3, 30, 8, 0, berlin)).Sub(monday9.latest(at(2026, 3, 30, 8, 0, berlin))))
}

func TestBackoffDoublesFromTheMinimumUpToTheMaximum(t *testing.T) {
	var got []time.Duration
	for attempt := 1; attempt <= 7; attempt++ {
		got = append(got, backoff(attempt, 30*time.Second, 5*time.Minute))
	}
	require.Equal(t, []time.Duration{
		30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute, 5 * time.Minute,
	}, got)
}
