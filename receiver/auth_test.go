package receiver_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/webtest"

	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/web"
)

const (
	password = "alertmanager-password"
	token    = "0123456789abcdef-webhook-token"
)

// The fixtures the receiver's and web's tests share.
var (
	selfSigned = webtest.SelfSigned
	writeFile  = webtest.WriteFile
	bcryptHash = webtest.BcryptHash
)

// serveTLS serves a receiver as `steadywatch serve` would, with TLS, basic
// auth and a bearer token, and returns its URL and a client trusting it.
func serveTLS(t *testing.T) (*fixture, string, *http.Client) {
	t.Helper()
	dir := t.TempDir()
	cert := selfSigned(t, dir)
	webConfig := writeFile(t, filepath.Join(dir, "web.yml"), `
tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
basic_auth_users:
  alertmanager: `+bcryptHash(t, password)+`
`)
	writeFile(t, filepath.Join(dir, "token"), token+"\n")
	tokens := writeFile(t, filepath.Join(dir, "tokens.yml"), "bearer_token_file: token\n")
	wc, err := web.LoadConfig(webConfig, tokens)
	require.NoError(t, err)

	f := newFixture(t, receiver.Options{})
	mux := http.NewServeMux()
	mux.Handle(receiver.Path, f.rcv)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- wc.Serve(srv, l, nil) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(client.CloseIdleConnections)
	return f, "https://" + l.Addr().String() + receiver.Path, client
}

func TestTheReceiverServedWithTLSLetsInOnlyAuthenticatedRequests(t *testing.T) {
	f, url, client := serveTLS(t)
	for _, tc := range []struct {
		name       string
		authorize  func(*http.Request)
		code       int
		challenges []string
	}{
		{
			name:      "a known user with the right password is let in",
			authorize: func(r *http.Request) { r.SetBasicAuth("alertmanager", password) },
			code:      http.StatusOK,
		},
		{
			name:      "the same user again is let in from the login cache",
			authorize: func(r *http.Request) { r.SetBasicAuth("alertmanager", password) },
			code:      http.StatusOK,
		},
		{
			name:       "a known user with a wrong password is refused",
			authorize:  func(r *http.Request) { r.SetBasicAuth("alertmanager", "guess") },
			code:       http.StatusUnauthorized,
			challenges: []string{`Basic realm="steadywatch", charset="UTF-8"`, `Bearer realm="steadywatch"`},
		},
		{
			name:       "an unknown user with a known password is refused",
			authorize:  func(r *http.Request) { r.SetBasicAuth("mallory", password) },
			code:       http.StatusUnauthorized,
			challenges: []string{`Basic realm="steadywatch", charset="UTF-8"`, `Bearer realm="steadywatch"`},
		},
		{
			name:      "the right bearer token is let in",
			authorize: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) },
			code:      http.StatusOK,
		},
		{
			name:      "the bearer scheme is case-insensitive",
			authorize: func(r *http.Request) { r.Header.Set("Authorization", "bearer "+token) },
			code:      http.StatusOK,
		},
		{
			name:       "a wrong bearer token is refused as invalid",
			authorize:  func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token+"x") },
			code:       http.StatusUnauthorized,
			challenges: []string{`Basic realm="steadywatch", charset="UTF-8"`, `Bearer realm="steadywatch", error="invalid_token"`},
		},
		{
			name:       "the password as a bearer token is refused",
			authorize:  func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+password) },
			code:       http.StatusUnauthorized,
			challenges: []string{`Basic realm="steadywatch", charset="UTF-8"`, `Bearer realm="steadywatch", error="invalid_token"`},
		},
		{
			name:       "the token as a basic-auth password is refused",
			authorize:  func(r *http.Request) { r.SetBasicAuth("alertmanager", token) },
			code:       http.StatusUnauthorized,
			challenges: []string{`Basic realm="steadywatch", charset="UTF-8"`, `Bearer realm="steadywatch"`},
		},
		{
			name:       "a request without credentials is refused with both challenges",
			authorize:  func(*http.Request) {},
			code:       http.StatusUnauthorized,
			challenges: []string{`Basic realm="steadywatch", charset="UTF-8"`, `Bearer realm="steadywatch"`},
		},
		{
			name:       "another authorization scheme is refused",
			authorize:  func(r *http.Request) { r.Header.Set("Authorization", "Digest username=alertmanager") },
			code:       http.StatusUnauthorized,
			challenges: []string{`Basic realm="steadywatch", charset="UTF-8"`, `Bearer realm="steadywatch"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(realBody(t)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			tc.authorize(req)

			resp, err := client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()

			require.Equal(t, tc.code, resp.StatusCode)
			require.Equal(t, tc.challenges, resp.Header.Values("WWW-Authenticate"))
			require.NotNil(t, resp.TLS)
		})
	}
	require.Len(t, f.sink.saved(), 4, "only the authenticated requests reach the sink")
}

func TestPlainHTTPIsNotServedWhenTLSIsConfigured(t *testing.T) {
	f, url, _ := serveTLS(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, strings.Replace(url, "https://", "http://", 1), bytes.NewReader(realBody(t)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Empty(t, f.sink.saved())
}

func TestAuthInTheReceiverCountsRefusedRequests(t *testing.T) {
	auth, err := web.NewAuth(web.AuthOptions{BearerTokens: []string{token}})
	require.NoError(t, err)
	f := newFixture(t, receiver.Options{Auth: auth})

	refused := f.post(realBody(t))
	req := badRequest{body: string(realBody(t))}.request(t.Context())
	req.Header.Set("Authorization", "Bearer "+token)
	accepted := f.do(req)

	require.Equal(t, http.StatusUnauthorized, refused.Code)
	require.Equal(t, "unauthorized: no credentials\n", refused.Body.String())
	require.Equal(t, []string{`Bearer realm="steadywatch"`}, refused.Header().Values("WWW-Authenticate"))
	require.Equal(t, http.StatusOK, accepted.Code)
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_webhook_requests_total Requests to the Alertmanager webhook receiver, by HTTP status code.
# TYPE steadywatch_webhook_requests_total counter
steadywatch_webhook_requests_total{code="200"} 1
steadywatch_webhook_requests_total{code="401"} 1
`), "steadywatch_webhook_requests_total"))
}

func TestAuthWithoutUsersOrTokensLetsEveryoneIn(t *testing.T) {
	auth, err := web.NewAuth(web.AuthOptions{})
	require.NoError(t, err)
	f := newFixture(t, receiver.Options{Auth: auth})

	w := f.post(realBody(t))

	require.False(t, auth.Enabled())
	require.Equal(t, http.StatusOK, w.Code)
}

func TestServeWithoutAWebConfigServesPlainHTTPWithoutAuthentication(t *testing.T) {
	wc, err := web.LoadConfig("", "")
	require.NoError(t, err)
	f := newFixture(t, receiver.Options{})
	srv := &http.Server{Handler: f.rcv, ReadHeaderTimeout: 10 * time.Second}
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- wc.Serve(srv, l, nil) }()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+l.Addr().String()+receiver.Path, bytes.NewReader(realBody(t)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, srv.Close())

	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.ErrorIs(t, <-done, http.ErrServerClosed)
}
