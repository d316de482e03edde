package verdict

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// SampleSource answers the judge's range queries: Prometheus (package
// promsource) or, in tests, a fake. The judge only judges what it is
// given; how the samples are fetched — the protocol, the server's limits,
// retries — is the source's business.
type SampleSource interface {
	// Samples returns the series q.Expr has over [q.Start, q.End] at
	// q.Step, each once. Samples outside that range are tolerated: the
	// judge drops and counts them.
	//
	// An error means there is no answer. Unless ctx has ended (which ends
	// the judgement), the metric is inconclusive with the error's text as
	// its reason, so the text says what failed: "query failed 3 times:
	// server_error: …". The Answer returned with an error may still hold
	// the warnings of what was answered before it.
	Samples(ctx context.Context, q RangeQuery) (Answer, error)
}

// RangeQuery is one query of one group's data.
type RangeQuery struct {
	// Expr is the query, in the source's language (PromQL).
	Expr       string
	Start, End time.Time
	Step       time.Duration
}

// Answer is what a query returned.
type Answer struct {
	Series []Series
	// Warnings are the source's warnings about its answer (a partial
	// response, a limit hit): they make the metric inconclusive.
	Warnings []string
}

// Series is one series of an answer.
type Series struct {
	// Labels name the series where a reason lists it: `{pod="api-0"}`.
	Labels string
	// Points are the samples in time order, NaN and ±Inf included.
	Points []Point
}

// Point is one sample.
type Point struct {
	T time.Time
	V float64
}

// samples is what one query returned for one group: its one series, or
// its series aggregated step by step.
type samples struct {
	// series is how many series the query returned.
	series int
	// points are the series' samples in the window, in time order, NaN
	// and ±Inf included.
	points []Point
	// values are the finite samples of points, and times their times.
	values []float64
	times  []time.Time
	// nans counts the NaN and ±Inf samples dropped; infs how many of
	// them were ±Inf.
	nans, infs int
	// sum is the sum of values.
	sum float64
	// warnings are the source's warnings about its answers.
	warnings []string
	// outside counts the samples the source returned outside the window
	// asked for, which were dropped.
	outside int
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// problem says why s cannot be judged for a group, or "".
func (s *samples) problem(group chaos.Group, minSamples int) string {
	switch {
	case s.series == 0:
		return fmt.Sprintf("no data for the %s group: the query returned no series", group)
	case len(s.values) == 0:
		return fmt.Sprintf("no data for the %s group: its %d samples are %s", group, s.nans, s.allBad())
	case len(s.values) < minSamples:
		return fmt.Sprintf("too few samples in the %s group: %d (fewer than %d)", group, len(s.values), minSamples)
	}
	return ""
}

// allBad says what s's samples are when none is finite: "all NaN" only
// if no one is ±Inf.
func (s *samples) allBad() string {
	if s.infs == 0 {
		return "all NaN"
	}
	return "all NaN or infinite"
}

// rangeQuery asks the source for query over [start, end] at step and
// makes one series of the answer: the only one, or the series aggregated
// by agg at each step. Samples outside [start, end] are dropped
// (s.outside). why says why there is no data: the query failed, or it
// returned several series and agg is empty; err is only ctx's.
func (j *Judge) rangeQuery(ctx context.Context, metric string, group chaos.Group, query string, agg hypothesis.Aggregate,
	start, end time.Time, step time.Duration,
) (s samples, why string, err error) {
	ctx, span := j.tracer.Start(ctx, "verdict.query", trace.WithAttributes(
		attribute.String("metric", metric),
		attribute.String("group", string(group)),
		attribute.String("query", query),
	))
	defer span.End()
	a, err := j.source.Samples(ctx, RangeQuery{Expr: query, Start: start, End: end, Step: step})
	for _, w := range a.Warnings {
		if !slices.Contains(s.warnings, w) {
			s.warnings = append(s.warnings, w)
		}
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			span.RecordError(ctxErr)
			span.SetStatus(codes.Error, ctxErr.Error())
			return s, "", ctxErr
		}
		span.SetStatus(codes.Error, err.Error())
		return s, err.Error(), nil
	}
	// Compared in milliseconds, Prometheus's resolution: a window ending
	// at a time.Now() still holds the sample of its last millisecond.
	lo, hi := start.UnixMilli(), end.UnixMilli()
	all := make([]Series, 0, len(a.Series))
	for _, ss := range a.Series {
		in := Series{Labels: ss.Labels, Points: make([]Point, 0, len(ss.Points))}
		for _, p := range ss.Points {
			if t := p.T.UnixMilli(); t < lo || t > hi {
				s.outside++
				continue
			}
			in.Points = append(in.Points, p)
		}
		// A series with samples only outside the window is not in it, as
		// Prometheus would not have returned it for the window alone.
		if len(in.Points) > 0 {
			all = append(all, in)
		}
	}
	s.series = len(all)
	span.SetAttributes(attribute.Int("series", s.series), attribute.Int("outside", s.outside))
	switch {
	case len(all) == 1:
		s.points = all[0].Points
	case len(all) > 1 && agg == "":
		return s, severalSeries(all), nil
	case len(all) > 1:
		s.points = aggregate(all, agg)
	}
	for _, p := range s.points {
		if !finite(p.V) {
			s.nans++
			if math.IsInf(p.V, 0) {
				s.infs++
			}
			continue
		}
		s.values = append(s.values, p.V)
		s.times = append(s.times, p.T)
		s.sum += p.V
	}
	span.SetAttributes(attribute.Int("samples", len(s.values)), attribute.Int("nans", s.nans))
	return s, "", nil
}

// severalSeries says why a query's several series are not compared:
// pooled, they would be a mixture of steady states (per-pod series, or a
// query missing a label matcher), and their samples would count as
// independent when they are not.
func severalSeries(all []Series) string {
	const shown = 3
	names := make([]string, 0, shown+1)
	for i, ss := range all {
		if i == shown {
			names = append(names, fmt.Sprintf("and %d more", len(all)-shown))
			break
		}
		names = append(names, ss.Labels)
	}
	return fmt.Sprintf("the query returned %d series (%s): a comparison needs one per group; aggregate them in the query (sum, avg, …) or set the metric's aggregate to sum, avg, max or min",
		len(all), strings.Join(names, ", "))
}

// aggregate combines the series step by step: at each time, agg of the
// samples the series have there; a NaN among them makes the step's NaN,
// else a ±Inf among them makes it that ±Inf (dropped and counted, and told
// apart in the reason), as Prometheus's own sum would be.
func aggregate(all []Series, agg hypothesis.Aggregate) []Point {
	type acc struct {
		t   time.Time
		v   float64
		n   int
		bad float64 // the first NaN or ±Inf, a NaN winning; 0 if none
	}
	at := map[int64]*acc{} // by Unix milliseconds
	for _, ss := range all {
		for _, p := range ss.Points {
			a := at[p.T.UnixMilli()]
			if a == nil {
				a = &acc{t: p.T}
				at[p.T.UnixMilli()] = a
			}
			switch {
			case !finite(p.V):
				if a.bad == 0 || math.IsNaN(p.V) {
					a.bad = p.V
				}
			case a.n == 0:
				a.v = p.V
			case agg == hypothesis.AggregateMax:
				a.v = max(a.v, p.V)
			case agg == hypothesis.AggregateMin:
				a.v = min(a.v, p.V)
			default:
				a.v += p.V
			}
			a.n++
		}
	}
	out := make([]Point, 0, len(at))
	for _, a := range at {
		v := a.v
		switch {
		case a.bad != 0:
			v = a.bad
		case agg == hypothesis.AggregateAvg:
			v /= float64(a.n)
		}
		out = append(out, Point{T: a.t, V: v})
	}
	slices.SortFunc(out, func(a, b Point) int { return a.T.Compare(b.T) })
	return out
}
