package web_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/web"
)

func TestAFloodOfUnauthenticatedRequestsIsCountedAndLogsAFewLines(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	auth, err := web.NewAuth(web.AuthOptions{
		BearerTokens: []string{strings.Repeat("t", 32)},
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		Registerer:   reg,
	})
	require.NoError(t, err)
	now := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	web.SetAuthClock(auth, func() time.Time { return now })
	h := auth.WrapNamed("webhook", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("an unauthenticated request got through")
	}))

	unauthenticated := func(n int) {
		for i := range n {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/hook", nil)
			if i%2 == 1 {
				req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", 32))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, http.StatusUnauthorized, w.Code)
		}
	}
	unauthenticated(1000)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(unauthorizedMetric("webhook", 1000)), "steadywatch_http_unauthorized_total"))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2, "one line for each problem:\n%s", logs.String())
	require.Contains(t, logs.String(), `problem="no credentials"`)
	require.Contains(t, logs.String(), `problem="invalid bearer token"`)

	// 10 s later, the next line of each problem says how many were not
	// logged.
	now = now.Add(10 * time.Second)
	unauthenticated(2)
	lines = strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 4, logs.String())
	require.Contains(t, lines[2], `suppressed=499`)
	require.Contains(t, lines[3], `suppressed=499`)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(unauthorizedMetric("webhook", 1002)), "steadywatch_http_unauthorized_total"))

	// The interval's bound from both sides: a nanosecond short of it logs
	// nothing, at it each problem logs again.
	last := now
	now = last.Add(web.UnauthorizedLogInterval - time.Nanosecond)
	unauthenticated(2)
	lines = strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 4, logs.String())
	now = last.Add(web.UnauthorizedLogInterval)
	unauthenticated(2)
	lines = strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 6, logs.String())
	require.Contains(t, lines[4], `suppressed=1`)
	require.Contains(t, lines[5], `suppressed=1`)
}

func unauthorizedMetric(handler string, n int) string {
	return `# HELP steadywatch_http_unauthorized_total Requests answered 401 for want of valid credentials, by handler (webhook, or the route's path); the log says only the first of each problem every 10s.
# TYPE steadywatch_http_unauthorized_total counter
steadywatch_http_unauthorized_total{handler="` + handler + `"} ` + strconv.Itoa(n) + "\n"
}

func TestAServerCountsTheUnauthenticatedRequestsOfEachRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg, err := web.LoadConfig("", writeFile(t, filepath.Join(t.TempDir(), "tokens.yml"), "bearer_tokens: ["+token+"]\n"))
	require.NoError(t, err)
	srv := start(t, web.Options{Config: cfg, Registerer: reg}, web.Routes{
		Metrics:  web.MetricsHandler(reg),
		Handlers: []web.Route{{Pattern: "GET /api/v1/things/{name}", Handler: text("thing")}},
	})
	for range 3 {
		code, _ := fetch(t, srv, http.MethodGet, "/api/v1/things/a", nil)
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, _ := fetch(t, srv, http.MethodGet, "/nowhere", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = fetch(t, srv, http.MethodGet, web.MetricsPath, nil)
	require.Equal(t, http.StatusUnauthorized, code)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`# HELP steadywatch_http_unauthorized_total Requests answered 401 for want of valid credentials, by handler (webhook, or the route's path); the log says only the first of each problem every 10s.
# TYPE steadywatch_http_unauthorized_total counter
steadywatch_http_unauthorized_total{handler="/api/v1/things/{name}"} 3
steadywatch_http_unauthorized_total{handler="/metrics"} 1
steadywatch_http_unauthorized_total{handler="other"} 1
`), "steadywatch_http_unauthorized_total"))
}
