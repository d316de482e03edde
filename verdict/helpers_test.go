package verdict_test

import (
	"context"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// The fixed window of the test hypotheses: an hour at 15 s, 241 samples a
// series (both ends included).
var (
	base     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	winEnd   = base.Add(time.Hour)
	after    = winEnd.Add(time.Minute)
	step     = 15 * time.Second
	nSamples = 241
)

const fixedWindow = `window: {fixed: {start: 2026-03-01T12:00:00Z, end: 2026-03-01T13:00:00Z}}`

// hyp parses a hypothesis of service api in namespace shop with groups
// group="control" and group="experimental", window and spec (YAML indented
// as spec's fields). The step is 15s unless window sets one.
func hyp(t testing.TB, window, spec string) *hypothesis.Hypothesis {
	t.Helper()
	return verdicttest.Hypothesis(t, window, spec)
}

// newSource returns a fake sample source whose series start at base, a
// value every step.
func newSource() *verdicttest.Source { return verdicttest.NewSource(base, step) }

var (
	lognormal = verdicttest.Lognormal
	constant  = verdicttest.Constant
	// absent marks a step at which a series has no sample at all.
	absent = verdicttest.Absent
)

// scaled returns xs times f.
func scaled(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}

// fakeAlerts is an AlertSource over a fixed list.
type fakeAlerts struct{ alerts []alert.Alert }

func (f *fakeAlerts) Alerts(_ context.Context, flt alert.Filter) ([]alert.Alert, error) {
	var out []alert.Alert
	for _, a := range f.alerts {
		match := !a.StartsAt.Before(flt.Since) && a.StartsAt.Before(flt.Until)
		for k, v := range flt.Labels {
			match = match && a.Labels[k] == v
		}
		if match {
			out = append(out, a)
		}
	}
	return out, nil
}
