package receiver_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/receiver"
)

// blockingSink holds every SaveAlerts until release is closed, telling
// entered about each, so that the bodies it was given stay in flight.
type blockingSink struct {
	entered chan struct{}
	release chan struct{}
}

func (s *blockingSink) SaveAlerts(_ context.Context, alerts []alert.Alert) (int, error) {
	s.entered <- struct{}{}
	<-s.release
	return len(alerts), nil
}

// paddedNotification is a valid notification of exactly size bytes, the
// rest of it an unknown field.
func paddedNotification(t *testing.T, size int) []byte {
	t.Helper()
	body := notificationOf(t, 1)
	pad := size - len(body) - len(`,"padding":""`)
	require.Positive(t, pad)
	body = append(body[:len(body)-1], `,"padding":"`+strings.Repeat("x", pad)+`"}`...)
	require.Len(t, body, size)
	return body
}

func TestTheBodiesInFlightNeverExceedTheirBudgetAndTheRestAreAskedToRetry(t *testing.T) {
	const (
		maxBody  = 256 << 10
		budget   = 8*maxBody + maxBody/2
		requests = 40
	)
	sink := &blockingSink{entered: make(chan struct{}, requests), release: make(chan struct{})}
	f := newFixture(t, receiver.Options{Sink: sink, MaxBodyBytes: maxBody, MaxInFlightBytes: budget})
	body := paddedNotification(t, maxBody/2)

	results := make(chan *httptest.ResponseRecorder, requests)
	for i := range requests {
		go func() {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, receiver.Path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if i%2 == 1 {
				req.ContentLength = -1 // chunked: it reserves maxBody
			}
			results <- f.do(req)
		}()
	}

	// The requests let in wait in the sink; the others are answered.
	admitted, refused := 0, 0
	deadline := time.After(30 * time.Second)
	for admitted+refused < requests {
		select {
		case <-sink.entered:
			admitted++
		case w := <-results:
			require.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
			require.Equal(t, "5", w.Header().Get("Retry-After"))
			require.Contains(t, w.Body.String(), "busy: ")
			refused++
		case <-deadline:
			t.Fatalf("%d requests in the sink and %d refused of %d after 30s", admitted, refused, requests)
		}
	}
	peak := receiver.PeakInFlightBytes(f.rcv)
	require.LessOrEqual(t, peak, int64(budget), "more bytes in flight than the budget")
	require.Greater(t, peak, int64(budget-maxBody), "a request was refused while there was room for it")
	require.Positive(t, refused)
	require.LessOrEqual(t, admitted, 17, "the budget holds at most 17 half-size bodies")
	require.InDelta(t, float64(peak), metricValue(t, f.reg, "steadywatch_webhook_in_flight_bytes"), 0)

	close(sink.release)
	for range admitted {
		w := <-results
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_webhook_in_flight_bytes Bytes of webhook bodies being read, decoded and stored: each request reserves its Content-Length (alerts.max_body_bytes when it has none) until it is answered.
# TYPE steadywatch_webhook_in_flight_bytes gauge
steadywatch_webhook_in_flight_bytes 0
`), "steadywatch_webhook_in_flight_bytes"))
	require.InDelta(t, float64(refused), metricValue(t, f.reg, "steadywatch_webhook_rejected_total", "reason", "busy"), 0)

	// Once they are answered, the budget is whole again.
	sink.release = make(chan struct{})
	close(sink.release)
	w := f.post(paddedNotification(t, maxBody))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// metricValue is the value of the gauge or counter name whose labels
// include the given name, value pairs.
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// sinkFunc is a Sink calling itself.
type sinkFunc func(ctx context.Context, alerts []alert.Alert) (int, error)

func (f sinkFunc) SaveAlerts(ctx context.Context, alerts []alert.Alert) (int, error) {
	return f(ctx, alerts)
}

// Every way a request admitted into the budget can end gives its bytes
// back: with room for a single request of the largest size, each is
// followed by one, which a single leaked byte would turn away.
func TestEveryAnswerGivesItsInFlightBytesBack(t *testing.T) {
	const maxBody = 64 << 10
	var save func() (int, error)
	f := newFixture(t, receiver.Options{
		MaxBodyBytes: maxBody, MaxInFlightBytes: maxBody,
		Sink: sinkFunc(func(_ context.Context, alerts []alert.Alert) (int, error) { return save() }),
	})
	stored := func() (int, error) { return 1, nil }
	chunked := func(body []byte) *http.Request { // it reserves maxBody
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, receiver.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		return req
	}
	largest := func() *http.Request { return chunked(notificationOf(t, 1)) }
	for _, tc := range []struct {
		name string
		save func() (int, error)
		req  *http.Request
		code int
	}{
		{"stored", stored, largest(), http.StatusOK},
		{"not JSON", stored, chunked([]byte("{")), http.StatusBadRequest},
		{"every alert rejected", stored, chunked([]byte(notification(strings.Replace(okAlert, `"f0"`, `""`, 1)))), http.StatusBadRequest},
		{"over the body limit once read", stored, chunked(paddedNotification(t, maxBody+1)), http.StatusRequestEntityTooLarge},
		{"the store failing", func() (int, error) { return 0, context.DeadlineExceeded }, largest(), http.StatusServiceUnavailable},
		{"the store panicking", func() (int, error) { panic(http.ErrAbortHandler) }, largest(), 0},
	} {
		save = tc.save
		if tc.code == 0 {
			require.PanicsWithValue(t, http.ErrAbortHandler, func() { f.do(tc.req) }, tc.name)
		} else {
			w := f.do(tc.req)
			require.Equal(t, tc.code, w.Code, "%s: %s", tc.name, w.Body.String())
		}
		require.Zero(t, metricValue(t, f.reg, "steadywatch_webhook_in_flight_bytes"), "after %s", tc.name)

		save = stored
		w := f.do(largest())
		require.Equal(t, http.StatusOK, w.Code, "after %s: %s", tc.name, w.Body.String())
	}
	require.Zero(t, metricValue(t, f.reg, "steadywatch_webhook_rejected_total", "reason", "busy"))
}
