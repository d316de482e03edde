package testbed

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// progressEvery is how long a step runs before a "still building" line says
// it has not hung: a cold k8s build runs for 11 minutes in one go command.
const progressEvery = 30 * time.Second

// clock is the time the progress lines are measured on; tests set it by hand.
type clock interface {
	Now() time.Time
	// Alarm receives once the clock is at or past t.
	Alarm(t time.Time) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                     { return time.Now() }
func (realClock) Alarm(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// step is one part of a build, as the progress lines name it.
type step struct {
	name  string // in the lists of what is left
	doing string // "building etcd"
	done  string // "etcd built"
}

func buildStep(name string) step {
	return step{name: name, doing: "building " + name, done: name + " built"}
}

// downloadStep resolves and downloads every module before anything compiles,
// so the downloads run in parallel and their time is shown apart.
var downloadStep = step{name: "modules", doing: "downloading modules", done: "modules downloaded"}

// progress logs a build step by step at info level: each step's start, a
// line every progressEvery while it runs, and its end with its own time,
// the build's so far and the steps left.
type progress struct {
	log   *slog.Logger
	clock clock
	start time.Time
	left  []string
}

func newProgress(log *slog.Logger, c clock, steps ...step) *progress {
	p := &progress{log: log, clock: c, start: c.Now()}
	for _, s := range steps {
		p.left = append(p.left, s.name)
	}
	return p
}

// run runs fn as step s.
func (p *progress) run(s step, fn func() error) error {
	if i := slices.Index(p.left, s.name); i >= 0 {
		p.left = slices.Delete(p.left, i, i+1)
	}
	t0 := p.clock.Now()
	after := "last step"
	if len(p.left) > 0 {
		after = "left after it: " + strings.Join(p.left, ", ")
	}
	p.log.Info(fmt.Sprintf("%s (%s so far; %s)", s.doing, elapsed(t0.Sub(p.start)), after))

	// The first alarm is set before fn starts, so no step outruns it unseen.
	alarm := p.clock.Alarm(t0.Add(progressEvery))
	finished, ticking := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ticking)
		for {
			select {
			case <-finished:
				return
			case now := <-alarm:
				p.log.Info(fmt.Sprintf("still %s: %s", s.doing, elapsed(now.Sub(t0))))
				// Counted from the line just logged, so a late alarm
				// (a suspended laptop) is followed by one line, not a burst.
				alarm = p.clock.Alarm(now.Add(progressEvery))
			}
		}
	}()
	err := fn()
	close(finished)
	<-ticking

	end := p.clock.Now()
	if err != nil {
		p.log.Info(fmt.Sprintf("%s failed after %s (%s so far)", s.doing, elapsed(end.Sub(t0)), elapsed(end.Sub(p.start))))
		return err
	}
	left := "nothing"
	if len(p.left) > 0 {
		left = strings.Join(p.left, ", ")
	}
	p.log.Info(fmt.Sprintf("%s in %s (%s so far; left: %s)", s.done, elapsed(end.Sub(t0)), elapsed(end.Sub(p.start)), left))
	return nil
}

// elapsed writes d to the second with fixed-width minutes and seconds
// ("9m03s"), which reads better in a column of progress lines than 9m3s.
func elapsed(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
	}
}
