package promsource_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// securedSeries is the gauge the secured Prometheus holds: value i at
// securedStart + i minutes, for i in [0, 5).
const securedSeries = "secured_value"

var securedStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func securedOpenMetrics() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE %s gauge\n", securedSeries)
	for i := range 5 {
		fmt.Fprintf(&b, "%s %d %d\n", securedSeries, i, securedStart.Add(time.Duration(i)*time.Minute).Unix())
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// newClient is the client of Prometheus's own HTTP client configuration,
// as serve builds it from verdicts.prometheus_http_client.
func newClient(t *testing.T, cfg string) *http.Client {
	t.Helper()
	hc, err := promconfig.LoadHTTPConfig(cfg)
	require.NoError(t, err)
	client, err := promconfig.NewClientFromConfig(*hc, "steadywatch")
	require.NoError(t, err)
	return client
}

// TestTheSourceQueriesAPrometheusBehindBasicAuthAndTLS runs range queries
// against a real Prometheus 2.42 whose exporter-toolkit web configuration
// serves TLS and requires basic auth: they pass with the right HTTP client
// configuration and fail, saying why, with a wrong password, no
// credentials, or without the CA.
func TestTheSourceQueriesAPrometheusBehindBasicAuthAndTLS(t *testing.T) {
	sw := promtest.NewSecureWeb(t)
	p := promtest.StartPrometheus(t, sw.Prometheus(promtest.PrometheusOptions{Config: "global: {}\n", OpenMetrics: securedOpenMetrics()}))
	require.True(t, strings.HasPrefix(p.URL(), "https://"), p.URL())
	dir := t.TempDir()
	right := filepath.Join(dir, "right")
	wrong := filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(right, []byte(sw.Password+"\n"), 0o600))
	require.NoError(t, os.WriteFile(wrong, []byte(sw.Password+"x\n"), 0o600))

	query := func(t *testing.T, client *http.Client) (verdict.Answer, error) {
		s, err := promsource.New(promsource.Options{URL: p.URL(), HTTPClient: client, Retries: -1})
		require.NoError(t, err)
		return s.Samples(t.Context(), verdict.RangeQuery{
			Expr: securedSeries, Start: securedStart, End: securedStart.Add(4 * time.Minute), Step: time.Minute,
		})
	}

	t.Run("with the credentials and the CA it queries", func(t *testing.T) {
		a, err := query(t, newClient(t, fmt.Sprintf("basic_auth: {username: %s, password_file: %s}\ntls_config: {ca_file: %s}\n",
			sw.Username, right, sw.CAFile)))
		require.NoError(t, err)
		require.Len(t, a.Series, 1)
		var want, got []verdict.Point
		for i := range 5 {
			want = append(want, verdict.Point{T: securedStart.Add(time.Duration(i) * time.Minute), V: float64(i)})
		}
		for _, p := range a.Series[0].Points {
			got = append(got, verdict.Point{T: p.T.UTC(), V: p.V})
		}
		require.Equal(t, want, got, "the samples the fixture wrote")
	})
	t.Run("with a wrong password it is refused", func(t *testing.T) {
		_, err := query(t, newClient(t, fmt.Sprintf("basic_auth: {username: %s, password_file: %s}\ntls_config: {ca_file: %s}\n",
			sw.Username, wrong, sw.CAFile)))
		require.EqualError(t, err, "query failed: prometheus answered 401 Unauthorized: its HTTP client configuration "+
			"has no credentials, or wrong ones: client_error: client error: 401")
	})
	t.Run("without credentials it is refused", func(t *testing.T) {
		_, err := query(t, newClient(t, fmt.Sprintf("tls_config: {ca_file: %s}\n", sw.CAFile)))
		require.ErrorContains(t, err, "prometheus answered 401 Unauthorized")
	})
	t.Run("without the CA the certificate is not trusted", func(t *testing.T) {
		_, err := query(t, newClient(t, fmt.Sprintf("basic_auth: {username: %s, password_file: %s}\n", sw.Username, right)))
		require.ErrorContains(t, err, "x509: certificate signed by unknown authority")
	})
	t.Run("the intervals are learnt through the same client", func(t *testing.T) {
		client := newClient(t, fmt.Sprintf("basic_auth: {username: %s, password_file: %s}\ntls_config: {ca_file: %s}\n",
			sw.Username, right, sw.CAFile))
		_, err := promsource.Intervals(t.Context(), promsource.Options{URL: p.URL(), HTTPClient: client})
		require.NoError(t, err)
		_, err = promsource.Intervals(t.Context(), promsource.Options{URL: p.URL()})
		require.ErrorContains(t, err, "x509: certificate signed by unknown authority", "not without it")
	})
}

func TestTheSourceSendsTheClientsHeaders(t *testing.T) {
	tenants := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenants <- r.Header.Get("X-Scope-OrgID")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	}))
	defer srv.Close()
	s, err := promsource.New(promsource.Options{
		URL: srv.URL, HTTPClient: newClient(t, "http_headers:\n  X-Scope-OrgID: {values: [chaos-lab]}\n"), Retries: -1,
	})
	require.NoError(t, err)
	_, err = s.Samples(t.Context(), verdict.RangeQuery{Expr: "up", Start: securedStart, End: securedStart, Step: time.Minute})
	require.NoError(t, err)
	require.Equal(t, "chaos-lab", <-tenants, "the Mimir tenant reaches the server")
}

func TestARefusedQuerySaysTheCredentialsAreWrongAndIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		code int
		want string
	}{
		{http.StatusUnauthorized, "query failed: prometheus answered 401 Unauthorized: its HTTP client configuration has no credentials, or wrong ones: client_error: client error: 401"},
		{http.StatusForbidden, "query failed: prometheus answered 403 Forbidden: its HTTP client configuration has no credentials, or wrong ones: client_error: client error: 403"},
		{http.StatusNotFound, "query failed: client_error: client error: 404"},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			// The Prometheus client POSTs a query, and asks again by GET
			// after a 403 (some proxies forbid POST): each attempt is one
			// POST.
			var posts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					posts.Add(1)
				}
				http.Error(w, http.StatusText(tc.code), tc.code)
			}))
			defer srv.Close()
			s, err := promsource.New(promsource.Options{URL: srv.URL, Retries: 3, RetryBackoff: time.Millisecond})
			require.NoError(t, err)
			_, err = s.Samples(t.Context(), verdict.RangeQuery{Expr: "up", Start: securedStart, End: securedStart, Step: time.Minute})
			require.EqualError(t, err, tc.want)
			require.Equal(t, int32(1), posts.Load(), "tried once: a retry would be refused again")
		})
	}
}
