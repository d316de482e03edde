// Package promsource fetches the samples the judge of package verdict
// judges from Prometheus: range queries over its HTTP API, cut into pieces
// Prometheus accepts and retried while it is busy or unreachable.
package promsource

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/steadywatch/steadywatch/internal/httpurl"
	"github.com/steadywatch/steadywatch/verdict"
)

// Defaults of Options.
const (
	// DefaultQueryTimeout bounds each attempt of a range query.
	DefaultQueryTimeout = 30 * time.Second
	// DefaultRetries is how often a transient query error is retried.
	DefaultRetries = 3
	// DefaultRetryBackoff is the wait before the first retry; it doubles
	// for each further one, up to 5 s.
	DefaultRetryBackoff = 250 * time.Millisecond
)

// Options configure a Source.
type Options struct {
	// URL is Prometheus's base URL, e.g. http://127.0.0.1:9090; required
	// unless API is set.
	URL string
	// HTTPClient makes the requests to URL: credentials, TLS, headers
	// (prometheus/common/config.NewClientFromConfig builds one from
	// Prometheus's own configuration). nil: the Prometheus client's default.
	HTTPClient *http.Client
	// API is a client of Prometheus's HTTP API to use instead of one for
	// URL.
	API v1.API
	// QueryTimeout bounds each attempt of a range query, on the server too
	// (the query's timeout parameter); 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// Retries is how often a transient query error (timeout, 5xx, 429,
	// network) is retried, with exponential backoff from RetryBackoff; a
	// bad query (bad_data, execution, another 4xx) is never retried. 0
	// means DefaultRetries, a negative value none.
	Retries      int
	RetryBackoff time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Source is a verdict.SampleSource answered by Prometheus. It is safe for
// concurrent use.
type Source struct {
	api          v1.API
	queryTimeout time.Duration
	retries      int
	backoff      time.Duration
	log          *slog.Logger
}

// New returns a Source with o's defaults filled in.
func New(o Options) (*Source, error) {
	switch {
	case o.API == nil && o.URL == "":
		return nil, errors.New("promsource: Options.URL or Options.API is required")
	case o.QueryTimeout < 0:
		return nil, fmt.Errorf("promsource: Options.QueryTimeout %s: must be ≥ 0", o.QueryTimeout)
	case o.RetryBackoff < 0:
		return nil, fmt.Errorf("promsource: Options.RetryBackoff %s: must be ≥ 0", o.RetryBackoff)
	}
	api := o.API
	if api == nil {
		client, err := promapi.NewClient(promapi.Config{Address: o.URL, Client: o.HTTPClient})
		if err != nil {
			return nil, fmt.Errorf("promsource: Options.URL: %w", err)
		}
		api = v1.NewAPI(client)
	}
	s := &Source{
		api:          api,
		queryTimeout: cmp.Or(o.QueryTimeout, DefaultQueryTimeout),
		retries:      max(cmp.Or(o.Retries, DefaultRetries), 0),
		backoff:      cmp.Or(o.RetryBackoff, DefaultRetryBackoff),
		log:          o.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// NewJudge returns a judge of the samples Prometheus has: vo with a Source
// of o as its Samples. o.Logger defaults to vo.Logger. This is how serve
// and the verdict command build their judge.
func NewJudge(o Options, vo verdict.Options) (*verdict.Judge, error) {
	if vo.Samples != nil {
		return nil, errors.New("promsource: verdict.Options.Samples is set: NewJudge sets it to Prometheus")
	}
	if o.Logger == nil {
		o.Logger = vo.Logger
	}
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	vo.Samples = s
	return verdict.New(vo)
}

// CheckURL returns the error a Source would have for u as its Options.URL,
// for a caller to name its own flag or field with it before building one:
// an http:// or https:// URL with a host (httpurl.Check, as serve's
// configuration checks it) that the Prometheus client accepts.
func CheckURL(u string) error {
	if err := httpurl.Check(u); err != nil {
		return err
	}
	_, err := promapi.NewClient(promapi.Config{Address: u})
	return err
}
