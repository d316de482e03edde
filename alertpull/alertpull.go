// Package alertpull pulls alerts from Alertmanager's v2 API, optionally,
// next to the webhook: silenced and inhibited alerts never reach a webhook,
// but steadywatch must count them too.
//
// Every alert the API lists is unresolved (Alertmanager leaves out those
// whose endsAt has passed), whatever its state: active, suppressed (silenced
// or inhibited) or unprocessed. The puller saves each as firing, with a zero
// EndsAt as a webhook's firing alerts have, when it first sees it and when
// it changes. An alert that leaves the API has resolved: see Puller.PullOnce
// for the EndsAt it gets.
package alertpull

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/client"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/contract"
)

// Source is what the puller puts in alert.Alert.Source.
const Source = alert.SourceAPI

// Alertmanager's alert states, as the API names them.
const (
	StateActive      = contract.AlertStateActive
	StateSuppressed  = contract.AlertStateSuppressed
	StateUnprocessed = contract.AlertStateUnprocessed
)

// key identifies an alert as the store does.
type key struct {
	fingerprint string
	startsAt    int64
}

func keyOf(a *alert.Alert) key { return key{a.Fingerprint, a.StartsAt.UnixNano()} }

// seen is an alert of the last successful pull.
type seen struct {
	alert alert.Alert // as saved
	// lastSeen is when the pull that listed it ran.
	lastSeen time.Time
	// endsAt is the endsAt Alertmanager gave it: when Alertmanager resolves
	// it unless its sender says again that it fires.
	endsAt time.Time
}

// Puller pulls alerts from Alertmanager into a Sink.
type Puller struct {
	o       Options
	api     *client.AlertmanagerAPI
	base    string // the URL, without a trailing slash, for messages
	metrics *metrics

	mu   sync.Mutex // one pull at a time
	seen map[key]seen
}

// New returns a Puller, or an error naming the Options field that is wrong.
// It registers the puller's metrics with o.Registerer, and panics if they
// are registered already.
func New(o Options) (*Puller, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("URL: %w", err)
	}
	hc := &http.Client{}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	// The transport records each answer's status, which the generated
	// client drops when a body does not decode.
	hc.Transport = &recordingTransport{next: next}
	transport := httptransport.NewWithClient(u.Host, path.Join("/", u.Path, client.DefaultBasePath), []string{u.Scheme}, hc)
	// The DEBUG environment variable would otherwise make it print every
	// request, with its credentials.
	transport.Debug = false
	switch {
	case o.BearerToken != "":
		transport.DefaultAuthentication = httptransport.BearerToken(o.BearerToken)
	case o.BasicAuth != nil:
		transport.DefaultAuthentication = httptransport.BasicAuth(o.BasicAuth.Username, o.BasicAuth.Password)
	}
	p := &Puller{
		o:    o,
		api:  client.New(transport, strfmt.Default),
		base: strings.TrimSuffix(u.String(), "/"),
		seen: map[key]seen{},
	}
	p.metrics = newMetrics(o.Registerer)
	return p, nil
}

// Run pulls at once and then every Interval, until ctx ends; a failed pull
// is logged and counted, and the next waits longer (see MaxBackoff). It
// returns nil when ctx ends.
func (p *Puller) Run(ctx context.Context) error {
	p.o.Logger.Info("pulling alerts from Alertmanager", "url", p.base, "interval", p.o.Interval)
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		n, err := p.PullOnce(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil // cut short by the shutdown
		case err != nil:
			failures++
			p.o.Logger.Warn("pulling alerts from Alertmanager failed", "err", err, "failures_in_a_row", failures,
				"retry_in", p.wait(failures))
		default:
			if failures > 0 {
				p.o.Logger.Info("pulling alerts from Alertmanager works again", "url", p.base, "after_failures", failures)
			}
			failures = 0
			if n > 0 {
				p.o.Logger.Debug("pulled new alerts from Alertmanager", "new", n)
			}
		}
		timer.Reset(p.wait(failures))
	}
}

// wait is how long Run waits after a pull that ended failures failed pulls
// in a row.
func (p *Puller) wait(failures int) time.Duration {
	d := p.o.Interval
	limit := max(MaxBackoff, p.o.Interval)
	for range min(failures, 32) {
		d *= 2
		if d >= limit {
			return limit
		}
	}
	return d
}

// PullOnce pulls the alerts Alertmanager lists and saves, in one SaveAlerts
// call, those new or changed since the last pull, and those it no longer
// lists, as resolved. It returns how many alerts the sink inserted.
//
// An alert that left the API resolved between the pull that last listed it
// and this one; Alertmanager does not say when. Its EndsAt is the latest
// time it is known to have fired: the endsAt Alertmanager gave it if that
// has passed (Alertmanager resolved it then, as its sender stopped saying
// it fires), otherwise when the last pull that listed it ran. So EndsAt is
// at most one Interval early; a webhook notification of the resolution,
// which has the exact endsAt, overwrites it in the store (it comes later,
// after group_interval). The puller only remembers alerts since it started:
// one that resolves while steadywatch is down is resolved only by its
// webhook notification, and a silenced one not at all.
//
// Nothing is remembered from a failed pull or save: the next pull tries
// again. Every alert in the answer is checked before anything is saved.
func (p *Puller) PullOnce(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	began := time.Now()
	n, counts, err := p.pull(ctx)
	p.metrics.observe(p.o.Now(), time.Since(began), counts, err)
	return n, err
}

func (p *Puller) pull(ctx context.Context) (int, map[string]int, error) {
	now := p.o.Now()
	gettable, err := p.get(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("pulling alerts from %s: %w", p.base, err)
	}
	next := make(map[key]seen, len(gettable))
	counts := map[string]int{}
	var batch []alert.Alert
	for i, g := range gettable {
		a, endsAt, state, err := convert(g, now)
		if err != nil {
			return 0, nil, fmt.Errorf("pulling alerts from %s: alerts[%d]%w", p.base, i, err)
		}
		counts[state]++
		k := keyOf(&a)
		if prev, ok := p.seen[k]; !ok || changed(&prev.alert, &a) {
			batch = append(batch, a)
		} else {
			a = prev.alert
		}
		next[k] = seen{alert: a, lastSeen: now, endsAt: endsAt}
	}
	vanished := 0
	for k, s := range p.seen {
		if _, ok := next[k]; ok {
			continue
		}
		resolved := s.alert
		resolved.Status = alert.Resolved
		resolved.EndsAt = s.lastSeen
		if !s.endsAt.IsZero() && !s.endsAt.After(now) {
			resolved.EndsAt = s.endsAt
		}
		resolved.EndsAt = maxTime(resolved.EndsAt, resolved.StartsAt)
		resolved.ReceivedAt = now
		batch = append(batch, resolved)
		vanished++
	}
	inserted := 0
	if len(batch) > 0 {
		if inserted, err = p.o.Sink.SaveAlerts(ctx, batch); err != nil {
			return 0, nil, fmt.Errorf("saving %d alerts pulled from %s: %w", len(batch), p.base, err)
		}
	}
	p.seen = next
	p.metrics.vanished.Add(float64(vanished))
	return inserted, counts, nil
}

// get asks for the alerts and explains a failure with the HTTP status the
// client may have left out.
func (p *Puller) get(ctx context.Context) (models.GettableAlerts, error) {
	var answer answer
	params := amalert.NewGetAlertsParamsWithContext(withAnswer(ctx, &answer)).WithTimeout(p.o.Timeout)
	if len(p.o.Filter) > 0 {
		params.SetFilter(p.o.Filter)
	}
	if p.o.Receiver != "" {
		params.SetReceiver(&p.o.Receiver)
	}
	ok, err := p.api.Alert.GetAlerts(params)
	if err != nil {
		return nil, explain(err, &answer, p.o.Timeout)
	}
	if ok == nil || ok.Payload == nil {
		return nil, fmt.Errorf("%s: no list of alerts in the answer", answer)
	}
	return ok.Payload, nil
}

func explain(err error, ans *answer, timeout time.Duration) error {
	if ans.status == 0 { // no answer
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		return err
	}
	var (
		badRequest *amalert.GetAlertsBadRequest
		internal   *amalert.GetAlertsInternalServerError
		apiErr     *runtime.APIError
	)
	switch {
	case errors.As(err, &badRequest):
		return fmt.Errorf("%s: %s", ans, strings.TrimSpace(badRequest.Payload))
	case errors.As(err, &internal):
		return fmt.Errorf("%s: %s", ans, strings.TrimSpace(internal.Payload))
	case errors.As(err, &apiErr):
		return errors.New(ans.String())
	case ans.status/100 == 2 && !isJSON(ans.contentType):
		return fmt.Errorf("%s, not the JSON list of alerts Alertmanager gives: is the URL Alertmanager's?", ans)
	case ans.status/100 == 2:
		return fmt.Errorf("%s, whose body is not a list of alerts: %w", ans, err)
	default:
		return fmt.Errorf("%s: %w", ans, err)
	}
}

func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// convert checks an alert of the API and converts it. It also returns the
// endsAt Alertmanager gave it, and its state.
func convert(g *models.GettableAlert, now time.Time) (a alert.Alert, endsAt time.Time, state string, err error) {
	switch {
	case g == nil:
		return a, endsAt, "", errors.New(": null")
	case g.Fingerprint == nil || *g.Fingerprint == "":
		return a, endsAt, "", errors.New(".fingerprint: missing")
	case len(g.Labels) == 0:
		return a, endsAt, "", errors.New(".labels: missing")
	case g.StartsAt == nil || time.Time(*g.StartsAt).IsZero():
		return a, endsAt, "", errors.New(".startsAt: missing")
	case g.Status == nil || g.Status.State == nil:
		return a, endsAt, "", errors.New(".status.state: missing")
	}
	switch state = *g.Status.State; state {
	case StateActive, StateSuppressed, StateUnprocessed:
	default:
		return a, endsAt, "", fmt.Errorf(".status.state: %q is none of %s, %s, %s",
			state, StateActive, StateSuppressed, StateUnprocessed)
	}
	if g.EndsAt != nil {
		endsAt = time.Time(*g.EndsAt).UTC()
	}
	a = alert.Alert{
		Fingerprint:  *g.Fingerprint,
		Status:       alert.Firing,
		Labels:       maps.Clone(map[string]string(g.Labels)),
		Annotations:  maps.Clone(map[string]string(g.Annotations)),
		StartsAt:     time.Time(*g.StartsAt).UTC(),
		GeneratorURL: string(g.GeneratorURL),
		ReceivedAt:   now,
		Source:       Source,
	}
	return a, endsAt, state, nil
}

// changed reports whether a pulled alert differs from what was saved of it
// in what the store keeps (not the receipt time).
func changed(saved, pulled *alert.Alert) bool {
	return saved.Status != pulled.Status ||
		!saved.EndsAt.Equal(pulled.EndsAt) ||
		saved.GeneratorURL != pulled.GeneratorURL ||
		!maps.Equal(saved.Labels, pulled.Labels) ||
		!maps.Equal(saved.Annotations, pulled.Annotations)
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// answer is what the server answered, recorded by recordingTransport.
type answer struct {
	method, url string
	status      int
	contentType string
}

func (a answer) String() string {
	s := a.method + " " + a.url + " answered " + strconv.Itoa(a.status) + " " + http.StatusText(a.status)
	if a.contentType != "" {
		s += " (" + a.contentType + ")"
	}
	return s
}

type answerKey struct{}

func withAnswer(ctx context.Context, a *answer) context.Context {
	return context.WithValue(ctx, answerKey{}, a)
}

// recordingTransport records the answer to a request whose context has an
// *answer.
type recordingTransport struct{ next http.RoundTripper }

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if a, ok := req.Context().Value(answerKey{}).(*answer); ok && err == nil {
		u := *req.URL
		u.User, u.RawQuery = nil, ""
		*a = answer{method: req.Method, url: u.String(), status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	}
	return resp, err
}
