package config

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	promconfig "github.com/prometheus/common/config"
	"github.com/stretchr/testify/require"
)

func TestAnHTTPClientSectionIsReadInPrometheusTerms(t *testing.T) {
	cfg, err := Parse([]byte(`alerts:
  pull:
    alertmanager_url: https://am:9093
    http_client:
      oauth2:
        client_id: steadywatch
        client_secret_file: /etc/sw/secret
        token_url: https://sso.example.com/token
      proxy_url: http://proxy:3128
      enable_http2: false
verdicts:
  abort_alertmanager_url: http://am:9093
  abort_alertmanager_http_client:
    bearer_token_file: /etc/sw/token
`), "steadywatch.yml")
	require.NoError(t, err)
	pull := cfg.Alerts.Pull.ClientConfig()
	require.Equal(t, &promconfig.OAuth2{ //nolint:gosec // file names, not credentials
		ClientID: "steadywatch", ClientSecretFile: "/etc/sw/secret", TokenURL: "https://sso.example.com/token",
	}, pull.OAuth2)
	require.Equal(t, "http://proxy:3128", pull.ProxyURL.String())
	require.False(t, pull.EnableHTTP2)
	require.True(t, pull.FollowRedirects, "a default kept")
	require.Equal(t, &promconfig.Authorization{Type: "Bearer", CredentialsFile: "/etc/sw/token"}, //nolint:gosec // a file name
		cfg.Verdicts.AbortAlertmanagerHTTPClient.Authorization, "the deprecated bearer_token_file, as Prometheus reads it")
	require.Nil(t, cfg.Verdicts.PrometheusHTTPClient)
	require.Equal(t, promconfig.DefaultHTTPClientConfig, cfg.Verdicts.PrometheusHTTPClient.Config(), "left out: Prometheus's defaults")
}

func TestTheOlderPullFieldsBecomeAnHTTPClientConfig(t *testing.T) {
	cfg, err := Parse([]byte(`alerts:
  pull:
    alertmanager_url: https://am:9093
    basic_auth: {username: sw, password_file: pw}
    tls: {ca_file: ca.crt, cert_file: c.crt, key_file: c.key, server_name: am.internal, insecure_skip_verify: true}
`), "steadywatch.yml")
	require.NoError(t, err)
	want := promconfig.DefaultHTTPClientConfig
	want.BasicAuth = &promconfig.BasicAuth{Username: "sw", PasswordFile: "pw"}
	want.TLSConfig = promconfig.TLSConfig{
		CAFile: "ca.crt", CertFile: "c.crt", KeyFile: "c.key", ServerName: "am.internal", InsecureSkipVerify: true,
	}
	require.Equal(t, want, cfg.Alerts.Pull.ClientConfig())

	cfg, err = Parse([]byte("alerts:\n  pull:\n    alertmanager_url: https://am:9093\n    bearer_token_file: token\n"), "steadywatch.yml")
	require.NoError(t, err)
	want = promconfig.DefaultHTTPClientConfig
	want.Authorization = &promconfig.Authorization{Type: "Bearer", CredentialsFile: "token"}
	require.Equal(t, want, cfg.Alerts.Pull.ClientConfig())
}

func TestLoadMakesTheHTTPClientsFilesRelativeToTheConfigurationsDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "steadywatch.yml")
	require.NoError(t, os.WriteFile(path, []byte(`alerts:
  pull:
    alertmanager_url: https://am:9093
    http_client:
      tls_config: {ca_file: am/ca.crt, cert_file: /abs/client.crt, key_file: client.key}
verdicts:
  prometheus_url: https://prometheus:9090
  prometheus_http_client:
    basic_auth: {username: sw, password_file: secrets/prometheus}
    http_headers:
      X-Scope-OrgID: {files: [tenant]}
  abort_alertmanager_url: http://am:9093
  abort_alertmanager_http_client:
    authorization: {credentials_file: am-token}
`), 0o600))
	cfg, err := Load(path)
	require.NoError(t, err)
	pull := cfg.Alerts.Pull.ClientConfig().TLSConfig
	require.Equal(t, filepath.Join(dir, "am/ca.crt"), pull.CAFile)
	require.Equal(t, "/abs/client.crt", pull.CertFile, "an absolute name stays")
	require.Equal(t, filepath.Join(dir, "client.key"), pull.KeyFile)
	prom := cfg.Verdicts.PrometheusHTTPClient
	require.Equal(t, filepath.Join(dir, "secrets/prometheus"), prom.BasicAuth.PasswordFile)
	require.Equal(t, []string{filepath.Join(dir, "tenant")}, prom.HTTPHeaders.Headers["X-Scope-OrgID"].Files)
	require.Equal(t, filepath.Join(dir, "am-token"), cfg.Verdicts.AbortAlertmanagerHTTPClient.Authorization.CredentialsFile)

	t.Run("the older pull fields stay relative to the working directory", func(t *testing.T) {
		require.NoError(t, os.WriteFile(path, []byte(`alerts:
  pull:
    alertmanager_url: https://am:9093
    basic_auth: {username: sw, password_file: pw}
    tls: {ca_file: ca.crt}
`), 0o600))
		cfg, err := Load(path)
		require.NoError(t, err)
		require.Equal(t, "pw", cfg.Alerts.Pull.ClientConfig().BasicAuth.PasswordFile)
		require.Equal(t, "ca.crt", cfg.Alerts.Pull.ClientConfig().TLSConfig.CAFile)
	})
}

func TestAnHTTPClientFollowsAnchorsAliasesAndMergeKeys(t *testing.T) {
	cfg, err := Parse([]byte(`tls: &tls {ca_file: /etc/sw/ca.crt}
verdicts:
  prometheus_url: https://prometheus:9090
  prometheus_http_client: &client
    <<: {follow_redirects: false}
    tls_config: *tls
  abort_alertmanager_url: http://am:9093
  abort_alertmanager_http_client: *client
`), "steadywatch.yml")
	require.ErrorContains(t, err, `unknown field "tls"`, "a top-level anchor is still a field of its own")
	require.Nil(t, cfg.Verdicts.PrometheusHTTPClient)

	cfg, err = Parse([]byte(`verdicts:
  prometheus_url: https://prometheus:9090
  prometheus_http_client: &client
    <<: {follow_redirects: false}
    tls_config: &tls {ca_file: /etc/sw/ca.crt}
  abort_alertmanager_url: http://am:9093
  abort_alertmanager_http_client: *client
`), "steadywatch.yml")
	require.NoError(t, err)
	for _, c := range []*HTTPClient{cfg.Verdicts.PrometheusHTTPClient, cfg.Verdicts.AbortAlertmanagerHTTPClient} {
		require.Equal(t, "/etc/sw/ca.crt", c.TLSConfig.CAFile)
		require.False(t, c.FollowRedirects, "merged")
	}
}

func TestAnHTTPClientBoundsItsAliases(t *testing.T) {
	// Each list holds ten of the previous one: 10^6 headers values once
	// expanded.
	var b strings.Builder
	b.WriteString("verdicts:\n  prometheus_url: http://p:9090\n  prometheus_http_client:\n    oauth2:\n      client_id: x\n      token_url: http://t\n      claims:\n")
	b.WriteString("        l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i <= 5; i++ {
		b.WriteString("        l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" +
			strings.Repeat("*l"+string(rune('0'+i-1))+", ", 9) + "*l" + string(rune('0'+i-1)) + "]\n")
	}
	_, err := Parse([]byte(b.String()), "steadywatch.yml")
	require.ErrorContains(t, err, "steadywatch.yml:3: verdicts.prometheus_http_client: document contains excessive aliasing")
}

func TestValidateNamesTheHTTPClientOfAConfigurationBuiltInCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"a Prometheus client with two credentials", func(c *Config) {
			c.Verdicts.PrometheusHTTPClient = NewHTTPClient()
			c.Verdicts.PrometheusHTTPClient.BasicAuth = &promconfig.BasicAuth{Username: "u"}
			c.Verdicts.PrometheusHTTPClient.BearerTokenFile = "/t"
		}, "verdicts.prometheus_http_client: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"},
		{"an abort client with an OAuth2 without its token URL", func(c *Config) {
			c.Verdicts.AbortAlertmanagerHTTPClient = NewHTTPClient()
			c.Verdicts.AbortAlertmanagerHTTPClient.OAuth2 = &promconfig.OAuth2{ClientID: "x"}
		}, "verdicts.abort_alertmanager_http_client: oauth2 token_url must be configured"},
		{"a pull client with a no_proxy and no proxy", func(c *Config) {
			c.Alerts.Pull.HTTPClient = NewHTTPClient()
			c.Alerts.Pull.HTTPClient.NoProxy = "localhost"
		}, "alerts.pull.http_client: if no_proxy is configured, proxy_url must also be configured"},
		{"a pull client beside a bearer token file", func(c *Config) {
			c.Alerts.Pull.HTTPClient = NewHTTPClient()
			c.Alerts.Pull.BearerTokenFile = "/t"
		}, "alerts.pull.http_client: replaces bearer_token_file, basic_auth and tls: set it alone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			require.NoError(t, c.Validate())
			tc.edit(&c)
			require.EqualError(t, c.Validate(), tc.want)
		})
	}
}

func TestTheHTTPClientsHeadersReachTheServer(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "password"), []byte("s3cret\n"), 0o600))
	path := filepath.Join(dir, "steadywatch.yml")
	require.NoError(t, os.WriteFile(path, []byte(`verdicts:
  prometheus_url: http://prometheus:9090
  prometheus_http_client:
    basic_auth: {username: steadywatch, password_file: password}
    http_headers:
      X-Scope-OrgID: {values: [chaos-lab]}
`), 0o600))
	cfg, err := Load(path)
	require.NoError(t, err)

	type seen struct {
		tenant, user, password string
		ok                     bool
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		got <- seen{r.Header.Get("X-Scope-OrgID"), user, password, ok}
	}))
	defer srv.Close()
	client, err := promconfig.NewClientFromConfig(cfg.Verdicts.PrometheusHTTPClient.Config(), "steadywatch")
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, http.NoBody)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, seen{"chaos-lab", "steadywatch", "s3cret", true}, <-got,
		"the password read from the file beside the configuration, its newline trimmed")
}
