package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/common/config"

	"github.com/steadywatch/steadywatch/alertpull"
	"github.com/steadywatch/steadywatch/config"
)

// newPuller returns the Alertmanager v2 API puller alerts.pull configures,
// or nil if no Alertmanager URL is set. Its HTTP client is Prometheus' own
// (prometheus/common/config): credential files are read at each request,
// so rotated secrets are picked up.
func newPuller(p config.Pull, sink alertpull.Sink, log *slog.Logger, reg prometheus.Registerer) (*alertpull.Puller, error) {
	if p.AlertmanagerURL == "" {
		return nil, nil
	}
	hc := promconfig.HTTPClientConfig{
		FollowRedirects: true,
		EnableHTTP2:     true,
		TLSConfig: promconfig.TLSConfig{
			CAFile: p.TLS.CAFile, CertFile: p.TLS.CertFile, KeyFile: p.TLS.KeyFile,
			ServerName: p.TLS.ServerName, InsecureSkipVerify: p.TLS.InsecureSkipVerify,
		},
	}
	if p.BearerTokenFile != "" {
		hc.Authorization = &promconfig.Authorization{Type: "Bearer", CredentialsFile: p.BearerTokenFile}
	}
	if p.BasicAuth.Username != "" {
		hc.BasicAuth = &promconfig.BasicAuth{Username: p.BasicAuth.Username, PasswordFile: p.BasicAuth.PasswordFile}
	}
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("alerts.pull: %w", err)
	}
	client, err := promconfig.NewClientFromConfig(hc, "alertmanager")
	if err != nil {
		return nil, fmt.Errorf("alerts.pull: %w", err)
	}
	return alertpull.New(alertpull.Options{
		URL: p.AlertmanagerURL, Sink: sink, Interval: time.Duration(p.Interval),
		Logger: log, Registerer: reg, HTTPClient: client,
	})
}
