package alertpull_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alertpull"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
)

// TestPullFromAnAlertmanagerBehindBasicAuthAndTLS pulls from a real
// Alertmanager 0.25 whose web configuration serves TLS and requires basic
// auth, with the client alerts.pull configures as serve builds it: the
// http_client section and the older fields both reach it; a wrong password
// or a missing CA fails, saying why.
func TestPullFromAnAlertmanagerBehindBasicAuthAndTLS(t *testing.T) {
	sw := promtest.NewSecureWeb(t)
	am := promtest.StartAlertmanager(t, sw.Alertmanager(promtest.AlertmanagerOptions{}))
	post(t, am.Client(), postable(map[string]string{"alertname": "Behind", "service": "auth"}, time.Now().Add(-time.Minute), time.Time{}))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "right"), []byte(sw.Password+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wrong"), []byte(sw.Password+"x\n"), 0o600))
	path := filepath.Join(dir, "steadywatch.yml")

	pull := func(t *testing.T, pullConfig string) (int, error) {
		require.NoError(t, os.WriteFile(path, []byte("alerts:\n  pull:\n    alertmanager_url: "+am.URL()+"\n"+pullConfig), 0o600))
		cfg, err := config.Load(path)
		require.NoError(t, err)
		client, err := promconfig.NewClientFromConfig(cfg.Alerts.Pull.ClientConfig(), "steadywatch")
		require.NoError(t, err)
		return newPuller(t, alertpull.Options{URL: am.URL(), Sink: &memSink{}, HTTPClient: client}).PullOnce(t.Context())
	}

	t.Run("with http_client it pulls", func(t *testing.T) {
		n, err := pull(t, fmt.Sprintf("    http_client:\n      basic_auth: {username: %s, password_file: right}\n      tls_config: {ca_file: %s}\n",
			sw.Username, sw.CAFile))
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
	t.Run("with the older fields it pulls", func(t *testing.T) {
		n, err := pull(t, fmt.Sprintf("    basic_auth: {username: %s, password_file: %s}\n    tls: {ca_file: %s}\n",
			sw.Username, filepath.Join(dir, "right"), sw.CAFile))
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
	t.Run("a wrong password is refused", func(t *testing.T) {
		_, err := pull(t, fmt.Sprintf("    http_client:\n      basic_auth: {username: %s, password_file: wrong}\n      tls_config: {ca_file: %s}\n",
			sw.Username, sw.CAFile))
		require.EqualError(t, err, "pulling alerts from "+am.URL()+": GET "+am.URL()+
			"/api/v2/alerts answered 401 Unauthorized (text/plain; charset=utf-8)")
	})
	t.Run("without the CA the certificate is not trusted", func(t *testing.T) {
		_, err := pull(t, fmt.Sprintf("    http_client:\n      basic_auth: {username: %s, password_file: right}\n", sw.Username))
		require.ErrorContains(t, err, "x509: certificate signed by unknown authority")
	})
}
