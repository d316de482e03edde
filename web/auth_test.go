package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/steadywatch/steadywatch/web"
)

const (
	password = "alertmanager-password"
	token    = "0123456789abcdef-webhook-token"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key to
// dir and returns the certificate.
func selfSigned(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "steadywatch test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func bcryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

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
