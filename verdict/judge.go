package verdict

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/tracker"
)

// Defaults of Options.
const (
	// DefaultMinSamples is the least number of finite samples a group needs
	// for a value metric to be compared — counted after thinning to the
	// query's longest range — and the experimental group for its SLO: 2.5
	// minutes at the default 15 s step of a query without a range. Fewer make the
	// Hodges–Lehmann interval too wide to show anything, and a judge that
	// passes what it cannot see passes too much.
	DefaultMinSamples = 10
	// DefaultSLOTolerance is the share of the experimental group's samples
	// of a value metric that may lie outside its SLO bound.
	DefaultSLOTolerance = 0.05
	// DefaultConcurrency is how many metrics are queried at once.
	DefaultConcurrency = 4
)

// TracerName is the instrumentation scope of the judge's spans.
const TracerName = "github.com/steadywatch/steadywatch/verdict"

// Options configure a Judge.
type Options struct {
	// Samples answers the range queries; required. promsource.NewJudge
	// makes a judge whose samples come from Prometheus.
	Samples SampleSource
	// Store holds the chaos events that define event windows and the
	// incidents and HPA events the recovery expectations are measured on.
	// Without it, those are inconclusive ("no store").
	Store tracker.Store
	// Experiments holds the chaos tools' runs that experiment windows are
	// taken from (store.Store is one); without it those windows are
	// inconclusive ("no store").
	Experiments ExperimentSource
	// Alerts holds the alerts for "alert X fires within T"; without it
	// those expectations are inconclusive.
	Alerts alert.Source
	// Coverage tells when steadywatch was watching (see checkCoverage);
	// without it the watch is not asked about, and only what the store
	// holds is judged.
	Coverage CoverageSource
	// MinSamples is the least number of finite samples per group for a
	// value metric; 0 means DefaultMinSamples.
	MinSamples int
	// ScrapeInterval is how often Prometheus samples the queried series,
	// if known (0: unknown): a stretch without samples is a gap only if it
	// is longer than 2 steps and 2 scrape intervals (see Judge).
	ScrapeInterval time.Duration
	// SLOTolerance is the share of a value metric's experimental samples
	// that may lie outside its SLO bound before the bound counts as
	// violated (a scrape's glitch is not a breach); 0 means
	// DefaultSLOTolerance, a negative value none (one sample outside
	// violates).
	SLOTolerance float64
	// Concurrency is how many metrics are queried and judged at once; 0
	// means DefaultConcurrency.
	Concurrency int
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the time of judgement when Judge is given a zero time;
	// time.Now by default.
	Now func() time.Time
	// Tracer defaults to otel.Tracer(TracerName).
	Tracer trace.Tracer
}

// Judge judges hypotheses against the samples of their metrics and the
// incident store. It is safe for concurrent use.
type Judge struct {
	source       SampleSource
	store        tracker.Store
	experiments  ExperimentSource
	alerts       alert.Source
	coverage     CoverageSource
	minSamples   int
	scrape       time.Duration
	sloTolerance float64
	concurrency  int
	log          *slog.Logger
	now          func() time.Time
	tracer       trace.Tracer
}

// New returns a Judge with o's defaults filled in.
func New(o Options) (*Judge, error) {
	switch {
	case o.Samples == nil:
		return nil, errors.New("verdict: Options.Samples is required")
	case o.MinSamples < 0:
		return nil, fmt.Errorf("verdict: Options.MinSamples %d: must be ≥ 0", o.MinSamples)
	case o.ScrapeInterval < 0:
		return nil, fmt.Errorf("verdict: Options.ScrapeInterval %s: must be ≥ 0", o.ScrapeInterval)
	case o.Concurrency < 0:
		return nil, fmt.Errorf("verdict: Options.Concurrency %d: must be ≥ 0", o.Concurrency)
	case math.IsNaN(o.SLOTolerance) || o.SLOTolerance >= 1:
		return nil, fmt.Errorf("verdict: Options.SLOTolerance %g: must be below 1", o.SLOTolerance)
	}
	j := &Judge{
		source:       o.Samples,
		store:        o.Store,
		experiments:  o.Experiments,
		alerts:       o.Alerts,
		coverage:     o.Coverage,
		minSamples:   cmpOr(o.MinSamples, DefaultMinSamples),
		scrape:       o.ScrapeInterval,
		sloTolerance: cmpOr(o.SLOTolerance, DefaultSLOTolerance),
		concurrency:  cmpOr(o.Concurrency, DefaultConcurrency),
		log:          o.Logger,
		now:          o.Now,
		tracer:       o.Tracer,
	}
	j.sloTolerance = max(j.sloTolerance, 0)
	if j.log == nil {
		j.log = slog.New(slog.DiscardHandler)
	}
	if j.now == nil {
		j.now = time.Now
	}
	if j.tracer == nil {
		j.tracer = otel.Tracer(TracerName)
	}
	return j, nil
}

// cmpOr is cmp.Or for the zero value meaning "default".
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Judge judges h at time at (Options.Now when at is zero).
//
// The window is h's fixed window, or spans the chaos events of h's service
// in the experimental group (and h's namespace and event kinds) recorded
// within the lookback before at, or is the latest run of the chaos tool's
// experiment h names that started within the lookback before at (read
// through Options.Experiments; see hypothesis.ExperimentWindow). While at
// is before the window's end, or the experiment still runs, the verdict is
// Running and judges the data up to at.
//
// A verdict on an experiment's run lists its faults (Verdict.Experiments)
// and says in ToolDisagrees where the tool's own result differs: Litmus
// passed what steadywatch fails, or failed what it passes. A tool that says
// its fault was not applied (Litmus Error or Stopped, Chaos Mesh failed or
// nothing injected) makes a pass inconclusive: the window then shows a
// steady state no chaos disturbed. A failure stays a failure, with the
// note.
//
// Each metric's query is run for each group over [window start, min(end,
// at)] at h.Step; samples the source returns outside that range are
// dropped. A query must return one series per group: several are
// inconclusive ("the query returned 3 series (…)") unless the metric's
// Aggregate combines them step by step (Summary.Series says how many there
// were); pooled, per-pod series would be a mixture counted as independent
// draws. NaN and ±Inf samples are dropped and counted (Summary.NaNs).
// Warnings in the source's answer (a partial response) make the metric
// inconclusive and are listed in Metric.Warnings.
//
//   - A value metric needs MinSamples finite samples in each group, after
//     thinning to one sample per query range (see thinning): 41 samples of
//     a rate(…[5m]) at 15 s are 3 independent ones, and are inconclusive
//     with what to change; so is a shift interval that is unbounded. The
//     groups are compared with Mann-Whitney (one-sided in the harmful
//     direction, two-sided for either) and the Hodges–Lehmann shift with
//     its interval at h.Judgement.Confidence, classified by stats.Classify
//     against AllowedEffect times the control's median: High or Low when
//     the interval excludes 0 in a harmful direction and the shift exceeds
//     the allowance. A significant harmful shift from a control whose
//     median is 0 is Inconclusive: a relative allowance cannot size it.
//
//   - A ratio metric counts each group's errors and requests as Σ sample ×
//     step of their per-second rates, over the steps where both are
//     finite; fewer than MinTotal requests in a group is Inconclusive ("too
//     little traffic"), and so are errors that are all NaN or infinite and counts past
//     2⁵³. An errors query with no series counts 0 errors. The counts are compared with
//     stats.RateTest (Fisher's exact test, Newcombe's interval of the
//     difference) and the difference classified against AllowedEffect
//     times the control's ratio, but never against less than the ratio
//     zero errors in the control's traffic cannot rule out, 1 −
//     (1−confidence)^(1/total): so a zero-error control is judged on what
//     its traffic can resolve — a few errors against none pass, a few
//     percent fail.
//
//   - An SLO bounds the experimental group: a ratio's errors/total over
//     the window must lie within it (with at least MinTotal requests); a
//     value metric violates it when more than SLOTolerance of its samples
//     lie outside (one scrape's glitch is no breach, a sustained one is).
//     A violation fails the metric, and while the experiment runs with
//     AbortOnHardBound it sets Abort, with a reason naming the metric,
//     the bound and the values.
//
//   - Sample gaps: within the range judged, a group with no finite sample
//     (NaN and ±Inf count as none; for a ratio, no step counted) for
//     longer than 2 steps — or 2 scrape intervals, if ScrapeInterval is
//     given and longer — between two samples, or between one and the
//     range's start or end, has a gap (Metric.SampleGaps; see
//     gapAllowance for why that much and no more). Nothing shows how the
//     metric behaved then, and the hypothesis may be about exactly that
//     time (its scrape target down with the fault), so a check over a
//     group with a gap does not pass: it is Inconclusive, naming the
//     group, the metric, the time and what to check. A failure stands,
//     the gap named: what failed was seen. MinSamples over the whole
//     window is no substitute: 10 samples before the fault say nothing
//     about it.
//
// A metric's result is High or Low if its comparison says so, Fail if only
// its SLO fails, Inconclusive if a check could not be made, else Pass. The
// recovery expectations are measured on the store (see AlertDelay and the
// Expectation names), and everything adds up as Overall documents.
//
// The error is only for what makes judging impossible at all: ctx ending.
// Everything about the data — failed queries (after the source's retries),
// no or too few samples, NaN, sample gaps, no chaos events, no traffic,
// no store — makes a metric, an expectation or the verdict Inconclusive with
// the reason, never a pass.
func (j *Judge) Judge(ctx context.Context, h *hypothesis.Hypothesis, at time.Time) (Verdict, error) {
	if at.IsZero() {
		at = j.now()
	}
	ctx, span := j.tracer.Start(ctx, "verdict.Judge", trace.WithAttributes(
		attribute.String("hypothesis", h.Name),
		attribute.String("at", at.UTC().Format(time.RFC3339)),
	))
	defer span.End()
	v, err := j.judge(ctx, h, at)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return Verdict{}, err
	}
	span.SetAttributes(attribute.String("result", string(v.Result)), attribute.Float64("score", v.Score),
		attribute.Bool("running", v.Running), attribute.Bool("abort", v.Abort))
	j.log.DebugContext(ctx, "hypothesis judged", "hypothesis", h.Name, "result", v.Result, "score", v.Score, "reason", v.Reason)
	return v, nil
}

func (j *Judge) judge(ctx context.Context, h *hypothesis.Hypothesis, at time.Time) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	v := Verdict{
		Hypothesis: h.Name, Source: h.Source.String(), HypothesisDigest: h.Digest(), At: at, Score: math.NaN(),
		Metrics: []Metric{},
	}
	w, run, running, why, err := j.window(ctx, h, at)
	if err != nil {
		return Verdict{}, err
	}
	if why != "" {
		return unjudgedVerdict(v, h, why, why), nil
	}
	v.Window = w
	// An experiment still running keeps the verdict provisional even when
	// its window has no margin after the time of judgement.
	v.Running = at.Before(w.End) || running
	if settle, _ := j.gapAllowance(h.Step); !v.Running && at.Before(w.End.Add(settle)) {
		v.SettledBy = w.End.Add(settle)
	}
	for i := range run {
		v.Experiments = append(v.Experiments, experimentOf(&run[i]))
	}
	if at.Before(w.Start) {
		return unjudgedVerdict(v, h, fmt.Sprintf("the window starts at %s, after the time of judgement",
			w.Start.UTC().Format(time.RFC3339)), "the window has not started"), nil
	}
	end := w.End
	if at.Before(end) {
		end = at
	}
	metrics, violations, err := j.judgeMetrics(ctx, h, w.Start, end, v.Running)
	if err != nil {
		return Verdict{}, err
	}
	v.Metrics = metrics
	v.Recovery, err = j.recovery(ctx, h, w, at)
	if err != nil {
		return Verdict{}, err
	}
	if v.Unwatched, err = j.checkCoverage(ctx, h, w, at, v.Recovery); err != nil {
		return Verdict{}, err
	}
	if h.Judgement.AbortOnHardBound && v.Running && len(violations) > 0 {
		v.Abort, v.AbortReasons = true, violations
	}
	v.Result, v.Score, v.Reason = Overall(h, v.Metrics, v.Recovery)
	v.Result, v.Reason = unwatchedVerdict(v.Result, v.Reason, v.Unwatched)
	toolCheck(&v)
	return v, nil
}

// unjudgedVerdict is v when nothing could be judged: inconclusive for
// reason, and each metric and recovery expectation for why.
func unjudgedVerdict(v Verdict, h *hypothesis.Hypothesis, reason, why string) Verdict {
	v.Result, v.Reason = Inconclusive, reason
	for i := range h.Metrics {
		v.Metrics = append(v.Metrics, unjudged(&h.Metrics[i], why))
	}
	r := &h.Recovery
	add := func(name string, bound time.Duration) {
		x := expectation(name, bound)
		x.Reason = why
		v.Recovery = append(v.Recovery, x)
	}
	if r.MTTR > 0 {
		add("mttr", r.MTTR)
	}
	if r.ReplacementReady > 0 {
		add("replacement_ready", r.ReplacementReady)
	}
	for _, a := range r.Alerts {
		add("alert/"+a.Name, a.Within)
	}
	if r.HPA != nil {
		add("hpa/"+r.HPA.Name, r.HPA.Within)
		if r.HPA.BaselineWithin > 0 {
			add("hpa/"+r.HPA.Name+"/baseline", r.HPA.BaselineWithin)
		}
	}
	return v
}

// unjudged is a metric that could not be judged at all.
func unjudged(m *hypothesis.Metric, why string) Metric {
	return Metric{
		Name: m.Name, Result: Inconclusive, Reason: why, Critical: m.Critical, Weight: m.Weight,
		PValue: math.NaN(), Control: noSummary(), Experimental: noSummary(),
	}
}

func noSummary() Summary { return Summary{Value: math.NaN()} }

// window resolves h's window at at. why, if set, is why it cannot be.
// For an experiment window, run is the experiment's run it was taken from
// and running says whether the run goes on at at.
func (j *Judge) window(ctx context.Context, h *hypothesis.Hypothesis, at time.Time) (
	s hypothesis.Span, run []experiment.Experiment, running bool, why string, err error,
) {
	if h.Window.Experiment != nil {
		return j.experimentWindow(ctx, h, at)
	}
	s, why, err = j.eventWindow(ctx, h, at)
	return s, nil, false, why, err
}

// eventWindow resolves a fixed or an event window.
func (j *Judge) eventWindow(ctx context.Context, h *hypothesis.Hypothesis, at time.Time) (s hypothesis.Span, why string, err error) {
	ew := h.Window.Events
	if ew == nil {
		s, ok := h.Window.Resolve(at, nil)
		if !ok {
			return s, "the hypothesis has no window", nil
		}
		return s, "", nil
	}
	if j.store == nil {
		return s, "no store: the window is defined by chaos events, and there is no store of them: give steadywatch verdict --store or --data-dir (serve judges with its own)", nil
	}
	events, err := j.store.Events(ctx, tracker.Filter{Service: h.Service, Since: at.Add(-ew.Lookback), Until: at.Add(time.Nanosecond)})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return s, "", ctxErr
		}
		return s, fmt.Sprintf("reading the chaos events: %v", err), nil
	}
	var times []time.Time
	for i := range events {
		e := &events[i]
		if e.Subject.Group == chaos.Experimental && (h.Namespace == "" || e.Subject.Namespace == h.Namespace) &&
			slices.Contains(ew.Kinds, e.Kind) {
			times = append(times, e.At.Best())
		}
	}
	s, ok := h.Window.Resolve(at, times)
	if !ok {
		return s, fmt.Sprintf("no chaos events (%s) of service %s%s in the experimental group in the %s before %s",
			kindList(ew.Kinds), h.Service, inNamespace(h.Namespace), ew.Lookback, at.UTC().Format(time.RFC3339)), nil
	}
	return s, "", nil
}

func kindList(kinds []chaos.Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return " in namespace " + ns
}

// judgeMetrics judges every metric, Concurrency at a time, in h's order.
// violations are the SLO violations, one sentence each.
func (j *Judge) judgeMetrics(ctx context.Context, h *hypothesis.Hypothesis, start, end time.Time, running bool) (ms []Metric, violations []string, err error) {
	ms = make([]Metric, len(h.Metrics))
	slos := make([]string, len(h.Metrics))
	errs := make([]error, len(h.Metrics))
	sem := make(chan struct{}, j.concurrency)
	var wg sync.WaitGroup
	for i := range h.Metrics {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ms[i], slos[i], errs[i] = j.judgeMetric(ctx, h, &h.Metrics[i], start, end, running)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	for _, s := range slos {
		if s != "" {
			violations = append(violations, s)
		}
	}
	return ms, violations, nil
}
