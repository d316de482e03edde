package verdicttest

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/verdict"
)

// Source is a fake verdict.SampleSource answering range queries from
// series registered by metric name and group: a query holding `name{` and
// `group="g"` gets them. A series is its values at Start, Start+Step, …;
// the answer holds those in the query's range, at its timestamps, and
// leaves out a series with none.
//
// The judge's check of a family's raw samples (a query starting with
// RawPrefix) is answered from the series SetRaw registered, or else from
// the metric's own: a raw sample wherever the answer has one. It is not
// counted by Calls.
type Source struct {
	// Start is the time of every series' first value, Step the time
	// between two.
	Start time.Time
	Step  time.Duration
	// Spill widens every answer by this much on both sides of the range
	// asked for, as a misbehaving proxy might.
	Spill time.Duration

	mu       sync.Mutex
	data     map[string][][]float64
	raw      map[string][][]float64
	down     map[string][]target
	checkErr map[string]error   // by query prefix
	errs     map[string][]error // returned, in order, before the data
	calls    map[string]int
	queries  []verdict.RangeQuery
	warnings map[string][]string // returned with every answer
}

// NewSource returns a Source without series.
func NewSource(start time.Time, step time.Duration) *Source {
	return &Source{
		Start: start, Step: step,
		data: map[string][][]float64{}, raw: map[string][][]float64{}, down: map[string][]target{}, errs: map[string][]error{}, calls: map[string]int{},
		warnings: map[string][]string{},
	}
}

func key(name string, g chaos.Group) string { return name + "|" + string(g) }

// Set registers the series of metric name for group g.
func (f *Source) Set(name string, g chaos.Group, series ...[]float64) *Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[key(name, g)] = series
	return f
}

// RawPrefix starts the judge's queries of a family's raw samples.
const RawPrefix = "count(count_over_time("

// SetRaw registers the raw samples of metric name's family for group g,
// where they differ from its answer's (a range selector bridging a gap):
// a series with a value at each step that has a raw sample, Absent where
// none.
func (f *Source) SetRaw(name string, g chaos.Group, series ...[]float64) *Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raw[key(name, g)] = series
	return f
}

// TargetsPrefix starts the judge's queries of the scrape targets that fed
// a family; DownPrefix its queries of the targets that failed scrapes.
const (
	TargetsPrefix = "group by (job, instance) (count_over_time("
	DownPrefix    = "min_over_time(up["
)

type target struct {
	labels string
	down   []float64
}

// SetDown adds a scrape target that fed metric name's family in group g
// and failed scrapes: labels are its up series' (`{instance="10.0.0.7:8080",
// job="api", pod="api-7"}`), down a value at each step, 0 where it failed
// a scrape within the step and Absent elsewhere. Without one, no target
// ever failed.
func (f *Source) SetDown(name string, g chaos.Group, labels string, down []float64) *Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[key(name, g)] = append(f.down[key(name, g)], target{labels, down})
	return f
}

// FailChecks makes every one of the judge's checks whose query starts
// with prefix (RawPrefix, TargetsPrefix, DownPrefix) return err.
func (f *Source) FailChecks(prefix string, err error) *Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.checkErr == nil {
		f.checkErr = map[string]error{}
	}
	f.checkErr[prefix] = err
	return f
}

// targets answers the judge's queries of targets: those that fed a family
// (each with a sample at every step asked), or those that failed, of every
// family (their up series name no family).
func (f *Source) targets(q verdict.RangeQuery) verdict.Answer {
	var data [][]float64
	var names []string
	add := func(tgs []target, fed bool) {
		for _, tg := range tgs {
			if slices.Contains(names, tg.labels) {
				continue
			}
			values := tg.down
			if fed {
				values = Constant(len(tg.down), 1)
			}
			data, names = append(data, values), append(names, tg.labels)
		}
	}
	if strings.HasPrefix(q.Expr, TargetsPrefix) {
		add(f.down[match(q.Expr)], true)
	} else {
		for _, k := range slices.Sorted(maps.Keys(f.down)) {
			add(f.down[k], false)
		}
	}
	a := f.answer(q, data, nil)
	for i := range a.Series {
		var s int
		if _, err := fmt.Sscanf(a.Series[i].Labels, `{series="%d"}`, &s); err != nil {
			panic(err)
		}
		a.Series[i].Labels = names[s]
	}
	return a
}

// Fail makes the next queries of name for g return errs, one each.
func (f *Source) Fail(name string, g chaos.Group, errs ...error) *Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[key(name, g)] = errs
	return f
}

// Warn makes every answer to a query of name for g carry warnings.
func (f *Source) Warn(name string, g chaos.Group, warnings ...string) *Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.warnings[key(name, g)] = warnings
	return f
}

// Calls is how many queries of name for g were asked.
func (f *Source) Calls(name string, g chaos.Group) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key(name, g)]
}

// Queries are the queries asked, in order.
func (f *Source) Queries() []verdict.RangeQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]verdict.RangeQuery(nil), f.queries...)
}

func match(q string) string {
	var g chaos.Group
	switch {
	case strings.Contains(q, `group="control"`):
		g = chaos.Control
	case strings.Contains(q, `group="experimental"`):
		g = chaos.Experimental
	default:
		panic("verdicttest.Source: no group in " + q)
	}
	i := strings.Index(q, "{")
	j := strings.LastIndexAny(q[:i], "( ")
	return key(q[j+1:i], g)
}

// Samples implements verdict.SampleSource.
func (f *Source) Samples(ctx context.Context, q verdict.RangeQuery) (verdict.Answer, error) {
	if err := ctx.Err(); err != nil {
		return verdict.Answer{}, err
	}
	f.mu.Lock()
	f.queries = append(f.queries, q)
	for prefix, err := range f.checkErr {
		if strings.HasPrefix(q.Expr, prefix) {
			f.mu.Unlock()
			return verdict.Answer{}, err
		}
	}
	if strings.HasPrefix(q.Expr, DownPrefix) || strings.HasPrefix(q.Expr, TargetsPrefix) {
		defer f.mu.Unlock()
		return f.targets(q), nil
	}
	k := match(q.Expr)
	if strings.HasPrefix(q.Expr, RawPrefix) {
		data, ok := f.raw[k]
		if !ok {
			data = f.data[k]
		}
		f.mu.Unlock()
		return f.answer(q, data, nil), nil
	}
	f.calls[k]++
	if errs := f.errs[k]; len(errs) > 0 {
		f.errs[k] = errs[1:]
		f.mu.Unlock()
		return verdict.Answer{}, errs[0]
	}
	data, warnings := f.data[k], f.warnings[k]
	f.mu.Unlock()
	return f.answer(q, data, warnings), nil
}

func (f *Source) answer(q verdict.RangeQuery, data [][]float64, warnings []string) verdict.Answer {
	start, end := q.Start, q.End
	if f.Spill > 0 {
		start, end = start.Add(-f.Spill), end.Add(f.Spill)
	}
	a := verdict.Answer{Warnings: warnings}
	for s, values := range data {
		ss := verdict.Series{Labels: fmt.Sprintf(`{series="%d"}`, s)}
		for t := start; !t.After(end); t = t.Add(q.Step) {
			i := int(t.Sub(f.Start) / f.Step)
			if t.Before(f.Start) || i >= len(values) || (t.Sub(f.Start)%f.Step) != 0 || IsAbsent(values[i]) {
				continue
			}
			ss.Points = append(ss.Points, verdict.Point{T: t, V: values[i]})
		}
		if len(ss.Points) > 0 {
			a.Series = append(a.Series, ss)
		}
	}
	return a
}

// Absent marks a step at which a series has no sample at all (a gap in
// the answer, unlike NaN, which is a sample): a NaN with its own payload.
var Absent = math.Float64frombits(0x7ff8_0000_dead_beef)

// IsAbsent reports whether v is Absent.
func IsAbsent(v float64) bool { return math.Float64bits(v) == math.Float64bits(Absent) }

// Lognormal returns n samples of a lognormal distribution with the given
// median and shape, from a generator seeded with seed.
func Lognormal(seed uint64, n int, median, sigma float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed)) //nolint:gosec // deterministic test data, on purpose
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(sigma*rng.NormFloat64())
	}
	return out
}

// Constant returns n samples of v.
func Constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Hypothesis parses a hypothesis of service api in namespace shop with
// groups group="control" and group="experimental", window and spec (YAML
// indented as spec's fields). The step is 15s unless window sets one.
func Hypothesis(t testing.TB, window, spec string) *hypothesis.Hypothesis {
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
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if len(hs) != 1 {
		t.Fatalf("%d hypotheses in\n%s", len(hs), doc)
	}
	return &hs[0]
}
