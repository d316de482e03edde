package verdict

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// maxPoints is how many steps one range query may span: Prometheus refuses
// more than 11,000 points per series, so longer windows are queried in
// pieces.
const maxPoints = 10_000

// samples is what one query returned for one group: its one series, or
// its series aggregated step by step.
type samples struct {
	// series is how many series the query returned.
	series int
	// points are the series' samples in the window, in time order, NaN
	// and ±Inf included.
	points []point
	// values are the finite samples of points.
	values []float64
	// nans counts the NaN and ±Inf samples dropped.
	nans int
	// sum is the sum of values.
	sum float64
	// warnings are Prometheus's warnings about its answers.
	warnings []string
	// outside counts the samples Prometheus returned outside the window
	// asked for, which were dropped.
	outside int
}

// point is one sample.
type point struct {
	t model.Time
	v float64
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// problem says why s cannot be judged for a group, or "".
func (s *samples) problem(group chaos.Group, minSamples int) string {
	switch {
	case s.series == 0:
		return fmt.Sprintf("no data for the %s group: the query returned no series", group)
	case len(s.values) == 0:
		return fmt.Sprintf("no data for the %s group: its %d samples are all NaN", group, s.nans)
	case len(s.values) < minSamples:
		return fmt.Sprintf("too few samples in the %s group: %d (fewer than %d)", group, len(s.values), minSamples)
	}
	return ""
}

// queried is one series as the pieces of a range query returned it.
type queried struct {
	labels model.Metric
	points []point
}

// rangeQuery runs query over [start, end] at step, in pieces of at most
// maxPoints steps, retrying transient errors, and makes one series of the
// answer: the only one, or the series aggregated by agg at each step.
// Samples outside [start, end] are dropped (s.outside). why says why there
// is no data: the query failed, or it returned several series and agg is
// empty; err is only ctx's.
func (j *Judge) rangeQuery(ctx context.Context, metric string, group chaos.Group, query string, agg hypothesis.Aggregate,
	start, end time.Time, step time.Duration,
) (s samples, why string, err error) {
	ctx, span := j.tracer.Start(ctx, "verdict.query", trace.WithAttributes(
		attribute.String("metric", metric),
		attribute.String("group", string(group)),
		attribute.String("query", query),
	))
	defer span.End()
	var all []*queried
	byPrint := map[model.Fingerprint]*queried{}
	attempts := 0
	lo, hi := model.TimeFromUnixNano(start.UnixNano()), model.TimeFromUnixNano(end.UnixNano())
	for from := start; !from.After(end); {
		to := from.Add(time.Duration(maxPoints-1) * step)
		if to.After(end) {
			to = end
		}
		m, warnings, n, why, err := j.queryPiece(ctx, query, v1.Range{Start: from, End: to, Step: step})
		attempts += n
		for _, w := range warnings {
			if !slices.Contains(s.warnings, w) {
				s.warnings = append(s.warnings, w)
			}
		}
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			return s, "", err
		}
		if why != "" {
			span.SetStatus(codes.Error, why)
			span.SetAttributes(attribute.Int("attempts", attempts))
			return s, why, nil
		}
		for _, ss := range m {
			fp := ss.Metric.Fingerprint()
			q := byPrint[fp]
			if q == nil {
				q = &queried{labels: ss.Metric}
				byPrint[fp] = q
				all = append(all, q)
			}
			for _, p := range ss.Values {
				if p.Timestamp.Before(lo) || p.Timestamp.After(hi) {
					s.outside++
					continue
				}
				q.points = append(q.points, point{t: p.Timestamp, v: float64(p.Value)})
			}
		}
		from = to.Add(step)
	}
	// A series with samples only outside the window is not in it, as
	// Prometheus would not have returned it for the window alone.
	all = slices.DeleteFunc(all, func(q *queried) bool { return len(q.points) == 0 })
	s.series = len(all)
	span.SetAttributes(attribute.Int("attempts", attempts), attribute.Int("series", s.series), attribute.Int("outside", s.outside))
	switch {
	case len(all) == 1:
		s.points = all[0].points
	case len(all) > 1 && agg == "":
		return s, severalSeries(all), nil
	case len(all) > 1:
		s.points = aggregate(all, agg)
	}
	for _, p := range s.points {
		if !finite(p.v) {
			s.nans++
			continue
		}
		s.values = append(s.values, p.v)
		s.sum += p.v
	}
	span.SetAttributes(attribute.Int("samples", len(s.values)), attribute.Int("nans", s.nans))
	return s, "", nil
}

// severalSeries says why a query's several series are not compared:
// pooled, they would be a mixture of steady states (per-pod series, or a
// query missing a label matcher), and their samples would count as
// independent when they are not.
func severalSeries(all []*queried) string {
	const shown = 3
	names := make([]string, 0, shown+1)
	for i, q := range all {
		if i == shown {
			names = append(names, fmt.Sprintf("and %d more", len(all)-shown))
			break
		}
		names = append(names, q.labels.String())
	}
	return fmt.Sprintf("the query returned %d series (%s): a comparison needs one per group; aggregate them in the query (sum, avg, …) or set the metric's aggregate to sum, avg, max or min",
		len(all), strings.Join(names, ", "))
}

// aggregate combines the series step by step: at each time, agg of the
// samples the series have there; a NaN or ±Inf among them makes the step's
// NaN (dropped and counted), as Prometheus's own sum would be.
func aggregate(all []*queried, agg hypothesis.Aggregate) []point {
	type acc struct {
		v   float64
		n   int
		bad bool
	}
	at := map[model.Time]*acc{}
	for _, q := range all {
		for _, p := range q.points {
			a := at[p.t]
			if a == nil {
				a = &acc{}
				at[p.t] = a
			}
			switch {
			case !finite(p.v):
				a.bad = true
			case a.n == 0:
				a.v = p.v
			case agg == hypothesis.AggregateMax:
				a.v = max(a.v, p.v)
			case agg == hypothesis.AggregateMin:
				a.v = min(a.v, p.v)
			default:
				a.v += p.v
			}
			a.n++
		}
	}
	out := make([]point, 0, len(at))
	for t, a := range at {
		v := a.v
		switch {
		case a.bad:
			v = math.NaN()
		case agg == hypothesis.AggregateAvg:
			v /= float64(a.n)
		}
		out = append(out, point{t: t, v: v})
	}
	slices.SortFunc(out, func(a, b point) int { return cmp.Compare(a.t, b.t) })
	return out
}

// queryPiece runs one range query with retries; n is the attempts made,
// warnings those of the answer used.
func (j *Judge) queryPiece(ctx context.Context, query string, r v1.Range) (m model.Matrix, warnings v1.Warnings, n int, why string, err error) {
	backoff := j.backoff
	for {
		n++
		m, warnings, err := j.queryOnce(ctx, query, r)
		if err == nil {
			return m, warnings, n, "", nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, n, "", ctxErr
		}
		if !transient(err) {
			return nil, nil, n, "query failed: " + err.Error(), nil
		}
		if n > j.retries {
			return nil, nil, n, fmt.Sprintf("query failed %d times: %v", n, err), nil
		}
		j.log.WarnContext(ctx, "range query failed; retrying", "query", query, "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, n, "", ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// queryOnce runs one range query. Prometheus's warnings (a partial
// response, a limit hit) are returned: they make the metric inconclusive.
func (j *Judge) queryOnce(ctx context.Context, query string, r v1.Range) (model.Matrix, v1.Warnings, error) {
	ctx, cancel := context.WithTimeout(ctx, j.queryTimeout)
	defer cancel()
	v, warnings, _, err := j.prom.QueryRange(ctx, query, r, v1.WithTimeout(j.queryTimeout))
	if err != nil {
		return nil, nil, err
	}
	if len(warnings) > 0 {
		j.log.WarnContext(ctx, "range query warnings", "query", query, "warnings", strings.Join(warnings, "; "))
	}
	switch v := v.(type) {
	case model.Matrix:
		return v, warnings, nil
	case nil:
		return nil, warnings, nil
	default:
		return nil, nil, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("a range query returned a %s, not a matrix", v.Type())}
	}
}

// transient reports whether a query error may go away on a retry: a
// timeout, a server error, a network error or the attempt's own deadline,
// and 429 Too Many Requests; not a query Prometheus rejected (bad_data,
// execution) nor another client error or a malformed answer.
func transient(err error) bool {
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) {
		return true
	}
	switch apiErr.Type {
	case v1.ErrTimeout, v1.ErrServer, v1.ErrCanceled:
		return true
	case v1.ErrClient:
		return strings.HasSuffix(apiErr.Msg, ": 429")
	}
	return false
}
