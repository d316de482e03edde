package verdict_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
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
	if !strings.Contains(window, "step:") {
		window += "\n  step: 15s"
	}
	doc := fmt.Sprintf(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: test}
spec:
  service: api
  namespace: shop
  groups: {control: group="control", experimental: group="experimental"}
  %s
%s`, window, spec)
	hs, err := hypothesis.Parse([]byte(doc), "test.yaml")
	require.NoError(t, err, doc)
	require.Len(t, hs, 1)
	return &hs[0]
}

// fakeProm answers range queries from series registered by metric name
// and group: a query holding `name{` and `group="g"` gets them. A series
// is its values at base, base+step, …; the answer holds those in the
// query's range, at its timestamps, and leaves out a series with none.
type fakeProm struct {
	v1.API
	mu     sync.Mutex
	data   map[string][][]float64
	errs   map[string][]error // returned, in order, before the data
	calls  map[string]int
	ranges []v1.Range
	// warnings are returned with every answer to a query of the key.
	warnings map[string]v1.Warnings
	// spill widens every answer by this much on both sides of the range
	// asked for, as a misbehaving proxy might.
	spill time.Duration
}

func newFakeProm() *fakeProm {
	return &fakeProm{
		data: map[string][][]float64{}, errs: map[string][]error{}, calls: map[string]int{},
		warnings: map[string]v1.Warnings{},
	}
}

func key(name string, g chaos.Group) string { return name + "|" + string(g) }

// set registers the series of metric name for group g.
func (f *fakeProm) set(name string, g chaos.Group, series ...[]float64) *fakeProm {
	f.data[key(name, g)] = series
	return f
}

// fail makes the next queries of name for g return errs, one each.
func (f *fakeProm) fail(name string, g chaos.Group, errs ...error) *fakeProm {
	f.errs[key(name, g)] = errs
	return f
}

func (f *fakeProm) callsOf(name string, g chaos.Group) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key(name, g)]
}

func (f *fakeProm) match(q string) string {
	var g chaos.Group
	switch {
	case strings.Contains(q, `group="control"`):
		g = chaos.Control
	case strings.Contains(q, `group="experimental"`):
		g = chaos.Experimental
	default:
		panic("fakeProm: no group in " + q)
	}
	i := strings.Index(q, "{")
	j := strings.LastIndexAny(q[:i], "( ")
	return key(q[j+1:i], g)
}

func (f *fakeProm) QueryRange(ctx context.Context, q string, r v1.Range, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	k := f.match(q)
	f.mu.Lock()
	f.calls[k]++
	f.ranges = append(f.ranges, r)
	if errs := f.errs[k]; len(errs) > 0 {
		f.errs[k] = errs[1:]
		f.mu.Unlock()
		return nil, nil, nil, errs[0]
	}
	data, warnings := f.data[k], f.warnings[k]
	f.mu.Unlock()
	if f.spill > 0 {
		r.Start, r.End = r.Start.Add(-f.spill), r.End.Add(f.spill)
	}
	return matrix(data, r), warnings, nil, nil
}

func matrix(data [][]float64, r v1.Range) model.Matrix {
	m := model.Matrix{}
	for s, values := range data {
		ss := &model.SampleStream{Metric: model.Metric{"series": model.LabelValue(fmt.Sprint(s))}}
		for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
			i := int(t.Sub(base) / step)
			if t.Before(base) || i >= len(values) || (t.Sub(base)%step) != 0 || isAbsent(values[i]) {
				continue
			}
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: model.SampleValue(values[i])})
		}
		if len(ss.Values) > 0 {
			m = append(m, ss)
		}
	}
	return m
}

// absent marks a step at which a series has no sample at all (a gap in
// the answer, unlike NaN, which is a sample): a NaN with its own payload.
var absent = math.Float64frombits(0x7ff8_0000_dead_beef)

func isAbsent(v float64) bool { return math.Float64bits(v) == math.Float64bits(absent) }

// lognormal returns n samples of a lognormal distribution with the given
// median and shape, from a generator seeded with seed.
func lognormal(seed uint64, n int, median, sigma float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(sigma*rng.NormFloat64())
	}
	return out
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

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
