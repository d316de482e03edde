// Package fakeclock is a clock tests set by hand, for the code that waits
// on one (report delivery's schedule and backoff): nothing waits on the
// wall clock, and a test moves time on once what it waits for happened.
package fakeclock

import (
	"slices"
	"sync"
	"time"
)

// Clock is a settable clock; its zero value is not usable, New makes one.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	alarms []alarm
}

type alarm struct {
	at time.Time
	ch chan time.Time
}

// New is a clock at now.
func New(now time.Time) *Clock { return &Clock{now: now} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Alarm receives once the clock is at or past t: at once if it is already.
func (c *Clock) Alarm(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.alarms = append(c.alarms, alarm{at: t, ch: ch})
	return ch
}

// Set moves the clock to t (never back) and rings the alarms due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		return
	}
	c.now = t
	kept := c.alarms[:0]
	for _, a := range c.alarms {
		if a.at.After(t) {
			kept = append(kept, a)
			continue
		}
		a.ch <- t
	}
	c.alarms = kept
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Alarms are the times the alarms not rung yet wait for, earliest first:
// what the code under test is waiting on.
func (c *Clock) Alarms() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Time, 0, len(c.alarms))
	for _, a := range c.alarms {
		out = append(out, a.at)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}
