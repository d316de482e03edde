package report

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Range is the half-open interval [From, To) a report covers.
type Range struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Week is the ISO week ("2026-W48") the range is, or "" for a range
	// given by its bounds.
	Week string `json:"week,omitempty"`
	// loc is the time zone of the week's boundaries.
	loc *time.Location
}

// Location is the time zone the range's times are shown in (UTC unless
// set).
func (r Range) Location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}

// Duration is To − From: 168 hours for most weeks, 167 or 169 for one with
// a daylight saving change.
func (r Range) Duration() time.Duration { return r.To.Sub(r.From) }

// Contains reports whether t lies in [From, To).
func (r Range) Contains(t time.Time) bool { return !t.Before(r.From) && t.Before(r.To) }

var weekPattern = regexp.MustCompile(`^([0-9]{4})-W([0-9]{2})$`)

// ParseWeek reads an ISO 8601 week, "2026-W48", as the range from its
// Monday 00:00 to the next Monday 00:00 in loc (nil is UTC).
func ParseWeek(s string, loc *time.Location) (Range, error) {
	m := weekPattern.FindStringSubmatch(s)
	if m == nil {
		return Range{}, fmt.Errorf("%q is not an ISO week such as 2026-W48", s)
	}
	year, _ := strconv.Atoi(m[1]) // four digits: no error
	week, _ := strconv.Atoi(m[2]) // two digits: no error
	if n := WeeksIn(year); week < 1 || week > n {
		return Range{}, fmt.Errorf("%q: ISO year %d has weeks 01 to %d", s, year, n)
	}
	return ISOWeek(year, week, loc), nil
}

// WeeksIn is the number of ISO weeks of an ISO year, 52 or 53: the week of
// 28 December is its last.
func WeeksIn(year int) int {
	_, w := time.Date(year, time.December, 28, 12, 0, 0, 0, time.UTC).ISOWeek()
	return w
}

// ISOWeek is week (1 to WeeksIn(year)) of ISO year as a Range in loc (nil
// is UTC): from its Monday 00:00 local time to the next Monday's. Where
// local midnight does not exist (a daylight saving change at midnight),
// it is the instant time.Date normalizes it to.
func ISOWeek(year, week int, loc *time.Location) Range {
	if loc == nil {
		loc = time.UTC
	}
	// 4 January is always in week 1.
	jan4 := time.Date(year, time.January, 4, 0, 0, 0, 0, loc)
	monday := 4 - (int(jan4.Weekday())+6)%7
	return Range{
		From: time.Date(year, time.January, monday+7*(week-1), 0, 0, 0, 0, loc),
		To:   time.Date(year, time.January, monday+7*week, 0, 0, 0, 0, loc),
		Week: fmt.Sprintf("%04d-W%02d", year, week),
		loc:  loc,
	}
}

// WeekOf is the ISO week of t in loc (nil is UTC).
func WeekOf(t time.Time, loc *time.Location) Range {
	if loc == nil {
		loc = time.UTC
	}
	year, week := t.In(loc).ISOWeek()
	return ISOWeek(year, week, loc)
}

// LastWeek is the last whole ISO week before now's, in loc: the week a
// weekly review reads.
func LastWeek(now time.Time, loc *time.Location) Range {
	return WeekOf(now, loc).Previous()
}

// Between is the range [from, to), shown in loc (nil is UTC); from must be
// before to.
func Between(from, to time.Time, loc *time.Location) (Range, error) {
	if !from.Before(to) {
		return Range{}, errors.New("from must be before to")
	}
	if loc == nil {
		loc = time.UTC
	}
	return Range{From: from.In(loc), To: to.In(loc), loc: loc}, nil
}

// Previous is the range a report compares with: the ISO week before for a
// week (in the same time zone, so 167, 168 or 169 hours), otherwise the
// range of the same duration that ends where r starts.
func (r Range) Previous() Range {
	if r.Week != "" {
		return WeekOf(r.From.Add(-time.Hour), r.Location())
	}
	return Range{From: r.From.Add(-r.Duration()), To: r.From, loc: r.loc}
}

// String names the range: its week, or its bounds in RFC 3339.
func (r Range) String() string {
	if r.Week != "" {
		return r.Week
	}
	loc := r.Location()
	return r.From.In(loc).Format(time.RFC3339) + " – " + r.To.In(loc).Format(time.RFC3339)
}
