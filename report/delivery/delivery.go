// Package delivery sends the weekly report to webhooks on a schedule
// (reports.delivery): each (webhook, week) recorded in the store before it
// is attempted, retried with backoff across restarts, and never sent
// twice once the store says it was delivered.
package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
	"github.com/steadywatch/steadywatch/internal/timex"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
)

// IdempotencyKeyHeader carries "<webhook name>/<week>" on every request,
// the same on every attempt of a delivery.
const IdempotencyKeyHeader = "Idempotency-Key"

// Clock is the time the schedule and the backoff follow.
type Clock interface {
	Now() time.Time
	// Alarm is a channel that receives once the time is at or past t.
	Alarm(t time.Time) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Alarm fires at t.
func (RealClock) Alarm(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Store is what deliveries are recorded in and reports read from.
type Store interface {
	report.Source
	CreateDelivery(ctx context.Context, d store.Delivery) (bool, error)
	UpdateDelivery(ctx context.Context, d store.Delivery, attempts int) (bool, error)
	Deliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
}

// Options configure a Deliverer.
type Options struct {
	Config config.Delivery
	// Report are the options of the reports sent but their range.
	Report report.Options
	Store  Store
	// Clock defaults to RealClock.
	Clock Clock
	// Client defaults to an http.Client with Config.Timeout.
	Client     *http.Client
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Deliverer sends the weekly report to the configured webhooks.
type Deliverer struct {
	o        Options
	sched    schedule
	webhooks map[string]config.Webhook
	log      *slog.Logger
	sent     *prometheus.CounterVec
	// scheduled is the week last recorded for each webhook, so that a
	// pass records it once, not at each wake-up.
	scheduled map[string]string

	mu      sync.Mutex
	pending map[string]int
}

// New checks the options and makes a Deliverer; Run starts it.
func New(o Options) (*Deliverer, error) {
	if o.Store == nil {
		return nil, errors.New("delivery: no store")
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: time.Duration(o.Config.Timeout)}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Deliverer{
		o: o, sched: newSchedule(o.Config.Schedule), webhooks: map[string]config.Webhook{},
		log: o.Logger, scheduled: map[string]string{}, pending: map[string]int{},
	}
	d.sent = contractprom.CounterVec(promauto.With(o.Registerer), contract.ReportDeliveries)
	for _, w := range o.Config.Webhooks {
		d.webhooks[w.Name] = w
		d.pending[w.Name] = 0
		for _, r := range contract.DeliveryResults {
			d.sent.WithLabelValues(w.Name, r)
		}
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(pendingCollector{d}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Run records and sends deliveries until ctx ends: at start it resumes the
// pending ones and records the latest scheduled one that has passed.
func (d *Deliverer) Run(ctx context.Context) {
	if len(d.webhooks) == 0 {
		return
	}
	for {
		next := d.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-d.o.Clock.Alarm(next):
		}
	}
}

// pass records the latest scheduled delivery, attempts the pending ones
// that are due, and returns when to look again.
func (d *Deliverer) pass(ctx context.Context) time.Time {
	now := d.o.Clock.Now()
	retry := now.Add(time.Duration(d.o.Config.MinBackoff))
	if err := d.record(ctx, now); err != nil {
		d.log.Error("recording the scheduled report deliveries; retrying", "retry_at", retry, "err", err)
		return retry
	}
	pending, err := d.o.Store.Deliveries(ctx, store.DeliveryFilter{State: store.DeliveryPending})
	if err != nil {
		d.log.Error("reading the pending report deliveries; retrying", "retry_at", retry, "err", err)
		return retry
	}
	counts := map[string]int{}
	next := d.sched.next(now)
	changed := false
	for _, p := range pending {
		w, ok := d.webhooks[p.Webhook]
		if !ok {
			continue // no longer configured: left as it is
		}
		counts[p.Webhook]++
		if ctx.Err() != nil {
			break
		}
		if p.NextAttempt.After(now) {
			next = timex.Min(next, p.NextAttempt)
			continue
		}
		if d.attempt(ctx, w, p) {
			changed = true
			continue
		}
		// The claim could not be saved: the store is read but not
		// written. Looking again at once would spin; wait as after a
		// failed attempt.
		next = timex.Min(next, retry)
	}
	d.setPending(counts)
	if changed {
		return now // look again: the attempts changed what is pending
	}
	return next
}

// record records, for each webhook, the delivery of the latest scheduled
// time that has passed, unless it is recorded already: a week missed while
// serve was down is caught up, at most the last one. A webhook with no
// delivery recorded yet (new, or a new store) starts with the latest
// scheduled time only if it passed less than max_age ago, when a delivery
// would still be tried: not with a report days late.
func (d *Deliverer) record(ctx context.Context, now time.Time) error {
	due := d.sched.latest(now)
	week := report.LastWeek(due, d.sched.loc).Week
	for name := range d.webhooks {
		if d.scheduled[name] == week {
			continue
		}
		if now.Sub(due) >= time.Duration(d.o.Config.MaxAge) {
			before, err := d.o.Store.Deliveries(ctx, store.DeliveryFilter{Webhook: name})
			if err != nil {
				return err
			}
			if len(before) == 0 {
				d.scheduled[name] = week
				continue
			}
		}
		created, err := d.o.Store.CreateDelivery(ctx, store.Delivery{
			Webhook: name, Week: week, Due: due, Created: now, Updated: now,
			State: store.DeliveryPending, NextAttempt: now,
		})
		if err != nil {
			return err
		}
		if created {
			d.log.Info("report delivery recorded", "webhook", name, "week", week, "due", due)
		}
		d.scheduled[name] = week
	}
	return nil
}

// attempt claims one attempt of p (recording it before it is made, so that
// a crash in the middle counts it and waits the backoff), sends the report
// and records the outcome. It reports whether the store changed: false
// when the claim could not be saved.
//
// The claim holds the delivery for the attempt's whole length, the report's
// build and the request each given up to timeout, or the backoff if that is
// longer: no other serve attempts it meanwhile, and the attempt is
// cancelled when its hold ends.
func (d *Deliverer) attempt(ctx context.Context, w config.Webhook, p store.Delivery) bool {
	cfg := d.o.Config
	now := d.o.Clock.Now()
	hold := 2 * time.Duration(cfg.Timeout)
	wait := backoff(p.Attempts+1, time.Duration(cfg.MinBackoff), time.Duration(cfg.MaxBackoff))
	claim := p
	claim.Attempts++
	claim.Updated = now
	claim.NextAttempt = now.Add(max(wait, hold))
	claimed, err := d.o.Store.UpdateDelivery(ctx, claim, p.Attempts)
	if err != nil {
		d.log.Error("recording a report delivery attempt; retrying", "webhook", w.Name, "week", p.Week, "err", err)
		return false
	}
	if !claimed {
		return true // another serve claimed it, or it changed since it was read
	}
	attemptCtx, cancel := context.WithTimeout(ctx, hold)
	sendErr := d.send(attemptCtx, w, p.Week)
	cancel()
	if ctx.Err() != nil && sendErr != nil {
		// Stopped mid-attempt: the attempt stays recorded, and the next
		// start tries again once its hold has passed.
		return true
	}
	now = d.o.Clock.Now()
	result := claim
	result.Updated = now
	expires := p.Due.Add(time.Duration(cfg.MaxAge))
	var outcome string
	switch {
	case sendErr == nil:
		result.State, result.NextAttempt, result.LastError = store.DeliveryDelivered, time.Time{}, ""
		outcome = contract.DeliveryDelivered
	case cfg.MaxAttempts > 0 && result.Attempts >= cfg.MaxAttempts || !now.Before(expires):
		result.State, result.NextAttempt, result.LastError = store.DeliveryFailed, time.Time{}, sendErr.Error()
		outcome = contract.DeliveryFailed
	default:
		// The backoff runs from the attempt's start; the last attempt is
		// made at max_age, not later.
		result.NextAttempt = timex.Min(claim.Updated.Add(wait), expires)
		result.LastError = sendErr.Error()
		outcome = contract.DeliveryRetry
	}
	attrs := []any{"webhook", w.Name, "week", p.Week, "attempt", result.Attempts}
	// Recorded even if ctx ended meanwhile: the webhook has answered.
	recCtx, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelRec()
	updated, err := d.o.Store.UpdateDelivery(recCtx, result, claim.Attempts)
	switch {
	case err != nil:
		// Delivered but not recorded: the next attempt, after the claim's
		// hold, sends it again, with the same Idempotency-Key.
		d.log.Error("recording a report delivery's outcome", append(attrs, "outcome", outcome, "err", err)...)
		return true
	case !updated:
		d.log.Error("a report delivery changed while it was being sent (another serve past the claim's hold?); its outcome is not recorded",
			append(attrs, "outcome", outcome, "send_err", sendErr)...)
		return true
	}
	// Counted once recorded, so that the count never runs ahead of the
	// store.
	d.sent.WithLabelValues(w.Name, outcome).Inc()
	switch outcome {
	case contract.DeliveryDelivered:
		d.log.Info("weekly report delivered", attrs...)
	case contract.DeliveryFailed:
		d.log.Error("weekly report delivery failed; giving up", append(attrs, "err", sendErr)...)
	default:
		d.log.Warn("weekly report delivery failed; retrying", append(attrs, "retry_at", result.NextAttempt, "err", sendErr)...)
	}
	return true
}

// backoff is the wait after the attempt-th failed attempt: min doubled
// attempt−1 times, at most max.
func backoff(attempt int, minWait, maxWait time.Duration) time.Duration {
	b := minWait
	for i := 1; i < attempt && b < maxWait; i++ {
		b *= 2
	}
	return min(b, maxWait)
}

// send computes week's report and POSTs it to w.
func (d *Deliverer) send(ctx context.Context, w config.Webhook, week string) error {
	body, err := d.payload(ctx, w, week)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "steadywatch")
	req.Header.Set(IdempotencyKeyHeader, w.Name+"/"+week)
	if w.BearerTokenFile != "" {
		token, err := os.ReadFile(w.BearerTokenFile)
		if err != nil {
			return fmt.Errorf("bearer_token_file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read only
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // lets the connection be reused
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	return fmt.Errorf("%s answered %s: %s", w.Name, resp.Status, strings.TrimSpace(string(msg)))
}

// payload is week's report as w's format wants it.
func (d *Deliverer) payload(ctx context.Context, w config.Webhook, week string) ([]byte, error) {
	rg, err := report.ParseWeek(week, d.sched.loc)
	if err != nil {
		return nil, err
	}
	opts := d.o.Report
	opts.Range, opts.Now = rg, d.o.Clock.Now
	rep, err := report.Weekly(ctx, d.o.Store, opts)
	if err != nil {
		return nil, fmt.Errorf("computing the report: %w", err)
	}
	var b bytes.Buffer
	if w.Format == config.WebhookSlack {
		err = writeSlack(&b, rep, w.Link)
	} else {
		err = report.WriteJSON(&b, rep)
	}
	return b.Bytes(), err
}

func (d *Deliverer) setPending(counts map[string]int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name := range d.pending {
		d.pending[name] = counts[name]
	}
}

// pendingCollector exports the pending deliveries as of the last pass.
type pendingCollector struct{ d *Deliverer }

var pendingDesc = contractprom.Desc(contract.ReportDeliveryPending)

func (pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- pendingDesc }

func (c pendingCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	for name, n := range c.d.pending {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n), name)
	}
}
