package web_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/web"
)

func TestAWebConfigIsReadWithExporterToolkitsTypesAndDefaults(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir)
	hash := bcryptHash(t, password)
	path := writeFile(t, filepath.Join(dir, "web.yml"), `
tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  alertmanager: `+hash+`
`)

	wc, err := web.LoadConfig(path, "")

	require.NoError(t, err)
	require.Equal(t, map[string]string{"alertmanager": hash}, wc.BasicAuthUsers())
	require.Equal(t, filepath.Join(dir, "tls.crt"), wc.TLSConfig.TLSCertPath, "paths are relative to the file")
	require.True(t, wc.HTTPConfig.HTTP2)
	require.Empty(t, wc.BearerTokens)
	cfg, err := wc.TLS()
	require.NoError(t, err)
	require.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	require.NotNil(t, cfg.GetCertificate, "certificates are read at each handshake")
}

func TestBadWebConfigsAreRefusedWithTheFileAndTheProblem(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir)
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{
			name: "a password in clear instead of a bcrypt hash",
			yaml: "basic_auth_users:\n  alertmanager: secret\n",
			want: "web.yml: basic_auth_users.alertmanager: not a bcrypt hash: crypto/bcrypt: hashedSecret too short to be a bcrypted password",
		},
		{
			name: "an unknown field, such as steadywatch's bearer tokens, which have a file of their own",
			yaml: "bearer_tokens: [" + token + "]\n",
			want: "web.yml:1: field bearer_tokens not found in type web.Config",
		},
		{
			name: "a certificate file that does not exist",
			yaml: "tls_server_config:\n  cert_file: missing.crt\n  key_file: tls.key\n",
			want: "web.yml: failed to read cert_file (" + filepath.Join(dir, "missing.crt") + "): open " + filepath.Join(dir, "missing.crt") + ": no such file or directory",
		},
		{
			name: "a header exporter-toolkit does not allow",
			yaml: "http_server_config:\n  headers:\n    Server: steadywatch\n",
			want: `web.yml: HTTP header "Server" can not be configured`,
		},
		{
			name: "a certificate without its key",
			yaml: "tls_server_config:\n  cert_file: tls.crt\n",
			want: "web.yml: missing one of key or key_file",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, "web.yml"), tc.yaml)

			_, err := web.LoadConfig(path, "")

			require.EqualError(t, err, filepath.Join(dir, tc.want))
		})
	}
}

func TestBearerTokensAreReadFromTheListAndTheTokenFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), "  second-token-0123456789\n")
	path := writeFile(t, filepath.Join(dir, "tokens.yml"), "bearer_tokens:\n  - "+token+"\nbearer_token_file: token\n")

	tokens, err := web.LoadBearerTokens(path)

	require.NoError(t, err)
	require.Equal(t, []string{token, "second-token-0123456789"}, tokens)
}

func TestBadBearerTokenFilesAreRefusedWithTheFileLineAndField(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "short"), "abc\n")
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{
			name: "a short token names its line and index",
			yaml: "bearer_tokens:\n  - " + token + "\n  - abc\n",
			want: "tokens.yml:3: bearer_tokens[1]: shorter than 16 characters",
		},
		{
			name: "a misspelt field is refused",
			yaml: "bearer_token:\n  - " + token + "\n",
			want: "tokens.yml:1: field bearer_token not found in type web.bearerTokenFile",
		},
		{
			name: "a token file that does not exist names the field",
			yaml: "bearer_token_file: missing\n",
			want: "tokens.yml:1: bearer_token_file: open " + filepath.Join(dir, "missing") + ": no such file or directory",
		},
		{
			name: "a short token in the token file names the file",
			yaml: "bearer_tokens: []\nbearer_token_file: short\n",
			want: "tokens.yml:2: bearer_token_file: token in " + filepath.Join(dir, "short") + ": shorter than 16 characters",
		},
		{
			name: "a file without tokens is refused",
			yaml: "# nothing yet\n",
			want: "tokens.yml: no bearer_tokens and no bearer_token_file",
		},
		{
			name: "a list where a token should be is refused",
			yaml: "bearer_tokens:\n  - [a, b]\n",
			want: "tokens.yml:2: cannot unmarshal !!seq into string",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, "tokens.yml"), tc.yaml)

			_, err := web.LoadBearerTokens(path)

			require.EqualError(t, err, filepath.Join(dir, tc.want))
		})
	}
}

func TestAMissingBearerTokenFileIsAnErrorOfItsOwn(t *testing.T) {
	_, err := web.LoadConfig("", filepath.Join(t.TempDir(), "absent.yml"))

	require.ErrorIs(t, err, os.ErrNotExist)
}
