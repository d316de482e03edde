package delivery

import (
	"time"

	"github.com/steadywatch/steadywatch/config"
)

// schedule is a time of the week in a time zone.
type schedule struct {
	day          time.Weekday
	hour, minute int
	loc          *time.Location
}

func newSchedule(c config.Schedule) schedule {
	h, m := c.Clock()
	return schedule{day: c.Day(), hour: h, minute: m, loc: c.Location()}
}

// on is the scheduled time of the day that is days after t's (in loc). A
// time a daylight saving change skips is the instant time.Date makes it
// (02:30 becomes 03:30).
func (s schedule) on(t time.Time, days int) time.Time {
	t = t.In(s.loc)
	return time.Date(t.Year(), t.Month(), t.Day()+days, s.hour, s.minute, 0, 0, s.loc)
}

// latest is the latest scheduled time at or before now.
func (s schedule) latest(now time.Time) time.Time {
	back := (int(now.In(s.loc).Weekday()) - int(s.day) + 7) % 7
	at := s.on(now, -back)
	if at.After(now) {
		at = s.on(now, -back-7)
	}
	return at
}

// next is the first scheduled time after now.
func (s schedule) next(now time.Time) time.Time {
	return s.on(s.latest(now), 7)
}
