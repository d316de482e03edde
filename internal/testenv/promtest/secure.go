package promtest

import (
	"crypto/x509"
	"path/filepath"
	"testing"

	"github.com/steadywatch/steadywatch/internal/testenv/webtest"
)

// SecureWeb is an exporter-toolkit web configuration (--web.config.file)
// that serves TLS with a self-signed certificate for 127.0.0.1 and requires
// basic auth, with what a client needs to pass it: for the tests of a
// client of a secured Prometheus or Alertmanager.
type SecureWeb struct {
	// WebConfig is the body of the --web.config.file.
	WebConfig string
	// Username and Password are the one user it accepts; its file holds
	// the password's bcrypt hash.
	Username, Password string
	// CAFile is the server's certificate, its own CA, for a client's
	// tls_config.ca_file.
	CAFile string
	// RootCAs holds that certificate.
	RootCAs *x509.CertPool
}

// NewSecureWeb writes a self-signed certificate and its key to a temporary
// directory of the test and returns a SecureWeb serving them.
func NewSecureWeb(t *testing.T) SecureWeb {
	t.Helper()
	dir := t.TempDir()
	cert := webtest.SelfSigned(t, dir)
	s := SecureWeb{
		Username: "steadywatch", Password: "s3cret-" + filepath.Base(dir),
		CAFile:  filepath.Join(dir, "tls.crt"),
		RootCAs: x509.NewCertPool(),
	}
	s.RootCAs.AddCert(cert)
	s.WebConfig = "tls_server_config:\n" +
		"  cert_file: " + s.CAFile + "\n" +
		"  key_file: " + filepath.Join(dir, "tls.key") + "\n" +
		"basic_auth_users:\n" +
		"  " + s.Username + ": " + webtest.BcryptHash(t, s.Password) + "\n"
	return s
}

// Prometheus is o secured by s: its web configuration, and the credentials
// and CA the harness reaches the server with.
func (s SecureWeb) Prometheus(o PrometheusOptions) PrometheusOptions {
	o.WebConfig, o.Username, o.Password, o.RootCAs = s.WebConfig, s.Username, s.Password, s.RootCAs
	return o
}

// Alertmanager is o secured by s, as Prometheus.
func (s SecureWeb) Alertmanager(o AlertmanagerOptions) AlertmanagerOptions {
	o.WebConfig, o.Username, o.Password, o.RootCAs = s.WebConfig, s.Username, s.Password, s.RootCAs
	return o
}
