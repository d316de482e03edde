package alertpull

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/internal/httpurl"
)

// Defaults of the Options left zero.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 10 * time.Second
)

// Sink stores alerts; store.Store is one. It must save a batch whole or not
// at all, and treat an alert it has (same Fingerprint and StartsAt) as an
// update: the puller sends an alert again when it changes, and once more
// when it resolves.
type Sink interface {
	SaveAlerts(ctx context.Context, alerts []alert.Alert) (inserted int, err error)
}

// BasicAuth holds HTTP basic-auth credentials.
type BasicAuth struct {
	Username, Password string
}

// Options configure a Puller.
type Options struct {
	// URL is Alertmanager's base URL, e.g. http://alertmanager:9093, with
	// its --web.route-prefix if it has one. The API is under URL/api/v2.
	URL string
	// Sink receives the pulled alerts.
	Sink Sink
	// Interval between pulls; 0 means DefaultInterval. Failed pulls back
	// off up to MaxBackoff.
	Interval time.Duration
	// Timeout bounds one pull's request; 0 means DefaultTimeout, or
	// Interval if that is shorter.
	Timeout time.Duration
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// Registerer, if set, registers the puller's metrics.
	Registerer prometheus.Registerer
	// Now defaults to time.Now.
	Now func() time.Time

	// HTTPClient makes the requests, with its transport's TLS settings;
	// nil means a client with http.DefaultTransport's settings.
	HTTPClient *http.Client
	// BearerToken, if set, is sent as "Authorization: Bearer …".
	BearerToken string
	// BasicAuth, if set, is sent instead. At most one of them may be set.
	BasicAuth *BasicAuth

	// Filter are Alertmanager matchers (`alertname="Watchdog"`, `team=~"a|b"`)
	// an alert must all match to be pulled; none pulls every alert.
	Filter []string
	// Receiver, if set, is a regular expression: only alerts routed to a
	// receiver whose whole name matches it are pulled.
	Receiver string
}

// MaxBackoff caps the wait after failed pulls: Interval doubles after each
// failure in a row, up to MaxBackoff or Interval, whichever is longer.
const MaxBackoff = 5 * time.Minute

// validate checks o and fills in its defaults. Errors name the field.
func (o *Options) validate() error {
	if o.URL == "" {
		return fieldError("URL", "missing: want Alertmanager's base URL, e.g. http://alertmanager:9093")
	}
	if err := httpurl.Check(o.URL); err != nil {
		return fieldErrorf("URL", "%w", err)
	}
	u, err := url.Parse(o.URL)
	switch {
	case err != nil:
		return fieldErrorf("URL", "%w", err)
	case u.User != nil:
		// Kept out of the URL, which errors and logs show.
		return fieldErrorf("URL", "%q holds credentials: set BasicAuth instead", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fieldErrorf("URL", "%q: want a base URL, without query or fragment", o.URL)
	}
	if o.Sink == nil {
		return fieldError("Sink", "missing")
	}
	if o.Interval < 0 {
		return fieldErrorf("Interval", "must not be negative, got %s", o.Interval)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout < 0 {
		return fieldErrorf("Timeout", "must not be negative, got %s", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = min(DefaultTimeout, o.Interval)
	}
	if o.BearerToken != "" && o.BasicAuth != nil {
		return fieldError("BearerToken and BasicAuth", "set one, not both")
	}
	if o.BasicAuth != nil && o.BasicAuth.Username == "" {
		return fieldError("BasicAuth.Username", "missing")
	}
	for i, f := range o.Filter {
		if _, err := labels.ParseMatcher(f); err != nil {
			return fieldErrorf("Filter["+strconv.Itoa(i)+"]", "%q: %w", f, err)
		}
	}
	if o.Receiver != "" {
		if _, err := regexp.Compile("^(?:" + o.Receiver + ")$"); err != nil {
			return fieldErrorf("Receiver", "%w", err)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// fieldErrorf returns an error about the Options field named by path.
func fieldErrorf(path, format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{path}, args...)...)
}

func fieldError(path, msg string) error { return fieldErrorf(path, "%s", msg) }
