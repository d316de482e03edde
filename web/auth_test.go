package web_test

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/webtest"

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

func TestNewAuthRefusesWeakOrBrokenCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    web.AuthOptions
		want string
	}{
		{
			name: "a password in clear instead of its bcrypt hash",
			o:    web.AuthOptions{BasicAuthUsers: map[string]string{"alertmanager": "secret"}},
			want: "basic_auth_users.alertmanager: not a bcrypt hash: crypto/bcrypt: hashedSecret too short to be a bcrypted password",
		},
		{
			name: "a short bearer token",
			o:    web.AuthOptions{BearerTokens: []string{token, "short"}},
			want: "bearer_tokens[1]: shorter than 16 characters",
		},
		{
			name: "an empty bearer token",
			o:    web.AuthOptions{BearerTokens: []string{""}},
			want: "bearer_tokens[0]: empty",
		},
		{
			name: "a bearer token with a space in it",
			o:    web.AuthOptions{BearerTokens: []string{"0123456789 abcdefgh"}},
			want: "bearer_tokens[0]: contains white space or control characters",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := web.NewAuth(tc.o)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestServeLetsOpenPathsThroughWithoutAuthentication(t *testing.T) {
	dir := t.TempDir()
	webConfig := writeFile(t, filepath.Join(dir, "web.yml"), "basic_auth_users:\n  alertmanager: "+bcryptHash(t, password)+"\n")
	wc, err := web.LoadConfig(webConfig, "")
	require.NoError(t, err)
	wc.OpenPaths = []string{"/healthz"}
	mux := http.NewServeMux()
	for _, p := range []string{"/healthz", "/metrics"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- wc.Serve(srv, l, nil) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	for path, want := range map[string]int{
		"/healthz":         http.StatusOK,
		"/metrics":         http.StatusUnauthorized,
		"/healthz/../x":    http.StatusUnauthorized,
		"/healthz?probe=1": http.StatusOK,
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+l.Addr().String()+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, want, resp.StatusCode, path)
	}
}
