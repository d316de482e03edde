package abort_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	promconfig "github.com/prometheus/common/config"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict"
)

// newClient is the client of Prometheus's own HTTP client configuration,
// as serve builds it from verdicts.abort_alertmanager_http_client.
func newClient(t *testing.T, cfg string) *http.Client {
	t.Helper()
	hc, err := promconfig.LoadHTTPConfig(cfg)
	require.NoError(t, err)
	client, err := promconfig.NewClientFromConfig(*hc, "steadywatch")
	require.NoError(t, err)
	return client
}

// TestTheAbortAlertReachesAnAlertmanagerBehindBasicAuthAndTLS posts to a
// real Alertmanager 0.25 whose web configuration serves TLS and requires
// basic auth: the alert arrives with the right HTTP client configuration,
// and a wrong password or a missing CA fails, saying why.
func TestTheAbortAlertReachesAnAlertmanagerBehindBasicAuthAndTLS(t *testing.T) {
	sw := promtest.NewSecureWeb(t)
	am := promtest.StartAlertmanager(t, sw.Alertmanager(promtest.AlertmanagerOptions{}))
	dir := t.TempDir()
	right := filepath.Join(dir, "right")
	wrong := filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(right, []byte(sw.Password+"\n"), 0o600))
	require.NoError(t, os.WriteFile(wrong, []byte(sw.Password+"x\n"), 0o600))
	v := verdict.Verdict{Hypothesis: "kill-postgres", Result: verdict.Fail, Abort: true, AbortReasons: []string{"too slow"}}
	post := func(t *testing.T, cfg string) error {
		p, err := abort.New(abort.Options{URL: am.URL(), HTTPClient: newClient(t, cfg)})
		require.NoError(t, err)
		return p.Post(t.Context(), v, time.Now(), time.Minute)
	}

	t.Run("a wrong password is refused", func(t *testing.T) {
		err := post(t, fmt.Sprintf("basic_auth: {username: %s, password_file: %s}\ntls_config: {ca_file: %s}\n", sw.Username, wrong, sw.CAFile))
		require.EqualError(t, err, "abort: Alertmanager at "+am.URL()+" answered 401 Unauthorized: "+
			"its HTTP client configuration has no credentials, or wrong ones")
	})
	t.Run("no credentials are refused", func(t *testing.T) {
		err := post(t, fmt.Sprintf("tls_config: {ca_file: %s}\n", sw.CAFile))
		require.ErrorContains(t, err, "answered 401 Unauthorized")
	})
	t.Run("without the CA the certificate is not trusted", func(t *testing.T) {
		err := post(t, fmt.Sprintf("basic_auth: {username: %s, password_file: %s}\n", sw.Username, right))
		require.ErrorContains(t, err, "x509: certificate signed by unknown authority")
	})
	got, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
	require.NoError(t, err)
	require.Empty(t, got.Payload, "nothing got through")

	t.Run("with the credentials and the CA it posts", func(t *testing.T) {
		err := post(t, fmt.Sprintf("basic_auth: {username: %s, password_file: %s}\ntls_config: {ca_file: %s}\n", sw.Username, right, sw.CAFile))
		require.NoError(t, err)
		got, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
		require.NoError(t, err)
		require.Len(t, got.Payload, 1)
		require.Equal(t, "kill-postgres", got.Payload[0].Labels[abort.HypothesisLabel])
	})
}

func TestAClientsOwnTimeoutBoundsAPost(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select { // an Alertmanager that does not answer before the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	client := newClient(t, "follow_redirects: true\n")
	client.Timeout = 100 * time.Millisecond
	p, err := abort.New(abort.Options{URL: srv.URL, HTTPClient: client})
	require.NoError(t, err)
	start := time.Now()
	err = p.Post(t.Context(), verdict.Verdict{Hypothesis: "h"}, time.Now(), time.Minute)
	require.ErrorContains(t, err, "Client.Timeout exceeded")
	require.Less(t, time.Since(start), abort.DefaultTimeout, "its own, not the default")
}
