// Package receiver is the HTTP endpoint Alertmanager's webhook notifier
// posts alerts to: it validates a notification, stores its alerts and only
// then acknowledges it, so Alertmanager retries whatever was not stored.
//
// One bad alert does not block the others. Alertmanager retries a 5xx until
// the notification expires and never retries a 4xx, so an alert no retry
// would fix (one Alertmanager would not send, or beyond what the store can
// keep, checked up front with the store's own limits from store/limits) is
// rejected alone: the others are stored and the notification answered 200,
// the rejected listed in the body and counted in
// steadywatch_alerts_rejected_total by the field at fault. Rejecting the
// whole notification with 400 would lose the good alerts with the bad, and
// letting the store refuse the batch answered 503 for ever. A notification
// whose every alert is rejected gets 400, since nothing of it was stored; a
// body that is not what Alertmanager's encoder writes gets 400 whole.
package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/web"
)

// Path is where the receiver is served; Alertmanager's webhook_config url
// points here.
const Path = contract.WebhookPath

// Defaults of Options.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultSeverityLabel = "severity"
	DefaultMaxAlertNames = 1000
	// DefaultMaxLabelValues is how many services and how many severities
	// are counted apart: more than a cluster's services and far more than
	// its severities, while a rule putting a pod or a request ID in one of
	// them adds at most that many series.
	DefaultMaxLabelValues = 100
	// DefaultMaxInFlightBytes bounds the bodies being read, decoded and
	// stored at once: 16 notifications of DefaultMaxBodyBytes. Decoding
	// takes 10 to 15 times a body's size in memory (maps of labels and
	// annotations, strings), so this keeps the receiver's share of the heap
	// to a few hundred MiB whatever the clients send.
	DefaultMaxInFlightBytes = 16 << 20
)

// RetryAfter is the Retry-After of a 503 answered while the bodies in
// flight are at Options.MaxInFlightBytes.
const RetryAfter = 5 * time.Second

// DefaultServiceLabels are the alert labels tried, in order, for the service
// label of steadywatch_alerts_received_total.
var DefaultServiceLabels = []string{"service", "app_kubernetes_io_name", "app"}

// maxMessageBytes bounds the error messages sent back, which may quote the
// request (a version string, a time that does not parse).
const maxMessageBytes = 1024

// Sink stores alerts; store.Store is one. SaveAlerts must return nil only
// once the alerts are durable, and must treat an alert it already has (same
// fingerprint and startsAt) as an update, since Alertmanager retries.
type Sink interface {
	SaveAlerts(ctx context.Context, alerts []alert.Alert) (inserted int, err error)
}

// Options configure a Receiver. Only Sink is required.
type Options struct {
	Sink Sink
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registerer gets the receiver's metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
	// MaxBodyBytes bounds a notification's size; larger ones get 413.
	// It defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxInFlightBytes bounds the bytes of the bodies being read, decoded
	// and stored at once: each request reserves its Content-Length, or
	// MaxBodyBytes when it has none (chunked), until it is answered; one
	// that does not fit is answered 503 with Retry-After, which
	// Alertmanager retries. It defaults to DefaultMaxInFlightBytes (or
	// MaxBodyBytes if that is larger) and must not be below MaxBodyBytes.
	MaxInFlightBytes int64
	// Now stamps alert.Alert.ReceivedAt; it defaults to time.Now.
	Now func() time.Time
	// ServiceLabels are the alert labels tried, in order, for the service
	// label of the alert counter. They default to DefaultServiceLabels.
	ServiceLabels []string
	// SeverityLabel is the alert label counted as severity. It defaults to
	// DefaultSeverityLabel.
	SeverityLabel string
	// MaxAlertNames is how many distinct alert names are counted apart;
	// later ones count as OtherAlertName. It defaults to
	// DefaultMaxAlertNames.
	MaxAlertNames int
	// MaxLabelValues is how many distinct services, and how many distinct
	// severities, are counted apart; later ones count as OtherLabelValue.
	// It defaults to DefaultMaxLabelValues.
	MaxLabelValues int
	// Auth, if set, authenticates requests before anything else; the 401s
	// it answers are counted in steadywatch_webhook_requests_total and in
	// steadywatch_http_unauthorized_total{handler="webhook"}.
	Auth *web.Auth
}

// Receiver is the webhook endpoint, an http.Handler for Path.
type Receiver struct {
	sink    Sink
	log     *slog.Logger
	maxBody int64
	budget  *budget
	now     func() time.Time
	metrics *metrics
	handler http.Handler
}

// New returns a Receiver.
func New(o Options) (*Receiver, error) {
	if o.Sink == nil {
		return nil, errors.New("receiver: no Sink")
	}
	if o.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("receiver: MaxBodyBytes %d is negative", o.MaxBodyBytes)
	}
	if o.MaxInFlightBytes < 0 {
		return nil, fmt.Errorf("receiver: MaxInFlightBytes %d is negative", o.MaxInFlightBytes)
	}
	if o.MaxAlertNames < 0 {
		return nil, fmt.Errorf("receiver: MaxAlertNames %d is negative", o.MaxAlertNames)
	}
	if o.MaxLabelValues < 0 {
		return nil, fmt.Errorf("receiver: MaxLabelValues %d is negative", o.MaxLabelValues)
	}
	for i, l := range o.ServiceLabels {
		if l == "" {
			return nil, fmt.Errorf("receiver: ServiceLabels[%d] is empty", i)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxInFlightBytes == 0 {
		o.MaxInFlightBytes = max(DefaultMaxInFlightBytes, o.MaxBodyBytes)
	}
	if o.MaxInFlightBytes < o.MaxBodyBytes {
		return nil, fmt.Errorf("receiver: MaxInFlightBytes %d is below MaxBodyBytes %d: a body of the largest size could never be read",
			o.MaxInFlightBytes, o.MaxBodyBytes)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ServiceLabels == nil {
		o.ServiceLabels = DefaultServiceLabels
	}
	if o.SeverityLabel == "" {
		o.SeverityLabel = DefaultSeverityLabel
	}
	if o.MaxAlertNames == 0 {
		o.MaxAlertNames = DefaultMaxAlertNames
	}
	if o.MaxLabelValues == 0 {
		o.MaxLabelValues = DefaultMaxLabelValues
	}
	r := &Receiver{
		sink:    o.Sink,
		log:     o.Logger,
		maxBody: o.MaxBodyBytes,
		now:     o.Now,
		metrics: newMetrics(o.Registerer, &o),
	}
	r.budget = &budget{max: o.MaxInFlightBytes, gauge: r.metrics.inFlight}
	var h http.Handler = http.HandlerFunc(r.serve)
	if o.Auth != nil {
		h = o.Auth.WrapNamed(contract.HandlerWebhook, h)
	}
	r.handler = promhttp.InstrumentHandlerCounter(r.metrics.requests,
		promhttp.InstrumentHandlerDuration(r.metrics.duration, h))
	return r, nil
}

// ServeHTTP answers 200 once every valid alert of the notification is
// stored, listing the rejected ones; 503 if storing failed or the bodies in
// flight are at their limit (Alertmanager retries); and 4xx for requests
// that no retry would fix, a notification of rejected alerts only
// included; then nothing is stored.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.handler.ServeHTTP(w, req)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.fail(w, req, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed: want POST", req.Method))
		return
	}
	if err := checkContentType(req.Header.Get("Content-Type"), req.Header.Get("Content-Encoding")); err != nil {
		r.fail(w, req, http.StatusUnsupportedMediaType, err)
		return
	}
	if req.ContentLength > r.maxBody {
		r.fail(w, req, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", r.maxBody))
		return
	}
	// The reservation is held until the answer: the decoded alerts live
	// until they are stored.
	reserved := req.ContentLength
	if reserved < 0 {
		reserved = r.maxBody
	}
	if used, ok := r.budget.reserve(reserved); !ok {
		r.metrics.busy.Inc()
		r.log.Debug("Webhook request refused: too many bytes in flight", "remote", req.RemoteAddr, "bytes", reserved)
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
		writeText(w, http.StatusServiceUnavailable, fmt.Sprintf(
			"busy: %d bytes of notifications in flight, %d more would exceed %d; retry later", used, reserved, r.budget.max))
		return
	}
	defer r.budget.release(reserved)
	body, err := r.read(w, req)
	if err != nil {
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			r.fail(w, req, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", tooLarge.Limit))
			return
		}
		r.fail(w, req, http.StatusBadRequest, fmt.Errorf("reading body: %w", err))
		return
	}
	alerts, rejected, err := Decode(body, r.now())
	if err != nil {
		r.fail(w, req, http.StatusBadRequest, err)
		return
	}
	if len(alerts) == 0 && len(rejected) > 0 {
		r.metrics.rejectedAlerts(rejected)
		r.fail(w, req, http.StatusBadRequest, rejectedError(rejected))
		return
	}
	if len(alerts) == 0 {
		writeText(w, http.StatusOK, "no alerts")
		return
	}
	inserted, err := r.sink.SaveAlerts(req.Context(), alerts)
	if err != nil {
		r.log.Error("Storing alerts failed; Alertmanager will retry", "alerts", len(alerts), "remote", req.RemoteAddr, "err", err)
		writeText(w, http.StatusServiceUnavailable, "alerts not stored, retry later: "+err.Error())
		return
	}
	r.metrics.stored(alerts)
	r.log.Debug("Stored alerts", "alerts", len(alerts), "new", inserted, "receiver", alerts[0].Receiver)
	msg := "stored " + strconv.Itoa(len(alerts)) + " alerts (" + strconv.Itoa(inserted) + " new)"
	if len(rejected) > 0 {
		r.metrics.rejectedAlerts(rejected)
		r.log.Warn("Rejected alerts of a webhook notification; stored the others",
			"rejected", len(rejected), "stored", len(alerts), "remote", req.RemoteAddr, "first", truncate(rejected[0].Error()))
		msg += ", rejected " + strconv.Itoa(len(rejected)) + ":\n" + rejectedError(rejected).Error()
	}
	writeText(w, http.StatusOK, msg)
}

// rejectedError lists the rejected alerts, one a line.
func rejectedError(rejected []*AlertError) error {
	lines := make([]string, len(rejected))
	for i, e := range rejected {
		lines[i] = e.Error()
	}
	return errors.New(strings.Join(lines, "\n"))
}

// read reads the body; serve has refused a Content-Length over r.maxBody
// already, and MaxBytesReader stops a chunked one.
func (r *Receiver) read(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
}

func (r *Receiver) fail(w http.ResponseWriter, req *http.Request, code int, err error) {
	msg := truncate(err.Error())
	r.log.Warn("Rejected webhook request", "code", code, "remote", req.RemoteAddr, "err", msg)
	writeText(w, code, msg)
}

// checkContentType accepts what Alertmanager sends, uncompressed
// application/json, and no content type at all, as curl and some proxies
// send.
func checkContentType(ct, encoding string) error {
	if encoding != "" && !strings.EqualFold(encoding, "identity") {
		return fmt.Errorf("content encoding %s not supported: send the body uncompressed", truncate(strconv.Quote(encoding)))
	}
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %s: %w", truncate(strconv.Quote(ct)), err)
	}
	if mt != "application/json" {
		return fmt.Errorf("content type %s not supported: want application/json", truncate(strconv.Quote(mt)))
	}
	if cs, ok := params["charset"]; ok && cs != "utf-8" && cs != "UTF-8" {
		return fmt.Errorf("charset %s not supported: want utf-8", truncate(strconv.Quote(cs)))
	}
	return nil
}

func writeText(w http.ResponseWriter, code int, msg string) {
	http.Error(w, truncate(msg), code)
}

// truncate cuts s to maxMessageBytes on a rune boundary.
func truncate(s string) string {
	if len(s) <= maxMessageBytes {
		return s
	}
	cut := maxMessageBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
