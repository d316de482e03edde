package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// newVerdictLoop loads the hypotheses and builds their judge. Bad
// hypothesis files are an error, naming the file, line and field, and so
// is a step shorter than verdicts.scrape_interval; without it the loop's
// checkIntervals asks Prometheus.
func newVerdictLoop(cfg config.Verdicts, election config.LeaderElection, events tracker.Store, db store.Store, coverage verdict.CoverageSource,
	verdicts *verdict.Board, log *slog.Logger, now func() time.Time,
) (*verdictLoop, error) {
	hyps, err := hypothesis.Load(cfg.Hypotheses...)
	if err != nil {
		return nil, configError(fmt.Errorf("verdicts.hypotheses: %w", err))
	}
	for i := range hyps {
		if err := hyps[i].CheckScrapeInterval(time.Duration(cfg.ScrapeInterval)); err != nil {
			return nil, configError(fmt.Errorf("verdicts.hypotheses: %w (verdicts.scrape_interval)", err))
		}
	}
	if err := promsource.CheckURL(cfg.PrometheusURL); err != nil {
		return nil, configError(fmt.Errorf("verdicts.prometheus_url: %w", err))
	}
	promClient, err := newHTTPClient("verdicts.prometheus_http_client", cfg.PrometheusHTTPClient)
	if err != nil {
		return nil, err
	}
	judge, err := promsource.NewJudge(promsource.Options{URL: cfg.PrometheusURL, HTTPClient: promClient}, verdict.Options{
		Store: events, Alerts: db, Experiments: db, Coverage: coverage, Logger: log, Now: now,
		ScrapeInterval: time.Duration(cfg.ScrapeInterval),
	})
	if err != nil {
		return nil, err
	}
	l := &verdictLoop{
		judge: judge, hypotheses: hyps, verdicts: verdicts, history: db,
		interval: time.Duration(cfg.Interval), log: log, now: now,
		cfg: cfg, promClient: promClient, election: election,
	}
	if cfg.AbortAlertmanagerURL != "" {
		amClient, err := newHTTPClient("verdicts.abort_alertmanager_http_client", cfg.AbortAlertmanagerHTTPClient)
		if err != nil {
			return nil, err
		}
		if l.abort, err = abort.New(abort.Options{URL: cfg.AbortAlertmanagerURL, HTTPClient: amClient}); err != nil {
			return nil, configError(fmt.Errorf("verdicts.abort_alertmanager_url: %w", err))
		}
	}
	return l, nil
}

// checkIntervals asks Prometheus, once, for the scrape intervals, unless
// verdicts.scrape_interval is set, and refuses a hypothesis whose step is
// shorter: a configuration error. A Prometheus that cannot tell within ctx
// (up to 10 s when it never answers) is logged and checks nothing. It runs
// in the loop's goroutine, so a slow Prometheus delays no other part of
// serve.
func (l *verdictLoop) checkIntervals(ctx context.Context) error {
	if l.cfg.ScrapeInterval > 0 {
		return nil // checked against each hypothesis when the loop was made
	}
	iv, ok := promsource.KnownIntervals(ctx, promsource.Options{URL: l.cfg.PrometheusURL, HTTPClient: l.promClient, Logger: l.log})
	if !ok {
		return nil
	}
	for i := range l.hypotheses {
		if err := l.hypotheses[i].CheckIntervals(iv); err != nil {
			return configError(fmt.Errorf("verdicts.hypotheses: %w (verdicts.prometheus_url; verdicts.scrape_interval overrides)", err))
		}
	}
	return nil
}

// Judger judges a hypothesis at a time; *verdict.Judge is one.
type Judger interface {
	Judge(ctx context.Context, h *hypothesis.Hypothesis, at time.Time) (verdict.Verdict, error)
}

// verdictHistory keeps the history of verdicts; store.Store is one.
type verdictHistory interface {
	SaveVerdict(ctx context.Context, t verdict.Transition) error
	LatestVerdicts(ctx context.Context, before time.Time) ([]verdict.Transition, error)
}

// maxPending bounds the transitions of one hypothesis waiting for a store
// that fails: a day of a verdict changing every judgement at a minute.
const maxPending = 1440

// verdictLoop judges every hypothesis each interval, records the verdicts
// for the metrics and the API, and raises or resolves the abort alert.
// A hypothesis whose fixed window is over is judged once more after it
// ended and then kept: its verdict is final, and judging it again after
// Prometheus' retention dropped the data would turn it inconclusive.
//
// The verdicts that change the one before (verdict.Transition.Changes) go
// to the history, written through to the store at the judgement, in
// order. One the store fails to take waits, and is tried again at the next
// judgement, as it was judged; what waits is lost only if serve stops
// first (it is logged). Comparing with the last verdict stored, read at
// the first save, a restart does not record again the verdict in force.
type verdictLoop struct {
	judge      Judger
	hypotheses []hypothesis.Hypothesis
	verdicts   *verdict.Board
	history    verdictHistory // nil: none kept
	abort      *abort.Poster  // nil: the metric only
	interval   time.Duration
	log        *slog.Logger
	now        func() time.Time
	// cfg is verdicts' configuration: the URLs, and the scrape interval
	// (unset, checkIntervals asks Prometheus).
	cfg        config.Verdicts
	promClient *http.Client
	// election is kubernetes.leader_election: a takeover bounds how long
	// the abort alert is held (abortHold).
	election config.LeaderElection

	final map[string]bool
	// stored is each hypothesis's last verdict in the history; nil until
	// read from it.
	stored map[string]verdict.Transition
	// pending are the transitions not stored yet, oldest first.
	pending map[string][]verdict.Transition
	// held are the aborts raised in a window still running, by hypothesis
	// (holdAbort).
	held map[string]heldAbort
	// historyFailed: a read of the history failed in this judgement (or
	// this flushAll); it is tried again at the next.
	historyFailed bool
}

// heldAbort is an abort a judgement raised, held until its window ends.
type heldAbort struct {
	window  hypothesis.Span
	digest  string
	at      time.Time // the judgement that raised it
	reasons []string
	// recorded: read from the history, raised by another serve (the
	// leader before a takeover) or this one before a restart.
	recorded bool
}

// holds reports whether the abort still holds at v, a later judgement of
// the same hypothesis: v's window is the one it was raised in and still
// running, and the hypothesis is not edited since. A judgement that could
// not even tell the window (no chaos events found, the store unreachable)
// holds it until the window's end as it was known.
func (a *heldAbort) holds(v *verdict.Verdict) bool {
	switch {
	case a.digest != "" && v.HypothesisDigest != "" && a.digest != v.HypothesisDigest:
		return false
	case v.Window.Start.IsZero():
		return v.At.Before(a.window.End)
	}
	return v.Running && v.Window.Start.Equal(a.window.Start)
}

func (l *verdictLoop) run(ctx context.Context) {
	l.final = map[string]bool{}
	names := make([]string, len(l.hypotheses))
	for i := range l.hypotheses {
		names[i] = l.hypotheses[i].Name
	}
	l.log.Info("judging hypotheses", "hypotheses", names, "prometheus", l.cfg.PrometheusURL, "interval", l.interval,
		"abort_alertmanager", l.cfg.AbortAlertmanagerURL)
	l.verdicts.Keep(names)
	// A verdict of a hypothesis edited since (a reload) is not its verdict.
	digests := make(map[string]string, len(l.hypotheses))
	for i := range l.hypotheses {
		digests[l.hypotheses[i].Name] = l.hypotheses[i].Digest()
	}
	l.verdicts.ForgetOtherDigests(digests)
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	for {
		l.judgeAll(ctx)
		select {
		case <-ctx.Done():
			if !errors.Is(context.Cause(ctx), errReloaded) {
				l.logUnsaved() // else the next loop has them (adopt)
			}
			return
		case <-tick.C:
		}
	}
}

// unstored counts the transitions not stored yet.
func (l *verdictLoop) unstored() int {
	n := 0
	for _, q := range l.pending {
		n += len(q)
	}
	return n
}

// logUnsaved logs the transitions serve stops without having stored.
func (l *verdictLoop) logUnsaved() {
	for name, q := range l.pending {
		if len(q) > 0 {
			l.log.Error("verdicts not recorded in the store's history: it failed until serve stopped or a reload removed the hypotheses",
				"hypothesis", name, "verdicts", len(q), "since", q[0].At)
		}
	}
}

func (l *verdictLoop) judgeAll(ctx context.Context) {
	l.historyFailed = false
	for i := range l.hypotheses {
		if ctx.Err() != nil {
			return
		}
		h := &l.hypotheses[i]
		if l.final[h.Name] || l.restoreFinal(ctx, h) {
			l.flush(ctx, h.Name)
			continue
		}
		now := l.now()
		if l.history != nil && h.Window.Fixed != nil && !now.Before(h.Window.Fixed.End) && l.stored == nil {
			// Over, and whether the history keeps its final verdict is
			// unknown (restoreFinal could not read it): judging it again,
			// maybe after Prometheus dropped the data, would replace the
			// verdict of record. Until the history can be read, none.
			l.log.Warn("not judging a finished window while the history of verdicts cannot be read",
				"hypothesis", h.Name, "window_end", h.Window.Fixed.End)
			continue
		}
		v, err := l.judge.Judge(ctx, h, now)
		if err != nil {
			if ctx.Err() == nil {
				l.log.Error("judging failed", "hypothesis", h.Name, "err", err)
			}
			continue
		}
		l.holdAbort(ctx, h, &v)
		l.verdicts.Record(v)
		l.log.Debug("judged", "hypothesis", h.Name, "result", v.Result, "score", v.Score, "running", v.Running)
		final := verdict.IsFinal(h, &v)
		l.record(v, final)
		l.flush(ctx, h.Name)
		if final {
			l.final[h.Name] = true
			l.log.Info("final verdict", "hypothesis", h.Name, "result", v.Result, "reason", v.Reason)
		}
		l.signal(ctx, v, now)
	}
	// What a loop before a reload left unstored, of hypotheses no longer
	// judged, is stored too.
	for name := range l.pending {
		if !slices.ContainsFunc(l.hypotheses, func(h hypothesis.Hypothesis) bool { return h.Name == name }) {
			l.flush(ctx, name)
		}
	}
}

// adopt takes from old, the loop a reload replaces (stopped), the verdicts
// it has not stored yet, before this loop's own, and its abort alerts when
// both post to the same Alertmanager, with this loop's client (one raised
// in another expires by itself once its hold passes: abortHold).
func (l *verdictLoop) adopt(old *verdictLoop) {
	for name, q := range old.pending {
		if len(q) == 0 {
			continue
		}
		if l.pending == nil {
			l.pending = map[string][]verdict.Transition{}
		}
		l.pending[name] = append(slices.Clone(q), l.pending[name]...)
	}
	old.pending = nil
	for name, a := range old.held {
		if l.held == nil {
			l.held = map[string]heldAbort{}
		}
		if _, ok := l.held[name]; !ok {
			l.held[name] = a
		}
	}
	if old.abort != nil && l.abort != nil && old.cfg.AbortAlertmanagerURL == l.cfg.AbortAlertmanagerURL {
		// The new client settings (a rotated token), the old one's alerts.
		l.abort.TakeOver(old.abort)
	}
}

// flushAll stores what waits, of every hypothesis, as far as the store
// takes it.
func (l *verdictLoop) flushAll(ctx context.Context) {
	l.historyFailed = false
	for name := range l.pending {
		l.flush(ctx, name)
	}
}

// restoreFinal gives h the final verdict the history keeps for it, judged
// before a restart, and reports whether it did: it is not judged again,
// since Prometheus may have dropped the data since, and the API and the
// metrics give the verdict of record. Only one judged of h as it is now
// (the same digest, the same window): an edited hypothesis is judged.
func (l *verdictLoop) restoreFinal(ctx context.Context, h *hypothesis.Hypothesis) bool {
	if l.history == nil || h.Window.Fixed == nil || !l.loadHistory(ctx) {
		return false
	}
	t, ok := l.stored[h.Name]
	if !ok || !t.Final {
		return false
	}
	var v verdict.Verdict
	if err := json.Unmarshal(t.Verdict, &v); err != nil {
		l.log.Error("reading the final verdict kept in the store failed; judging again", "hypothesis", h.Name, "err", err)
		return false
	}
	if v.HypothesisDigest != "" && v.HypothesisDigest != h.Digest() {
		// Edited since: the kept verdict is another hypothesis's. (One
		// kept before verdicts carried a digest is taken as this one's,
		// as Transition.Changes does.)
		l.log.Info("the final verdict kept in the store judged the hypothesis before it was edited; judging again",
			"hypothesis", h.Name, "kept", v.HypothesisDigest, "now", h.Digest())
		return false
	}
	if !v.Window.Start.Equal(h.Window.Fixed.Start) || !v.Window.End.Equal(h.Window.Fixed.End) || !verdict.IsFinal(h, &v) {
		return false
	}
	l.verdicts.Record(v)
	l.final[h.Name] = true
	l.log.Info("final verdict restored from the store", "hypothesis", h.Name, "result", v.Result, "at", v.At)
	return true
}

// holdAbort keeps the abort an earlier judgement of h's running window
// raised in v, a later judgement that does not abort: v.Abort is set, with
// the earlier AbortReasons, and v.AbortHeld says why. It is released when
// the window ends (the final verdict, or v no longer running), when v
// judges another window, or when h is edited.
//
// An abort tells the experimenter, or the chaos tool gating on the alert
// (a Litmus probe with stopOnFailure, an Argo analysis), to stop the
// experiment; withdrawing it is an "all clear". A judgement that could not
// judge (Prometheus unreachable for a moment, a sample gap, a new leader
// with no watch record of the takeover's gap) is no evidence of that. Nor
// is a clean judgement after it: a hard bound is a limit the experiment
// must never cross, and once crossed the run has done its harm and is
// stopped, as Litmus and Argo end a run at a failed abort check rather
// than resume it; the judge also judges the window from its start, so a
// violation that stops aborting was more often diluted by later samples
// than undone. So an abort holds until its window ends.
//
// The abort raised before a takeover or a restart is read from the
// history (the store keeps a verdict whose abort changes): the last
// verdict stored of h, if it aborted in the same window, or held the abort
// of the one before it without telling its window (recordedAbort).
func (l *verdictLoop) holdAbort(ctx context.Context, h *hypothesis.Hypothesis, v *verdict.Verdict) {
	if l.held == nil {
		l.held = map[string]heldAbort{}
	}
	a, ok := l.held[h.Name]
	if !ok {
		a, ok = l.recordedAbort(ctx, h)
	}
	if v.Abort {
		if !ok || !a.holds(v) {
			a = heldAbort{window: v.Window, digest: v.HypothesisDigest, at: v.At}
		}
		a.reasons = v.AbortReasons
		l.held[h.Name] = a
		return
	}
	if !ok || !a.holds(v) {
		delete(l.held, h.Name)
		return
	}
	l.held[h.Name] = a
	raised := "the abort raised at " + a.at.UTC().Format(time.RFC3339)
	if a.recorded {
		raised = "the abort recorded at " + a.at.UTC().Format(time.RFC3339) + " (before a takeover or restart)"
	}
	v.Abort, v.AbortReasons = true, slices.Clone(a.reasons)
	if v.Result == verdict.Inconclusive {
		v.AbortHeld = fmt.Sprintf("held: the judgement at %s could not judge, so %s stands",
			v.At.UTC().Format(time.RFC3339), raised)
	} else {
		v.AbortHeld = fmt.Sprintf("held: a hard bound crossed stops the experiment, so %s stands until the window ends at %s",
			raised, a.window.End.UTC().Format(time.RFC3339))
	}
}

// recordedAbort is the abort of h's last verdict in the history, if it
// aborted while its window ran. A verdict that could not tell its window
// (no chaos events found, the store unreachable) is recorded not running
// and with no window: the abort it held is the one of the verdict before
// it, in that one's window.
func (l *verdictLoop) recordedAbort(ctx context.Context, h *hypothesis.Hypothesis) (heldAbort, bool) {
	if l.history == nil || !l.loadHistory(ctx) {
		return heldAbort{}, false
	}
	t, ok := l.stored[h.Name]
	for ok && t.Abort && !t.Final {
		var v verdict.Verdict
		if err := json.Unmarshal(t.Verdict, &v); err != nil {
			l.log.Error("reading the last verdict kept in the store failed; not holding its abort", "hypothesis", h.Name, "err", err)
			return heldAbort{}, false
		}
		if !v.Window.Start.IsZero() {
			if !t.Running {
				return heldAbort{}, false // its window is over
			}
			return heldAbort{window: v.Window, digest: v.HypothesisDigest, at: v.At, reasons: v.AbortReasons, recorded: true}, true
		}
		// Each verdict read is earlier than the one before: this ends
		// (a zero time would read the last of all again).
		if t.At.IsZero() {
			return heldAbort{}, false
		}
		if t, ok = l.storedBefore(ctx, h.Name, t.At); !ok {
			return heldAbort{}, false
		}
	}
	return heldAbort{}, false
}

// storedBefore is the last verdict of the hypothesis name in the history
// before at, if any and if the history can be read (tried once a
// judgement: historyFailed).
func (l *verdictLoop) storedBefore(ctx context.Context, name string, at time.Time) (verdict.Transition, bool) {
	if l.historyFailed {
		return verdict.Transition{}, false
	}
	latest, err := l.history.LatestVerdicts(ctx, at)
	if err != nil {
		l.historyFailed = true
		if ctx.Err() == nil {
			l.log.Error("reading the history of verdicts failed; not holding the abort a verdict that could not tell its window held",
				"hypothesis", name, "err", err)
		}
		return verdict.Transition{}, false
	}
	for _, t := range latest {
		if t.Hypothesis == name {
			return t, true
		}
	}
	return verdict.Transition{}, false
}

// signal posts the abort alert while v aborts (held by holdAbort until
// its window ends), and resolves it after.
func (l *verdictLoop) signal(ctx context.Context, v verdict.Verdict, now time.Time) {
	if l.abort == nil {
		return
	}
	switch {
	case v.Abort:
		if err := l.abort.Post(ctx, v, now, abortHold(l.interval, &l.election)); err != nil {
			l.log.Error("posting the abort alert failed; retrying at the next judgement", "hypothesis", v.Hypothesis, "err", err)
			return
		}
		l.log.Warn("experiment abort signalled", "hypothesis", v.Hypothesis, "reasons", v.AbortReasons)
	case l.abort.Aborting(v.Hypothesis):
		if err := l.abort.Resolve(ctx, v.Hypothesis, now); err != nil {
			l.log.Error("resolving the abort alert failed; retrying at the next judgement", "hypothesis", v.Hypothesis, "err", err)
		}
	}
}

// abortHold is how long an abort alert posted stays active unless posted
// again: three judgements, so that two missed posts (Alertmanager
// unreachable for a moment) do not resolve it; and with leader election,
// at least until the next leader posts it after the leader crashed just
// before its next judgement: an interval, the takeover (le.Takeover), and
// an interval for the new leader to start (restore, list the cluster) and
// judge. A gap would read as an all-clear to the chaos tool gating on it.
func abortHold(interval time.Duration, le *config.LeaderElection) time.Duration {
	return max(3*interval, interval+le.Takeover()+interval)
}

// record queues v for the history if it changes the verdict before it:
// the last one waiting, else the last one stored (any, until that is
// read).
func (l *verdictLoop) record(v verdict.Verdict, final bool) {
	if l.history == nil {
		return
	}
	t, err := verdict.NewTransition(v, final)
	if err != nil {
		l.log.Error("recording the verdict failed", "hypothesis", v.Hypothesis, "err", err)
		return
	}
	if l.pending == nil {
		l.pending = map[string][]verdict.Transition{}
	}
	q := l.pending[v.Hypothesis]
	var before *verdict.Transition
	if len(q) > 0 {
		before = &q[len(q)-1]
	} else if last, ok := l.stored[v.Hypothesis]; ok {
		before = &last
	}
	if !t.Changes(before) {
		return
	}
	if len(q) == maxPending {
		l.log.Warn("dropping the oldest verdict waiting for the store's history", "hypothesis", v.Hypothesis, "at", q[0].At)
		q = q[1:]
	}
	l.pending[v.Hypothesis] = append(q, t)
}

// flush stores the transitions of a hypothesis waiting, in order, up to
// the first the store fails to take; those that no longer change the last
// one stored (read from the store first) are dropped.
func (l *verdictLoop) flush(ctx context.Context, name string) {
	q := l.pending[name]
	// A read of the history failed in this judgement (historyFailed):
	// what waits is stored at the next, once the verdict in force is
	// known; a verdict that released an abort held before (recordedAbort
	// could not read it) would otherwise become the history's last.
	if len(q) == 0 || l.historyFailed || !l.loadHistory(ctx) {
		return
	}
	for len(q) > 0 {
		t := q[0]
		var before *verdict.Transition
		if last, ok := l.stored[name]; ok {
			before = &last
		}
		if t.Changes(before) {
			if err := l.history.SaveVerdict(ctx, t); err != nil {
				if ctx.Err() == nil {
					l.log.Error("recording the verdict failed; retrying at the next judgement", "hypothesis", name, "at", t.At, "err", err)
				}
				break
			}
			l.stored[name] = t
		}
		q = q[1:]
	}
	l.pending[name] = q
}

// loadHistory reads the last stored verdict of each hypothesis, once. A
// history that cannot be read is tried once a judgement (historyFailed),
// not for each hypothesis and each use: each try may wait for the store's
// timeout, and the judgements, with their abort alerts, would wait for
// them all.
func (l *verdictLoop) loadHistory(ctx context.Context) bool {
	if l.stored != nil {
		return true
	}
	if l.historyFailed {
		return false
	}
	latest, err := l.history.LatestVerdicts(ctx, time.Time{})
	if err != nil {
		l.historyFailed = true
		if ctx.Err() == nil {
			l.log.Error("reading the history of verdicts failed; retrying at the next judgement", "err", err)
		}
		return false
	}
	l.stored = make(map[string]verdict.Transition, len(latest))
	for _, t := range latest {
		l.stored[t.Hypothesis] = t
	}
	return true
}
