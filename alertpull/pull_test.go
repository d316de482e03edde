package alertpull_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/alertpull"
)

// memSink is a Sink that keeps alerts as the store does: one per
// fingerprint and startsAt, updated by later saves.
type memSink struct {
	mu      sync.Mutex
	err     error // returned by SaveAlerts when set
	batches [][]alert.Alert
	rows    map[string]alert.Alert
	order   []string
}

func (s *memSink) SaveAlerts(_ context.Context, alerts []alert.Alert) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	s.batches = append(s.batches, slices.Clone(alerts))
	if s.rows == nil {
		s.rows = map[string]alert.Alert{}
	}
	inserted := 0
	for _, a := range alerts {
		k := a.Fingerprint + "@" + a.StartsAt.String()
		if prev, ok := s.rows[k]; ok {
			a.ReceivedAt = prev.ReceivedAt
		} else {
			inserted++
			s.order = append(s.order, k)
		}
		s.rows[k] = a
	}
	return inserted, nil
}

// alerts returns the kept alerts in the order first saved.
func (s *memSink) alerts() []alert.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]alert.Alert, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.rows[k])
	}
	return out
}

func (s *memSink) saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// gettable is one alert of an API answer, as JSON.
func gettable(fingerprint, name, state string, startsAt, endsAt time.Time) string {
	return fmt.Sprintf(`{"fingerprint":%q,"labels":{"alertname":%q},"annotations":{"summary":"about %s"},
		"startsAt":%q,"endsAt":%q,"updatedAt":%q,"generatorURL":"http://prometheus/graph",
		"receivers":[{"name":"null"}],"status":{"state":%q,"silencedBy":[],"inhibitedBy":[]}}`,
		fingerprint, name, name, startsAt.Format(time.RFC3339Nano), endsAt.Format(time.RFC3339Nano),
		startsAt.Format(time.RFC3339Nano), state)
}

func list(alerts ...string) string { return "[" + strings.Join(alerts, ",") + "]" }

// pullExposition is steadywatch_alertmanager_pull_alerts by state and
// steadywatch_alertmanager_pulls_total by result, as exposed.
func pullExposition(active, suppressed, unprocessed, failures, successes int) string {
	return fmt.Sprintf(`
# HELP steadywatch_alertmanager_pull_alerts Alerts Alertmanager listed at the last successful pull, by state (active, suppressed: silenced or inhibited, unprocessed).
# TYPE steadywatch_alertmanager_pull_alerts gauge
steadywatch_alertmanager_pull_alerts{state="active"} %d
steadywatch_alertmanager_pull_alerts{state="suppressed"} %d
steadywatch_alertmanager_pull_alerts{state="unprocessed"} %d
# HELP steadywatch_alertmanager_pulls_total Pulls of alerts from Alertmanager's v2 API, by result (success, error).
# TYPE steadywatch_alertmanager_pulls_total counter
steadywatch_alertmanager_pulls_total{result="error"} %d
steadywatch_alertmanager_pulls_total{result="success"} %d
`, active, suppressed, unprocessed, failures, successes)
}

// fakeAM answers GET /api/v2/alerts with the body its test sets.
type fakeAM struct {
	mu          sync.Mutex
	status      int
	contentType string
	body        string
	requests    []*http.Request
}

func (f *fakeAM) set(status int, contentType, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.contentType, f.body = status, contentType, body
}

func (f *fakeAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	if r.URL.Path != "/api/v2/alerts" && r.URL.Path != "/prefix/api/v2/alerts" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body)
}

func (f *fakeAM) lastRequest() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func startFake(t *testing.T) (*fakeAM, *httptest.Server) {
	t.Helper()
	fake := &fakeAM{status: http.StatusOK, contentType: "application/json", body: "[]"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv
}

func newPuller(t *testing.T, o alertpull.Options) *alertpull.Puller {
	t.Helper()
	p, err := alertpull.New(o)
	require.NoError(t, err)
	return p
}

// TestABadAnswerIsAClearError: an answer that is not a list of alerts
// fails the pull. One malformed alert in a list does not: see
// TestOneBadAlertDoesNotBlockThePull.
func TestABadAnswerIsAClearError(t *testing.T) {
	fake, srv := startFake(t)
	sink := &memSink{}
	p := newPuller(t, alertpull.Options{URL: srv.URL, Sink: sink})
	get := "GET " + srv.URL + "/api/v2/alerts answered "
	ok := gettable("f1", "A", "active", at(0), at(300))
	tests := []struct {
		name              string
		status            int
		contentType, body string
		want              string
	}{
		{
			"garbage instead of JSON", 200, "application/json", "<html>oops",
			get + "200 OK (application/json), whose body is not a list of alerts: invalid character '<' looking for beginning of value",
		},
		{
			"a web page instead of JSON", 200, "text/html; charset=utf-8", "<html>Sign in",
			get + "200 OK (text/html; charset=utf-8), not the JSON list of alerts Alertmanager gives: is the URL Alertmanager's?",
		},
		{
			"a JSON object instead of a list", 200, "application/json", `{"alerts":[]}`,
			get + "200 OK (application/json), whose body is not a list of alerts: json: cannot unmarshal object into Go value of type models.GettableAlerts",
		},
		{
			"a JSON null instead of a list", 200, "application/json", `null`,
			get + "200 OK (application/json): no list of alerts in the answer",
		},
		{
			"Alertmanager's own 500", 500, "application/json", `"failed to get alerts"`,
			get + "500 Internal Server Error (application/json): failed to get alerts",
		},
		{
			"a proxy's 502 page", 502, "text/html", "<h1>Bad Gateway</h1>",
			get + "502 Bad Gateway (text/html)",
		},
		{
			"a 500 whose body does not decode", 500, "application/json", "{",
			get + "500 Internal Server Error (application/json): unexpected EOF",
		},
		{
			"Alertmanager's own 400", 400, "application/json", `"bad matcher"`,
			get + "400 Bad Request (application/json): bad matcher",
		},
		{
			"a 401", 401, "text/plain", "Unauthorized",
			get + "401 Unauthorized (text/plain)",
		},
		{
			"a bad time", 200, "application/json", list(strings.Replace(ok, "2026-03-01T12:00:00Z", "yesterday", 1)),
			get + "200 OK (application/json), whose body is not a list of alerts: parsing time \"yesterday\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.set(tt.status, tt.contentType, tt.body)
			n, err := p.PullOnce(t.Context())
			require.ErrorContains(t, err, "pulling alerts from "+srv.URL+": ")
			require.ErrorContains(t, err, tt.want)
			require.Zero(t, n)
			require.Zero(t, sink.saves(), "nothing of a bad answer is saved")
		})
	}
}

func TestAnUnansweredPullTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handler
	p := newPuller(t, alertpull.Options{URL: srv.URL, Sink: &memSink{}, Timeout: 50 * time.Millisecond})
	_, err := p.PullOnce(t.Context())
	require.ErrorContains(t, err, "pulling alerts from "+srv.URL+": no answer within 50ms: ")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestPullSavesNewChangedAndVanishedAlerts(t *testing.T) {
	fake, srv := startFake(t)
	sink := &memSink{}
	now := at(100)
	reg := prometheus.NewPedanticRegistry()
	p := newPuller(t, alertpull.Options{URL: srv.URL, Sink: sink, Now: func() time.Time { return now }, Registerer: reg})
	want := func(fingerprint, name string, startsAt, receivedAt time.Time) alert.Alert {
		return alert.Alert{
			Fingerprint: fingerprint, Status: alert.Firing,
			Labels:       map[string]string{"alertname": name},
			Annotations:  map[string]string{"summary": "about " + name},
			StartsAt:     startsAt,
			GeneratorURL: "http://prometheus/graph",
			ReceivedAt:   receivedAt,
			Source:       alertpull.Source,
		}
	}
	resolved := func(a alert.Alert, endsAt time.Time) alert.Alert {
		a.Status, a.EndsAt = alert.Resolved, endsAt
		return a
	}
	ctx := t.Context()

	fake.set(200, "application/json", list(
		gettable("a", "Active", "active", at(0), at(400)),
		gettable("s", "Silenced", "suppressed", at(10), at(400)),
		gettable("u", "New", "unprocessed", at(20), at(150)),
	))
	n, err := p.PullOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "every alert is new")
	activeA, silencedS, newU := want("a", "Active", at(0), at(100)), want("s", "Silenced", at(10), at(100)), want("u", "New", at(20), at(100))
	require.Equal(t, []alert.Alert{activeA, silencedS, newU}, sink.alerts())
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(pullExposition(1, 1, 1, 0, 1)+`# HELP steadywatch_alertmanager_last_successful_pull_timestamp_seconds When the last successful pull of alerts from Alertmanager ended, in seconds since the epoch.
# TYPE steadywatch_alertmanager_last_successful_pull_timestamp_seconds gauge
steadywatch_alertmanager_last_successful_pull_timestamp_seconds 1.7723665e+09
`), "steadywatch_alertmanager_pull_alerts", "steadywatch_alertmanager_pulls_total",
		"steadywatch_alertmanager_last_successful_pull_timestamp_seconds"))

	t.Run("an unchanged answer saves nothing", func(t *testing.T) {
		now = at(130)
		saves := sink.saves()
		n, err := p.PullOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, saves, sink.saves())
	})

	t.Run("a changed alert is saved again, an alert that left is resolved", func(t *testing.T) {
		// "u" left after its endsAt (150) passed: Alertmanager resolved it
		// then. "s" left with an endsAt still ahead: resolved by its
		// sender, some time after the last pull that listed it (130).
		now = at(160)
		changed := strings.Replace(gettable("a", "Active", "active", at(0), at(460)), "about Active", "worse", 1)
		fake.set(200, "application/json", list(changed))
		n, err := p.PullOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "nothing is new")
		worse := activeA
		worse.Annotations = map[string]string{"summary": "worse"}
		require.Equal(t, []alert.Alert{worse, resolved(silencedS, at(130)), resolved(newU, at(150))}, sink.alerts())
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP steadywatch_alertmanager_pull_resolved_alerts_total Alerts saved as resolved because Alertmanager's API no longer listed them.
# TYPE steadywatch_alertmanager_pull_resolved_alerts_total counter
steadywatch_alertmanager_pull_resolved_alerts_total 2
`), "steadywatch_alertmanager_pull_resolved_alerts_total"))
	})

	t.Run("a resolved alert is saved resolved once", func(t *testing.T) {
		now = at(190)
		saves := sink.saves()
		_, err := p.PullOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, saves, sink.saves())
	})

	t.Run("a failed save is tried again at the next pull", func(t *testing.T) {
		now = at(220)
		fake.set(200, "application/json", list())
		sink.err = errors.New("database is locked")
		_, err := p.PullOnce(ctx)
		require.EqualError(t, err, "saving 1 alerts pulled from "+srv.URL+": database is locked")
		sink.err = nil
		now = at(250)
		_, err = p.PullOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, resolved(worse(activeA), at(190)), sink.alerts()[0],
			"resolved as last seen by a successful pull")
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(pullExposition(0, 0, 0, 1, 5)),
			"steadywatch_alertmanager_pulls_total", "steadywatch_alertmanager_pull_alerts"))
	})
}

func worse(a alert.Alert) alert.Alert {
	a.Annotations = map[string]string{"summary": "worse"}
	return a
}

func TestPullSendsTheOptionsToAlertmanager(t *testing.T) {
	fake, srv := startFake(t)
	tests := []struct {
		name  string
		o     alertpull.Options
		check func(t *testing.T, r *http.Request)
	}{
		{"a bearer token", alertpull.Options{BearerToken: "t0ken"}, func(t *testing.T, r *http.Request) {
			require.Equal(t, "Bearer t0ken", r.Header.Get("Authorization"))
		}},
		{"basic auth", alertpull.Options{BasicAuth: &alertpull.BasicAuth{Username: "sw", Password: "pw"}}, func(t *testing.T, r *http.Request) {
			user, password, ok := r.BasicAuth()
			require.True(t, ok)
			require.Equal(t, "sw", user)
			require.Equal(t, "pw", password)
		}},
		{"no credentials", alertpull.Options{}, func(t *testing.T, r *http.Request) {
			require.Empty(t, r.Header.Get("Authorization"))
		}},
		{
			"filters and a receiver",
			alertpull.Options{Filter: []string{`alertname="A"`, `team=~"x|y"`}, Receiver: "steady.*"},
			func(t *testing.T, r *http.Request) {
				require.Equal(t, []string{`alertname="A"`, `team=~"x|y"`}, r.URL.Query()["filter"])
				require.Equal(t, "steady.*", r.URL.Query().Get("receiver"))
			},
		},
		{"a route prefix", alertpull.Options{URL: srv.URL + "/prefix/"}, func(t *testing.T, r *http.Request) {
			require.Equal(t, "/prefix/api/v2/alerts", r.URL.Path)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.URL = cmpOr(tt.o.URL, srv.URL)
			tt.o.Sink = &memSink{}
			_, err := newPuller(t, tt.o).PullOnce(t.Context())
			require.NoError(t, err)
			tt.check(t, fake.lastRequest())
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestOptionsAreValidated(t *testing.T) {
	sink := &memSink{}
	tests := []struct {
		name string
		o    alertpull.Options
		want string
	}{
		{
			"a missing URL",
			alertpull.Options{Sink: sink},
			"URL: missing: want Alertmanager's base URL, e.g. http://alertmanager:9093",
		},
		{
			"a URL without scheme",
			alertpull.Options{URL: "alertmanager:9093", Sink: sink},
			`URL: "alertmanager:9093": want an http:// or https:// URL`,
		},
		{
			"a URL without host",
			alertpull.Options{URL: "http:///api", Sink: sink},
			`URL: "http:///api" has no host`,
		},
		{
			"a URL with credentials",
			alertpull.Options{URL: "http://me:secret@am:9093", Sink: sink},
			`URL: "http://me:xxxxx@am:9093" holds credentials: set BasicAuth instead`,
		},
		{
			"a URL with a query",
			alertpull.Options{URL: "http://am:9093/?x=1", Sink: sink},
			`URL: "http://am:9093/?x=1": want a base URL, without query or fragment`,
		},
		{
			"an unparsable URL",
			alertpull.Options{URL: "http://am:port", Sink: sink},
			`URL: parse "http://am:port": invalid port ":port" after host`,
		},
		{
			"a missing sink",
			alertpull.Options{URL: "http://am:9093"},
			"Sink: missing",
		},
		{
			"a negative interval",
			alertpull.Options{URL: "http://am:9093", Sink: sink, Interval: -time.Second},
			"Interval: must not be negative, got -1s",
		},
		{
			"a negative timeout",
			alertpull.Options{URL: "http://am:9093", Sink: sink, Timeout: -time.Second},
			"Timeout: must not be negative, got -1s",
		},
		{
			"both kinds of credentials",
			alertpull.Options{URL: "http://am:9093", Sink: sink, BearerToken: "t", BasicAuth: &alertpull.BasicAuth{Username: "u"}},
			"BearerToken and BasicAuth: set one, not both",
		},
		{
			"basic auth without a user",
			alertpull.Options{URL: "http://am:9093", Sink: sink, BasicAuth: &alertpull.BasicAuth{Password: "p"}},
			"BasicAuth.Username: missing",
		},
		{
			"a bad filter",
			alertpull.Options{URL: "http://am:9093", Sink: sink, Filter: []string{`a="b"`, `c=~"("`}},
			`Filter[1]: "c=~\"(\"": error parsing regexp: missing closing ): ` + "`^(?:()$`",
		},
		{
			"a bad receiver regexp",
			alertpull.Options{URL: "http://am:9093", Sink: sink, Receiver: "a["},
			"Receiver: error parsing regexp: missing closing ]: `[)$`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := alertpull.New(tt.o)
			require.EqualError(t, err, tt.want)
		})
	}
}

// roundTripFunc is an in-memory transport: no sockets, so Run can be
// tested in a synctest bubble.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRunPullsEveryIntervalAndBacksOffAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var (
			mu    sync.Mutex
			pulls []time.Duration // since start
			fail  = map[int]bool{2: true, 3: true, 4: true}
		)
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			pulls = append(pulls, time.Since(start))
			if fail[len(pulls)] {
				return nil, errors.New("connection refused")
			}
			return &http.Response{
				StatusCode: http.StatusOK,
				Header:     http.Header{"Content-Type": []string{"application/json"}},
				Body:       io.NopCloser(strings.NewReader("[]")),
				Request:    r,
			}, nil
		})
		p := newPuller(t, alertpull.Options{
			URL: "http://am:9093", Sink: &memSink{}, Interval: time.Minute,
			HTTPClient: &http.Client{Transport: transport},
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()

		time.Sleep(20*time.Minute + 30*time.Second) // the bubble's fake clock
		synctest.Wait()
		cancel()
		require.NoError(t, <-done, "Run ends without error when its context does")

		mu.Lock()
		defer mu.Unlock()
		m := time.Minute
		require.Equal(t, []time.Duration{
			0,      // at once
			m,      // fails
			3 * m,  // 2 min later; fails
			7 * m,  // 4 min later; fails
			12 * m, // 5 min later (MaxBackoff); succeeds
			13 * m, 14 * m, 15 * m, 16 * m, 17 * m, 18 * m, 19 * m, 20 * m,
		}, pulls)
	})
}
