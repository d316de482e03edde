// Package abort raises the signal that halts a chaos experiment whose
// hypothesis violated a hard bound: an alert, SteadywatchAbortExperiment,
// posted to Alertmanager's v2 API, so that it reaches the chaos tool's
// webhook or a person the way every alert does.
package abort

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/verdict"
)

// AlertName is the abort alert's alertname.
const AlertName = contract.AbortAlertName

// Labels of the abort alert besides alertname.
const (
	HypothesisLabel = contract.LabelHypothesis
	SeverityLabel   = "severity"
	Severity        = "critical"
)

// Poster posts and resolves abort alerts. Alertmanager resolves an alert
// whose endsAt has passed, so a Poster posts again at every judgement that
// still aborts, each time with endsAt a few intervals ahead: if
// steadywatch stops, the alert resolves by itself.
type Poster struct {
	api          *amclient.AlertmanagerAPI
	url          string
	generatorURL string

	mu      sync.Mutex
	started map[string]time.Time // hypothesis -> startsAt of its abort alert
}

// DefaultTimeout bounds a request to Alertmanager whose client sets no
// timeout of its own.
const DefaultTimeout = 10 * time.Second

// Options configure a Poster.
type Options struct {
	// URL is Alertmanager's base URL (with its route prefix, if any).
	URL string
	// HTTPClient makes the requests: credentials, TLS, headers
	// (prometheus/common/config.NewClientFromConfig builds one from
	// Prometheus's own configuration); nil means http.DefaultClient's
	// settings. A client without a Timeout gets DefaultTimeout.
	HTTPClient *http.Client
	// GeneratorURL links the alert back to steadywatch, e.g. its
	// /api/v1/verdicts/NAME; "{hypothesis}" in it is replaced.
	GeneratorURL string
}

// New returns a Poster, or an error naming what is wrong with o.URL.
func New(o Options) (*Poster, error) {
	u, err := url.Parse(o.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("abort: Alertmanager URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("abort: Alertmanager URL %q: want http:// or https://", o.URL)
	case u.Host == "":
		return nil, fmt.Errorf("abort: Alertmanager URL %q has no host", o.URL)
	}
	hc := &http.Client{}
	if o.HTTPClient != nil {
		*hc = *o.HTTPClient
	}
	if hc.Timeout == 0 {
		hc.Timeout = DefaultTimeout
	}
	rt := httptransport.NewWithClient(u.Host, strings.TrimSuffix(u.Path, "/")+amclient.DefaultBasePath, []string{u.Scheme}, hc)
	rt.Consumers[runtime.JSONMime] = runtime.JSONConsumer()
	return &Poster{
		api:          amclient.New(rt, strfmt.Default),
		url:          strings.TrimSuffix(o.URL, "/"),
		generatorURL: o.GeneratorURL,
		started:      map[string]time.Time{},
	}, nil
}

// Post posts (or posts again) the abort alert of v's hypothesis, ending at
// now+hold unless posted again. The alert names the hypothesis and says
// why in its annotations.
func (p *Poster) Post(ctx context.Context, v verdict.Verdict, now time.Time, hold time.Duration) error {
	p.mu.Lock()
	start, ok := p.started[v.Hypothesis]
	if !ok {
		start = now
		p.started[v.Hypothesis] = now
	}
	p.mu.Unlock()
	reasons := strings.Join(v.AbortReasons, "; ")
	if reasons == "" {
		reasons = v.Reason
	}
	description := fmt.Sprintf("%s. Verdict %s at %s (%s).", reasons, v.Result, v.At.UTC().Format(time.RFC3339), v.Source)
	if v.AbortHeld != "" {
		description += " The abort is " + v.AbortHeld + "."
	}
	return p.post(ctx, v.Hypothesis, start, now.Add(hold), models.LabelSet{
		"summary":     fmt.Sprintf("Abort the chaos experiment of hypothesis %s: a hard bound is violated", v.Hypothesis),
		"description": description,
	})
}

// Resolve resolves the abort alert of hypothesis, if one was posted.
func (p *Poster) Resolve(ctx context.Context, hypothesis string, now time.Time) error {
	p.mu.Lock()
	start, ok := p.started[hypothesis]
	p.mu.Unlock()
	if !ok {
		return nil
	}
	err := p.post(ctx, hypothesis, start, now, models.LabelSet{
		"summary": fmt.Sprintf("The chaos experiment of hypothesis %s no longer needs aborting", hypothesis),
	})
	if err == nil {
		p.mu.Lock()
		delete(p.started, hypothesis)
		p.mu.Unlock()
	}
	return err
}

// TakeOver makes the abort alerts old posted this Poster's: a reload that
// builds a Poster with new client settings keeps resolving (and holding)
// the alerts the one before raised.
func (p *Poster) TakeOver(old *Poster) {
	if old == nil || old == p {
		return
	}
	old.mu.Lock()
	started := old.started
	old.started = map[string]time.Time{}
	old.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started == nil {
		p.started = map[string]time.Time{}
	}
	maps.Copy(p.started, started)
}

// Aborting reports whether an abort alert of hypothesis is posted and not
// resolved.
func (p *Poster) Aborting(hypothesis string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.started[hypothesis]
	return ok
}

func (p *Poster) post(ctx context.Context, hypothesis string, start, end time.Time, annotations models.LabelSet) error {
	a := &models.PostableAlert{
		Alert: models.Alert{
			Labels: models.LabelSet{
				"alertname": AlertName, HypothesisLabel: hypothesis, SeverityLabel: Severity,
			},
			GeneratorURL: strfmt.URI(strings.ReplaceAll(p.generatorURL, "{hypothesis}", url.PathEscape(hypothesis))),
		},
		Annotations: annotations,
		StartsAt:    strfmt.DateTime(start),
		EndsAt:      strfmt.DateTime(end),
	}
	_, err := p.api.Alert.PostAlerts(amalert.NewPostAlertsParamsWithContext(ctx).WithAlerts(models.PostableAlerts{a}))
	if err != nil {
		if bad, ok := errors.AsType[*amalert.PostAlertsBadRequest](err); ok {
			return fmt.Errorf("abort: Alertmanager at %s refused the alert: %s", p.url, bad.Payload)
		}
		if ae, ok := errors.AsType[*runtime.APIError](err); ok && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusForbidden) {
			return fmt.Errorf("abort: Alertmanager at %s answered %d %s: its HTTP client configuration has no credentials, or wrong ones",
				p.url, ae.Code, http.StatusText(ae.Code))
		}
		return fmt.Errorf("abort: posting to Alertmanager at %s: %w", p.url, err)
	}
	return nil
}
