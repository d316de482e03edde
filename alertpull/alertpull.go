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
//
// One bad alert does not block the others: an alert the store cannot keep
// (package store/limits) or that is malformed is skipped, counted by the
// field at fault and logged once while it stays listed, and the rest of
// the pull is saved (see Puller.PullOnce).
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
	"unicode/utf8"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/client"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/timex"
	"github.com/steadywatch/steadywatch/store/limits"
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
	// rejected are the alerts skipped at the last pull, logged and counted
	// already.
	rejected map[rejectKey]struct{}
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
//
// One bad alert does not fail the pull: an alert beyond what the store can
// keep (package limits: a fingerprint over 64 bytes, NUL in a label,
// annotation or generatorURL, a startsAt outside years 1678 to 2261) or
// malformed (no fingerprint, labels, startsAt or state, an unknown state,
// null) is skipped, and the others are saved. It is counted in
// steadywatch_alertmanager_pull_rejected_alerts_total by the field at fault
// and logged at WARN, once while it stays listed (known by its fingerprint
// and startsAt), not at every pull. A skipped alert is not saved, so not
// resolved when it leaves; one saved before, and listed since with what
// cannot be stored, keeps what was saved until it leaves. Its endsAt is no
// reason to skip it: a firing alert is saved without it. An answer that is
// not a list of alerts (not JSON, a field of the wrong type, an HTTP error)
// still fails the pull.
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
	rejected := map[rejectKey]struct{}{}
	counts := map[string]int{}
	var batch []alert.Alert
	for _, g := range gettable {
		if state := stateOf(g); state != "" {
			counts[state]++
		}
		endsAt := endsAtOf(g)
		a, r := convert(g, now)
		if r != nil {
			p.reject(g, r, rejected)
			// Still listed, so still firing: an alert saved before keeps
			// what was saved, and is not resolved as vanished. One never
			// saved is not remembered, so never resolved either.
			if k, ok := savedKey(g); ok {
				if prev, ok := p.seen[k]; ok {
					next[k] = seen{alert: prev.alert, lastSeen: now, endsAt: endsAt}
				}
			}
			continue
		}
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
		resolved.EndsAt = timex.Max(resolved.EndsAt, resolved.StartsAt)
		resolved.ReceivedAt = now
		batch = append(batch, resolved)
		vanished++
	}
	// Logged and counted already, whether or not the save succeeds.
	p.rejected = rejected
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

// rejection is why the puller skipped an alert of the API.
type rejection struct {
	reason string // the label of AlertmanagerPullRejectedAlerts
	field  string // its path as the API's JSON names it, e.g. labels.alertname
	msg    string
}

// convert checks an alert of the API against what Alertmanager answers
// and what the store can keep (package limits, the store's own
// definition), and converts it.
func convert(g *models.GettableAlert, now time.Time) (alert.Alert, *rejection) {
	bad := func(reason, field, format string, args ...any) (alert.Alert, *rejection) {
		return alert.Alert{}, &rejection{reason: reason, field: field, msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case g == nil:
		return bad(contract.RejectedFingerprint, "fingerprint", "missing (the alert is null)")
	case g.Fingerprint == nil || *g.Fingerprint == "":
		return bad(contract.RejectedFingerprint, "fingerprint", "missing")
	case limits.Fingerprint(*g.Fingerprint) != nil:
		return bad(contract.RejectedFingerprint, "fingerprint", "%v", limits.Fingerprint(*g.Fingerprint))
	case len(g.Labels) == 0:
		return bad(contract.RejectedLabels, "labels", "missing")
	}
	if err := limits.Map("labels", g.Labels); err != nil {
		path, msg := split(err, "labels")
		return bad(contract.RejectedLabels, path, "%s", msg)
	}
	switch {
	case g.StartsAt == nil || time.Time(*g.StartsAt).IsZero():
		return bad(contract.RejectedStartsAt, "startsAt", "missing")
	case limits.Time(time.Time(*g.StartsAt)) != nil:
		return bad(contract.RejectedStartsAt, "startsAt", "%v", limits.Time(time.Time(*g.StartsAt).UTC()))
	case g.Status == nil || g.Status.State == nil:
		return bad(contract.RejectedStatus, "status.state", "missing")
	case stateOf(g) == "":
		return bad(contract.RejectedStatus, "status.state", "%q is none of %s, %s, %s",
			*g.Status.State, StateActive, StateSuppressed, StateUnprocessed)
	}
	if err := limits.Map("annotations", g.Annotations); err != nil {
		path, msg := split(err, "annotations")
		return bad(contract.RejectedAnnotations, path, "%s", msg)
	}
	if err := limits.Text(string(g.GeneratorURL)); err != nil {
		return bad(contract.RejectedGeneratorURL, "generatorURL", "%v", err)
	}
	return alert.Alert{
		Fingerprint:  *g.Fingerprint,
		Status:       alert.Firing,
		Labels:       maps.Clone(map[string]string(g.Labels)),
		Annotations:  maps.Clone(map[string]string(g.Annotations)),
		StartsAt:     time.Time(*g.StartsAt).UTC(),
		GeneratorURL: string(g.GeneratorURL),
		ReceivedAt:   now,
		Source:       Source,
	}, nil
}

// split splits an error of limits.Map into the path it names and what is
// wrong there.
func split(err error, field string) (path, msg string) {
	if pe, ok := errors.AsType[*limits.PathError](err); ok {
		return pe.Path, pe.Err.Error()
	}
	return field, err.Error()
}

// stateOf is g's state if Alertmanager's API knows it, otherwise "".
func stateOf(g *models.GettableAlert) string {
	if g == nil || g.Status == nil || g.Status.State == nil {
		return ""
	}
	switch state := *g.Status.State; state {
	case StateActive, StateSuppressed, StateUnprocessed:
		return state
	}
	return ""
}

// endsAtOf is the endsAt Alertmanager gave g, if any: when Alertmanager
// resolves it unless its sender says again that it fires.
func endsAtOf(g *models.GettableAlert) time.Time {
	if g == nil || g.EndsAt == nil {
		return time.Time{}
	}
	return time.Time(*g.EndsAt).UTC()
}

// savedKey is g's key if it has one the store can keep.
func savedKey(g *models.GettableAlert) (key, bool) {
	if g == nil || g.Fingerprint == nil || g.StartsAt == nil {
		return key{}, false
	}
	startsAt := time.Time(*g.StartsAt)
	if startsAt.IsZero() || limits.Time(startsAt) != nil {
		return key{}, false
	}
	return key{*g.Fingerprint, startsAt.UnixNano()}, true
}

// rejectKey identifies a skipped alert by its fingerprint and startsAt,
// either maybe missing or beyond what the store can keep.
type rejectKey struct {
	fingerprint string
	sec         int64
	nsec        int
}

func rejectKeyOf(g *models.GettableAlert) rejectKey {
	var k rejectKey
	if g == nil {
		return k
	}
	if g.Fingerprint != nil {
		k.fingerprint = *g.Fingerprint
	}
	if g.StartsAt != nil {
		t := time.Time(*g.StartsAt)
		k.sec, k.nsec = t.Unix(), t.Nanosecond()
	}
	return k
}

// reject counts and logs a skipped alert, unless it was skipped at the last
// pull or already at this one, and adds it to rejected, this pull's.
func (p *Puller) reject(g *models.GettableAlert, r *rejection, rejected map[rejectKey]struct{}) {
	k := rejectKeyOf(g)
	_, again := rejected[k]
	_, before := p.rejected[k]
	rejected[k] = struct{}{}
	if again || before {
		return
	}
	p.metrics.rejected.WithLabelValues(r.reason).Inc()
	attrs := []any{"url", p.base, "fingerprint", shorten(k.fingerprint)}
	if g != nil && g.Labels["alertname"] != "" {
		attrs = append(attrs, "alertname", shorten(g.Labels["alertname"]))
	}
	if g != nil && g.StartsAt != nil {
		attrs = append(attrs, "startsAt", time.Time(*g.StartsAt).UTC().Format(time.RFC3339Nano))
	}
	attrs = append(attrs, "field", r.field, "problem", r.msg)
	p.o.Logger.Warn("skipping an alert Alertmanager listed (logged once while it stays listed)", attrs...)
}

// shorten cuts s, for a log line, to at most limits.MaxFingerprintBytes
// and its length.
func shorten(s string) string {
	if len(s) <= limits.MaxFingerprintBytes {
		return s
	}
	i := limits.MaxFingerprintBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.ToValidUTF8(s[:i], "\uFFFD") + "… (" + strconv.Itoa(len(s)) + " bytes)"
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
