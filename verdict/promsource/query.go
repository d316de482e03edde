package promsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadywatch/steadywatch/verdict"
)

// maxPoints is how many steps one range query may span: Prometheus refuses
// more than 11,000 points per series, so longer windows are queried in
// pieces.
const maxPoints = 10_000

// maxBackoff bounds the wait between two retries.
const maxBackoff = 5 * time.Second

// Samples implements verdict.SampleSource: it runs q as range queries of
// at most maxPoints steps, retrying transient errors, and joins the pieces'
// series. The number of attempts goes on the span in ctx (the judge's
// verdict.query) as "attempts".
func (s *Source) Samples(ctx context.Context, q verdict.RangeQuery) (verdict.Answer, error) {
	var a verdict.Answer
	byPrint := map[model.Fingerprint]int{} // index in a.Series
	attempts := 0
	defer func() {
		if ctx.Err() == nil {
			trace.SpanFromContext(ctx).SetAttributes(attribute.Int("attempts", attempts))
		}
	}()
	for from := q.Start; !from.After(q.End); {
		to := from.Add(time.Duration(maxPoints-1) * q.Step)
		if to.After(q.End) {
			to = q.End
		}
		m, warnings, n, err := s.queryPiece(ctx, q.Expr, v1.Range{Start: from, End: to, Step: q.Step})
		attempts += n
		for _, w := range warnings {
			if !slices.Contains(a.Warnings, w) {
				a.Warnings = append(a.Warnings, w)
			}
		}
		if err != nil {
			return a, err
		}
		for _, ss := range m {
			fp := ss.Metric.Fingerprint()
			i, ok := byPrint[fp]
			if !ok {
				i = len(a.Series)
				byPrint[fp] = i
				a.Series = append(a.Series, verdict.Series{Labels: ss.Metric.String()})
			}
			for _, p := range ss.Values {
				a.Series[i].Points = append(a.Series[i].Points, verdict.Point{T: p.Timestamp.Time(), V: float64(p.Value)})
			}
		}
		from = to.Add(q.Step)
	}
	return a, nil
}

// queryPiece runs one range query with retries; n is the attempts made,
// warnings those of the answer used. Once ctx has ended, err is ctx's.
func (s *Source) queryPiece(ctx context.Context, query string, r v1.Range) (m model.Matrix, warnings v1.Warnings, n int, err error) {
	backoff := s.backoff
	for {
		n++
		m, warnings, err := s.queryOnce(ctx, query, r)
		if err == nil {
			return m, warnings, n, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, n, ctxErr
		}
		if !transient(err) {
			return nil, nil, n, fmt.Errorf("query failed: %w", err)
		}
		if n > s.retries {
			return nil, nil, n, fmt.Errorf("query failed %d times: %w", n, err)
		}
		s.log.WarnContext(ctx, "range query failed; retrying", "query", query, "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, n, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// queryOnce runs one range query. Prometheus's warnings (a partial
// response, a limit hit) are returned: they make the metric inconclusive.
func (s *Source) queryOnce(ctx context.Context, query string, r v1.Range) (model.Matrix, v1.Warnings, error) {
	ctx, cancel := context.WithTimeout(ctx, s.queryTimeout)
	defer cancel()
	v, warnings, _, err := s.api.QueryRange(ctx, query, r, v1.WithTimeout(s.queryTimeout))
	if err != nil {
		return nil, nil, refused(err)
	}
	if len(warnings) > 0 {
		s.log.WarnContext(ctx, "range query warnings", "query", query, "warnings", strings.Join(warnings, "; "))
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

// refused says what a 401 or 403 answer means, which the Prometheus
// client calls only "client error: 401": the credentials of the HTTP
// client are missing or wrong. err stays in the chain.
func refused(err error) error {
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrClient {
		return err
	}
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		if strings.HasSuffix(apiErr.Msg, ": "+strconv.Itoa(code)) {
			return fmt.Errorf("prometheus answered %d %s: its HTTP client configuration has no credentials, or wrong ones: %w",
				code, http.StatusText(code), err)
		}
	}
	return err
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
