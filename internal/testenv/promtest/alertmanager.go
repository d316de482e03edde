package promtest

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/general"
)

// DefaultAlertmanagerConfig is the configuration of an Alertmanager started
// with an empty AlertmanagerOptions.Config: every alert goes to a receiver
// that notifies nobody, so alerts are only seen through the API.
const DefaultAlertmanagerConfig = `route:
  receiver: "null"
receivers:
  - name: "null"
`

// AlertmanagerOptions configure an Alertmanager server.
type AlertmanagerOptions struct {
	// Config is the body of alertmanager.yml; empty means
	// DefaultAlertmanagerConfig.
	Config string
	// WebConfig, if set, is the body of the --web.config.file, e.g.
	// basic_auth_users, or tls_server_config (its files are relative to
	// the server's directory, Dir).
	WebConfig string
	// Username and Password are the basic-auth credentials the readiness
	// probe, Client and Reload send, for a WebConfig that requires them.
	Username, Password string
	// RootCAs, for a WebConfig with tls_server_config, verify the server's
	// certificate: URL is then https, and the readiness probe, Client and
	// Reload trust them.
	RootCAs *x509.CertPool
	// Args are extra command-line flags. They must not repeat the ones the
	// harness sets: --config.file, --storage.path, --web.listen-address,
	// --cluster.listen-address, and --web.config.file with WebConfig.
	Args []string
}

// Alertmanager is a running Alertmanager server, alone: its cluster
// listener is off, so it gossips with no one.
type Alertmanager struct {
	// Version is the server's version, e.g. "0.25.0".
	Version string
	// Addr is the server's host:port.
	Addr string
	// Dir holds the configuration, the silences and notification log, and
	// the log.
	Dir string
	// ConfigPath is the configuration file.
	ConfigPath string

	o      AlertmanagerOptions
	proc   *process
	client *client.AlertmanagerAPI
}

// StartAlertmanager starts an Alertmanager server in a temporary directory
// for the test and stops it when the test ends. It fails the test if the
// server does not start, with the server's log; it skips the test if SkipEnv
// is 1.
func StartAlertmanager(t testing.TB, o AlertmanagerOptions) *Alertmanager {
	t.Helper()
	skipIfDisabled(t)
	began := time.Now()
	am, err := NewAlertmanager(t.Context(), t.TempDir(), o)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	t.Cleanup(func() { cleanup(t, am.proc) })
	t.Logf("promtest: alertmanager %s ready at %s in %s", am.Version, am.URL(), time.Since(began).Round(time.Millisecond))
	return am
}

// NewAlertmanager starts an Alertmanager server with its files in dir, an
// existing directory, and waits until it is ready. ctx bounds the start, not
// the server's life: the caller must Stop it. The error of a server that did
// not start includes its log.
func NewAlertmanager(ctx context.Context, dir string, o AlertmanagerOptions) (*Alertmanager, error) {
	bin, err := binary(alertmanagerBin)
	if err != nil {
		return nil, err
	}
	am := &Alertmanager{Dir: dir, o: o}
	if o.Config == "" {
		o.Config = DefaultAlertmanagerConfig
	}
	if am.ConfigPath, err = writeFile(dir, "alertmanager.yml", o.Config); err != nil {
		return nil, err
	}
	args := []string{
		"--config.file=" + am.ConfigPath,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--cluster.listen-address=", // no gossip: a lone instance
	}
	if o.WebConfig != "" {
		webConfig, err := writeFile(dir, "web.yml", o.WebConfig)
		if err != nil {
			return nil, err
		}
		args = append(args, "--web.config.file="+webConfig)
	}
	am.proc, am.Addr, err = launch(ctx, "alertmanager", filepath.Join(dir, "alertmanager.log"), bin,
		func(addr string) ([]string, error) {
			return append(append(args, "--web.listen-address="+addr), o.Args...), nil
		},
		getOK("/-/ready", o.access()))
	if err != nil {
		return nil, err
	}
	transport := httptransport.NewWithClient(am.Addr, client.DefaultBasePath, []string{o.access().scheme()}, o.access().client())
	am.client = client.New(transport, strfmt.Default)
	status, err := am.client.General.GetStatus(general.NewGetStatusParamsWithContext(ctx))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("alertmanager status: %w", err), am.Stop())
	}
	if v := status.Payload.VersionInfo; v != nil && v.Version != nil {
		am.Version = *v.Version
	}
	return am, nil
}

// access is how the harness reaches the server.
func (o AlertmanagerOptions) access() access {
	return access{user: o.Username, password: o.Password, rootCAs: o.RootCAs}
}

// URL is the server's base URL, http://127.0.0.1:port (https with
// RootCAs).
func (am *Alertmanager) URL() string { return am.o.access().scheme() + "://" + am.Addr }

// Client is a client of the server's v2 API, with the options' credentials.
func (am *Alertmanager) Client() *client.AlertmanagerAPI { return am.client }

// Pid is the server's process ID.
func (am *Alertmanager) Pid() int { return am.proc.Pid() }

// Log returns the end of the server's log.
func (am *Alertmanager) Log() string { return am.proc.logTail() }

// Reload makes the server reload its configuration, and fails if it
// rejects it.
func (am *Alertmanager) Reload(ctx context.Context) error {
	return am.proc.reload(ctx, am.URL(), am.o.access())
}

// Crashed receives, once, why the server exited if it did so by itself
// (killed, crashed, gave up): its exit status and the end of its log.
// Stop is not a crash.
func (am *Alertmanager) Crashed() <-chan error { return am.proc.crashed }

// Stop stops the server: SIGTERM, then SIGKILL if it has not exited within
// 10 s. It leaves Dir alone.
func (am *Alertmanager) Stop() error { return am.proc.stop() }
