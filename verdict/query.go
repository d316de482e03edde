package verdict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadywatch/steadywatch/chaos"
)

// maxPoints is how many steps one range query may span: Prometheus refuses
// more than 11,000 points per series, so longer windows are queried in
// pieces.
const maxPoints = 10_000

// samples is what one query returned for one group: every series' finite
// samples pooled.
type samples struct {
	// series is how many series the query returned.
	series int
	// values are the finite samples of all series.
	values []float64
	// nans counts the NaN and ±Inf samples dropped.
	nans int
	// sum is the sum of values.
	sum float64
}

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

// rangeQuery runs query over [start, end] at step, in pieces of at most
// maxPoints steps, retrying transient errors. why says why there is no
// data if the query failed; err is only ctx's.
func (j *Judge) rangeQuery(ctx context.Context, metric string, group chaos.Group, query string,
	start, end time.Time, step time.Duration,
) (s samples, why string, err error) {
	ctx, span := j.tracer.Start(ctx, "verdict.query", trace.WithAttributes(
		attribute.String("metric", metric),
		attribute.String("group", string(group)),
		attribute.String("query", query),
	))
	defer span.End()
	seen := map[model.Fingerprint]struct{}{}
	attempts := 0
	for from := start; !from.After(end); {
		to := from.Add(time.Duration(maxPoints-1) * step)
		if to.After(end) {
			to = end
		}
		m, n, why, err := j.queryPiece(ctx, query, v1.Range{Start: from, End: to, Step: step})
		attempts += n
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
			seen[ss.Metric.Fingerprint()] = struct{}{}
			for _, p := range ss.Values {
				f := float64(p.Value)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					s.nans++
					continue
				}
				s.values = append(s.values, f)
				s.sum += f
			}
		}
		from = to.Add(step)
	}
	s.series = len(seen)
	span.SetAttributes(attribute.Int("attempts", attempts), attribute.Int("series", s.series),
		attribute.Int("samples", len(s.values)), attribute.Int("nans", s.nans))
	return s, "", nil
}

// queryPiece runs one range query with retries; n is the attempts made.
func (j *Judge) queryPiece(ctx context.Context, query string, r v1.Range) (m model.Matrix, n int, why string, err error) {
	backoff := j.backoff
	for {
		n++
		m, err := j.queryOnce(ctx, query, r)
		if err == nil {
			return m, n, "", nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, n, "", ctxErr
		}
		if !transient(err) {
			return nil, n, "query failed: " + err.Error(), nil
		}
		if n > j.retries {
			return nil, n, fmt.Sprintf("query failed %d times: %v", n, err), nil
		}
		j.log.WarnContext(ctx, "range query failed; retrying", "query", query, "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, n, "", ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (j *Judge) queryOnce(ctx context.Context, query string, r v1.Range) (model.Matrix, error) {
	ctx, cancel := context.WithTimeout(ctx, j.queryTimeout)
	defer cancel()
	v, warnings, _, err := j.prom.QueryRange(ctx, query, r, v1.WithTimeout(j.queryTimeout))
	if err != nil {
		return nil, err
	}
	if len(warnings) > 0 {
		j.log.WarnContext(ctx, "range query warnings", "query", query, "warnings", strings.Join(warnings, "; "))
	}
	switch v := v.(type) {
	case model.Matrix:
		return v, nil
	case nil:
		return nil, nil
	default:
		return nil, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("a range query returned a %s, not a matrix", v.Type())}
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
