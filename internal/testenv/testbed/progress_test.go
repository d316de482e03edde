package testbed

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
)

// lines records the messages logged, for tests to read while the code under
// test still runs.
type lines struct {
	mu   sync.Mutex
	msgs []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }

func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	l.msgs = append(l.msgs, msg)
	return nil
}

func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// steps are the lines but the "still" ones, which a step that moves the
// clock on itself may or may not get in before its end.
func (l *lines) steps() []string {
	return slices.DeleteFunc(l.all(), func(m string) bool { return strings.HasPrefix(m, "still ") })
}

func (l *lines) has(msg string) bool { return slices.Contains(l.all(), msg) }

func (l *lines) containing(s string) []string {
	var out []string
	for _, m := range l.all() {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
}

// waitAlarm waits until the code under test waits on the clock for at.
func waitAlarm(t *testing.T, c *fakeclock.Clock, at time.Time) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Contains(c.Alarms(), at) }, 10*time.Second, time.Millisecond,
		"nothing waits for %s; waiting for %v", at, c.Alarms())
}

func TestProgressLogsEachStepWithItsTimesWhatIsLeftAndAStillLineEvery30s(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	clock := fakeclock.New(t0)
	rec := &lines{}
	p := newProgress(slog.New(rec), clock, downloadStep, buildStep(KubeAPIServer), buildStep(Etcd))

	require.NoError(t, p.run(downloadStep, func() error { clock.Advance(4*time.Minute + 2*time.Second); return nil }))
	require.Equal(t, []string{
		"downloading modules (0s so far; left after it: kube-apiserver, etcd)",
		"modules downloaded in 4m02s (4m02s so far; left: kube-apiserver, etcd)",
	}, rec.steps())

	clock.Advance(time.Second) // between steps: counted in the build's time, not in a step's

	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- p.run(buildStep(KubeAPIServer), func() error { <-release; return nil })
	}()
	stepStart := t0.Add(4*time.Minute + 3*time.Second)
	waitAlarm(t, clock, stepStart.Add(30*time.Second))
	require.True(t, rec.has("building kube-apiserver (4m03s so far; left after it: etcd)"), rec.all())

	// Just short of 30 s the alarm has not rung, so no line can have been logged.
	clock.Set(stepStart.Add(29 * time.Second))
	require.Contains(t, clock.Alarms(), stepStart.Add(30*time.Second))
	require.Empty(t, rec.containing("still building kube-apiserver"))

	clock.Set(stepStart.Add(30 * time.Second))
	require.Eventually(t, func() bool { return rec.has("still building kube-apiserver: 30s") }, 10*time.Second, time.Millisecond, "%q", rec.all())
	waitAlarm(t, clock, stepStart.Add(60*time.Second))
	clock.Set(stepStart.Add(90 * time.Second)) // late: one line for the 60 s alarm, then the next one waits for 90 s
	require.Eventually(t, func() bool { return rec.has("still building kube-apiserver: 1m30s") }, 10*time.Second, time.Millisecond, "%q", rec.all())
	require.Len(t, rec.containing("still building kube-apiserver"), 2, "one line per alarm rung")

	clock.Set(stepStart.Add(4*time.Minute + 12*time.Second))
	close(release)
	require.NoError(t, <-done)
	require.Equal(t, "kube-apiserver built in 4m12s (8m15s so far; left: etcd)", rec.steps()[len(rec.steps())-1])

	err := p.run(buildStep(Etcd), func() error { clock.Advance(5 * time.Second); return errors.New("compile error") })
	require.EqualError(t, err, "compile error")
	require.Equal(t, "building etcd failed after 5s (8m20s so far)", rec.steps()[len(rec.steps())-1])
}

func TestProgressLastStepLeavesNothing(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC))
	rec := &lines{}
	p := newProgress(slog.New(rec), clock, buildStep(Kwok))
	require.NoError(t, p.run(buildStep(Kwok), func() error { clock.Advance(time.Hour + 61*time.Second); return nil }))
	require.Equal(t, []string{
		"building kwok (0s so far; last step)",
		"kwok built in 1h01m01s (1h01m01s so far; left: nothing)",
	}, rec.steps())
}
