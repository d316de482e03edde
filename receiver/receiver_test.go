package receiver_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/receiver"
)

var t0 = time.Date(2026, 11, 21, 15, 36, 0, 0, time.UTC)

// fakeSink records what it is asked to save, or fails with err.
type fakeSink struct {
	mu    sync.Mutex
	calls [][]alert.Alert
	err   error
}

func (s *fakeSink) SaveAlerts(_ context.Context, alerts []alert.Alert) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	s.calls = append(s.calls, alerts)
	return len(alerts), nil
}

func (s *fakeSink) saved() [][]alert.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

type fixture struct {
	t    testing.TB
	sink *fakeSink
	reg  *prometheus.Registry
	rcv  *receiver.Receiver
}

func newFixture(t testing.TB, o receiver.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, sink: &fakeSink{}, reg: prometheus.NewRegistry()}
	if o.Sink == nil {
		o.Sink = f.sink
	}
	o.Registerer = f.reg
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	rcv, err := receiver.New(o)
	require.NoError(t, err)
	f.rcv = rcv
	return f
}

// post sends body the way Alertmanager does.
func (f *fixture) post(body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(f.t.Context(), http.MethodPost, receiver.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return f.do(req)
}

func (f *fixture) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.rcv.ServeHTTP(w, req)
	return w
}

func realBody(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/alertmanager-0.25-webhook.json")
	require.NoError(t, err)
	return b
}

func TestARealAlertmanagerNotificationIsStoredAndAcknowledged(t *testing.T) {
	f := newFixture(t, receiver.Options{})

	w := f.post(realBody(t))

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "stored 1 alerts (1 new)\n", w.Body.String())
	require.Equal(t, [][]alert.Alert{{{
		Fingerprint: "91f256e26f418daa",
		Status:      alert.Firing,
		Labels: map[string]string{
			"alertname": "SLOBurn",
			"instance":  "127.0.0.1:19100",
			"job":       "exporter",
			"severity":  "page",
		},
		Annotations:  map[string]string{"summary": "error ratio 0.9 on 127.0.0.1:19100"},
		StartsAt:     time.Date(2026, 11, 21, 15, 35, 57, 869000000, time.UTC),
		EndsAt:       time.Time{},
		GeneratorURL: "http://vm:19090/graph?g0.expr=slo_error_ratio%7Bjob%3D%22exporter%22%7D+%3E+0.5&g0.tab=1",
		Receiver:     "hook",
		GroupKey:     `{}:{alertname="SLOBurn"}`,
		ReceivedAt:   t0,
		Source:       "webhook",
	}}}, f.sink.saved())
	require.True(t, f.sink.saved()[0][0].EndsAt.IsZero(), "Alertmanager's 0001-01-01 is no end")

	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_alerts_received_total Alerts received from Alertmanager's webhook and stored, by name, service, severity and status; an alert notified again is counted again.
# TYPE steadywatch_alerts_received_total counter
steadywatch_alerts_received_total{alertname="SLOBurn",service="",severity="page",status="firing"} 1
# HELP steadywatch_webhook_requests_total Requests to the Alertmanager webhook receiver, by HTTP status code.
# TYPE steadywatch_webhook_requests_total counter
steadywatch_webhook_requests_total{code="200"} 1
`), "steadywatch_alerts_received_total", "steadywatch_webhook_requests_total"))
	require.Equal(t, uint64(1), histogramCount(t, f.reg, "steadywatch_webhook_request_duration_seconds"))

	problems, err := testutil.GatherAndLint(f.reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func histogramCount(t *testing.T, reg prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			require.Len(t, mf.GetMetric(), 1)
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func TestAResolvedAlertKeepsItsEndAndBothTimesAreUTC(t *testing.T) {
	f := newFixture(t, receiver.Options{})

	w := f.post([]byte(`{"version":"4","receiver":"r","groupKey":"g","status":"resolved","alerts":[
		{"status":"resolved","labels":{"alertname":"A"},"startsAt":"2026-11-21T16:35:57+01:00","endsAt":"2026-11-21T17:00:00+01:00","fingerprint":"f1"}]}`))

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := f.sink.saved()[0][0]
	require.Equal(t, alert.Resolved, got.Status)
	require.Equal(t, time.Date(2026, 11, 21, 15, 35, 57, 0, time.UTC), got.StartsAt)
	require.Equal(t, time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC), got.EndsAt)
	require.Equal(t, time.UTC, got.StartsAt.Location())
}

// Alertmanager may add fields in later versions without changing the
// protocol version; they must not make it lose notifications.
func TestUnknownFieldsAreAccepted(t *testing.T) {
	f := newFixture(t, receiver.Options{})

	w := f.post([]byte(`{"version":"4","future":{"x":[1,2]},"alerts":[
		{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"f1","silencedBy":["s"],"nested":{"a":{"b":null}}}]}`))

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Len(t, f.sink.saved(), 1)
	require.Equal(t, "f1", f.sink.saved()[0][0].Fingerprint)
}

func TestANotificationWithoutAlertsIsAcknowledgedWithoutStoringAnything(t *testing.T) {
	f := newFixture(t, receiver.Options{})

	w := f.post([]byte(`{"version":"4","alerts":[]}`))

	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "no alerts\n", w.Body.String())
	require.Empty(t, f.sink.saved())
}

func TestAFailingSinkGets503AndNothingIsCounted(t *testing.T) {
	f := newFixture(t, receiver.Options{})
	f.sink.err = errors.New("database is locked")

	w := f.post(realBody(t))

	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Equal(t, "alerts not stored, retry later: database is locked\n", w.Body.String())
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_webhook_requests_total Requests to the Alertmanager webhook receiver, by HTTP status code.
# TYPE steadywatch_webhook_requests_total counter
steadywatch_webhook_requests_total{code="503"} 1
`), "steadywatch_alerts_received_total", "steadywatch_webhook_requests_total"))
}

// The store deduplicates on fingerprint and startsAt; the receiver only has
// to hand a retried notification over the same way.
func TestARetriedNotificationIsPassedOnAgainUnchanged(t *testing.T) {
	f := newFixture(t, receiver.Options{})

	first := f.post(realBody(t))
	second := f.post(realBody(t))

	require.Equal(t, http.StatusOK, first.Code)
	require.Equal(t, http.StatusOK, second.Code)
	calls := f.sink.saved()
	require.Len(t, calls, 2)
	require.Equal(t, calls[0], calls[1])
}

func TestAlertsAreCountedBySanitisedNameServiceAndSeverity(t *testing.T) {
	f := newFixture(t, receiver.Options{MaxAlertNames: 2})

	w := f.post([]byte(`{"version":"4","alerts":[
		{"status":"firing","labels":{"alertname":"A","service":"shop","app":"ignored","severity":"page"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"1"},
		{"status":"resolved","labels":{"alertname":"A","app_kubernetes_io_name":"cart"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"2"},
		{"status":"firing","labels":{"alertname":"Disk full! ⚠","app":"` + strings.Repeat("x", 70) + `","severity":"warn\"ing"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"3"},
		{"status":"firing","labels":{"alertname":"C"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"4"},
		{"status":"firing","labels":{"alertname":"D"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"5"}]}`))

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_alerts_received_total Alerts received from Alertmanager's webhook and stored, by name, service, severity and status; an alert notified again is counted again.
# TYPE steadywatch_alerts_received_total counter
steadywatch_alerts_received_total{alertname="A",service="cart",severity="",status="resolved"} 1
steadywatch_alerts_received_total{alertname="A",service="shop",severity="page",status="firing"} 1
steadywatch_alerts_received_total{alertname="Disk_full___",service="`+strings.Repeat("x", 63)+`",severity="warn_ing",status="firing"} 1
steadywatch_alerts_received_total{alertname="other",service="",severity="",status="firing"} 2
`), "steadywatch_alerts_received_total"))
}

func TestServiceAndSeverityLabelsAreConfigurable(t *testing.T) {
	f := newFixture(t, receiver.Options{ServiceLabels: []string{"team"}, SeverityLabel: "priority"})

	w := f.post([]byte(`{"version":"4","alerts":[
		{"status":"firing","labels":{"alertname":"A","service":"ignored","team":"payments","priority":"P1"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"1"}]}`))

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_alerts_received_total Alerts received from Alertmanager's webhook and stored, by name, service, severity and status; an alert notified again is counted again.
# TYPE steadywatch_alerts_received_total counter
steadywatch_alerts_received_total{alertname="A",service="payments",severity="P1",status="firing"} 1
`), "steadywatch_alerts_received_total"))
}

func TestNewRejectsOptionsItCannotWorkWith(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    receiver.Options
		want string
	}{
		{"a receiver without a sink", receiver.Options{}, "receiver: no Sink"},
		{"a negative body limit", receiver.Options{Sink: &fakeSink{}, MaxBodyBytes: -1}, "receiver: MaxBodyBytes -1 is negative"},
		{"a negative alert name limit", receiver.Options{Sink: &fakeSink{}, MaxAlertNames: -1}, "receiver: MaxAlertNames -1 is negative"},
		{"a negative label value limit", receiver.Options{Sink: &fakeSink{}, MaxLabelValues: -1}, "receiver: MaxLabelValues -1 is negative"},
		{"a negative in-flight limit", receiver.Options{Sink: &fakeSink{}, MaxInFlightBytes: -1}, "receiver: MaxInFlightBytes -1 is negative"},
		{
			"an in-flight limit below the body limit",
			receiver.Options{Sink: &fakeSink{}, MaxBodyBytes: 2048, MaxInFlightBytes: 1024},
			"receiver: MaxInFlightBytes 1024 is below MaxBodyBytes 2048: a body of the largest size could never be read",
		},
		{"an empty service label", receiver.Options{Sink: &fakeSink{}, ServiceLabels: []string{"service", ""}}, "receiver: ServiceLabels[1] is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := receiver.New(tc.o)
			require.EqualError(t, err, tc.want)
		})
	}
}
