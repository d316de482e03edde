package server

import (
	"fmt"
	"log/slog"
	"net/http"
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
	hc := p.ClientConfig()
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("alerts.pull: %w", err)
	}
	client, err := promconfig.NewClientFromConfig(hc, httpClientName)
	if err != nil {
		return nil, fmt.Errorf("alerts.pull: %w", err)
	}
	return alertpull.New(alertpull.Options{
		URL: p.AlertmanagerURL, Sink: sink, Interval: time.Duration(p.Interval),
		Logger: log, Registerer: reg, HTTPClient: client,
	})
}

// httpClientName names steadywatch's HTTP clients to prometheus/common.
const httpClientName = "steadywatch"

// newHTTPClient is the client an HTTP client section at path configures
// (nil: Prometheus's defaults): a configuration error if it cannot be
// built, e.g. a CA file that does not parse.
func newHTTPClient(path string, c *config.HTTPClient) (*http.Client, error) {
	client, err := promconfig.NewClientFromConfig(c.Config(), httpClientName)
	if err != nil {
		return nil, configError(fmt.Errorf("%s: %w", path, err))
	}
	return client, nil
}
