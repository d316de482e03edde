package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// pkiFiles are the credentials the control plane needs besides the serving
// certificates, which the apiserver and metrics-server generate themselves.
type pkiFiles struct {
	saKey            string // signs and verifies service account tokens
	clientCA         string // published for aggregated servers; nobody uses client certs
	frontProxyCA     string // requestheader CA: lets metrics-server trust the aggregator
	frontProxyCert   string
	frontProxyKey    string
	frontProxyClient string // the CN metrics-server accepts requests from
}

// certValidity outlives any test run or `testbed up` session while keeping
// the certificates short-lived.
const certValidity = 30 * 24 * time.Hour

// writePKI generates fresh keys and certificates into dir. ECDSA P-256 keeps
// start-up fast; every consumer (apiserver, controller-manager,
// metrics-server) accepts it.
func writePKI(dir string) (pkiFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return pkiFiles{}, fmt.Errorf("creating pki dir: %w", err)
	}
	p := pkiFiles{
		saKey:            filepath.Join(dir, "sa.key"),
		clientCA:         filepath.Join(dir, "client-ca.crt"),
		frontProxyCA:     filepath.Join(dir, "front-proxy-ca.crt"),
		frontProxyCert:   filepath.Join(dir, "front-proxy-client.crt"),
		frontProxyKey:    filepath.Join(dir, "front-proxy-client.key"),
		frontProxyClient: "front-proxy-client",
	}

	saKey, err := newKey()
	if err != nil {
		return pkiFiles{}, err
	}
	if err := writeKey(p.saKey, saKey); err != nil {
		return pkiFiles{}, err
	}

	clientCA, _, err := newCA("steadywatch-testbed-client-ca")
	if err != nil {
		return pkiFiles{}, err
	}
	if err := writeCert(p.clientCA, clientCA.Raw); err != nil {
		return pkiFiles{}, err
	}

	fpCA, fpCAKey, err := newCA("steadywatch-testbed-front-proxy-ca")
	if err != nil {
		return pkiFiles{}, err
	}
	if err := writeCert(p.frontProxyCA, fpCA.Raw); err != nil {
		return pkiFiles{}, err
	}
	fpKey, err := newKey()
	if err != nil {
		return pkiFiles{}, err
	}
	fpCert, err := signCert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: p.frontProxyClient},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, fpCA, &fpKey.PublicKey, fpCAKey)
	if err != nil {
		return pkiFiles{}, fmt.Errorf("signing front-proxy client cert: %w", err)
	}
	if err := writeCert(p.frontProxyCert, fpCert); err != nil {
		return pkiFiles{}, err
	}
	if err := writeKey(p.frontProxyKey, fpKey); err != nil {
		return pkiFiles{}, err
	}
	return p, nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return k, nil
}

func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := signCert(tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signing CA %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing CA %s: %w", cn, err)
	}
	return cert, key, nil
}

// signCert fills in serial and validity and signs tmpl with parent's key.
func signCert(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating serial: %w", err)
	}
	tmpl.SerialNumber = serial
	// Backdated to tolerate clock skew between us and the components.
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(certValidity)
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

func writeCert(path string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("writing certificate: %w", err)
	}
	return nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("writing key: %w", err)
	}
	return nil
}
