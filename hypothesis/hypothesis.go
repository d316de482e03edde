// Package hypothesis reads chaos-experiment hypotheses: the steady-state
// metrics (PromQL templates judged experimental group against control
// group), the experiment window and the recovery expectations that the
// verdict service judges.
//
// Files are YAML, Kubernetes-shaped so that they can become a custom
// resource later (see examples/ at the top of the repository). [Load] and
// [Parse] decode them strictly into validated [Hypothesis] values; every
// error is an [*Error] naming the file, line and field:
//
//	kill-postgres.yaml:21: spec.metrics[0].query: parse error at char 37: unexpected "}" in label matching, expected string
package hypothesis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	k8slabels "k8s.io/apimachinery/pkg/labels"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
)

// Hypothesis is one validated hypothesis.
type Hypothesis struct {
	// Name is unique among the hypotheses loaded (a DNS-1123 label).
	Name        string
	Description string
	// Service is the service (steadywatch's service label value) whose chaos
	// events in the experimental group define the window and the incidents
	// the recovery expectations are about.
	Service string
	// Namespace narrows Service to one namespace; empty means any.
	Namespace string
	Groups    Groups
	Window    Window
	// Baseline is the length of the period just before the window that
	// serves as the reference: where an HPA's replica count returns to, and
	// how the groups compared before the chaos.
	Baseline time.Duration
	// Step is the resolution of the range queries.
	Step      time.Duration
	Metrics   []Metric
	Recovery  Recovery
	Judgement Judgement
	// Source is where the hypothesis starts in its file.
	Source Source

	lines map[string]int // field path -> line, for Position
}

// Position returns where the field at path (e.g. "spec.metrics[1].query")
// is written, or its closest enclosing field that is; the hypothesis's own
// Source when none is.
func (h *Hypothesis) Position(path string) Source {
	for p := path; p != ""; {
		if l, ok := h.lines[p]; ok {
			return Source{File: h.Source.File, Line: l}
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return h.Source
}

// Source is a place in a hypothesis file.
type Source struct {
	File string
	Line int
}

// String returns "file:line", leaving out what is unknown.
func (s Source) String() string {
	switch {
	case s.Line <= 0:
		return s.File
	case s.File == "":
		return "line " + strconv.Itoa(s.Line)
	}
	return s.File + ":" + strconv.Itoa(s.Line)
}

// Groups holds the PromQL label matchers that select each group's series,
// e.g. `steadywatch_io_group="control"`. They differ.
type Groups struct {
	Control      string
	Experimental string
}

// Selector returns the label matchers of g, which must be [chaos.Control]
// or [chaos.Experimental]; it panics for any other group.
func (g Groups) Selector(group chaos.Group) string {
	switch group {
	case chaos.Control:
		return g.Control
	case chaos.Experimental:
		return g.Experimental
	}
	panic("hypothesis: no selector for group " + strconv.Quote(string(group)))
}

// Window is the experiment window: exactly one of Fixed, Events and
// Experiment is set.
type Window struct {
	Fixed  *FixedWindow
	Events *EventWindow
	// Experiment is left out of the digest when nil, so that the digests
	// of the hypotheses written before it existed stay as they were (a
	// final verdict kept in the history is given again only to the same
	// digest).
	Experiment *ExperimentWindow `digest:"omitnil"`
}

// FixedWindow is a window given by its times; End is after Start.
type FixedWindow struct {
	Start, End time.Time
}

// EventWindow takes the window from the chaos events steadywatch recorded
// for the hypothesis's service in the experimental group: from the first
// event within Lookback of the time of judgement, minus Before, to the last
// one, plus After.
type EventWindow struct {
	// Kinds are the event kinds that count; never empty (all kinds when the
	// file lists none).
	Kinds    []chaos.Kind
	Lookback time.Duration
	Before   time.Duration
	After    time.Duration
}

// ExperimentWindow takes the window from a chaos tool's run of one
// experiment, as steadywatch recorded it from the tool's objects (package
// experiment): the latest run of Tool's experiment Name in Namespace whose
// start lies within Lookback before the time of judgement, from its start
// minus Before to its end plus After (the time of judgement while it
// runs).
type ExperimentWindow struct {
	Tool experiment.Tool
	// Name is the tool's object: the ChaosEngine, the PodChaos…; empty
	// when Selector picks the objects.
	Name string
	// Selector picks the tool's objects by their labels instead of Name
	// (spec.window.experiment.selector); nil when Name is given. Several
	// objects may match: the run is the latest started of all of them.
	// Left out of the digest when nil, and written there as its canonical
	// text (requirements in key order) otherwise.
	Selector k8slabels.Selector `digest:"omitnil"`
	// Namespace is the object's: spec.window.experiment.namespace, or the
	// hypothesis's namespace when it gives none.
	Namespace string
	// Fault narrows a ChaosEngine that runs several experiments to one
	// (pod-delete); empty: the run spans all of its faults.
	Fault    string
	Lookback time.Duration
	Before   time.Duration
	After    time.Duration
}

// String names the experiment as messages do: "litmus experiment
// shop/kill-web (fault pod-delete)", or by a selector "litmus experiments
// in shop selected by \"team=shop\"", the fault only when one is given.
func (w *ExperimentWindow) String() string {
	var s string
	if w.Selector != nil {
		s = fmt.Sprintf("%s experiments in %s selected by %q", w.Tool, w.Namespace, w.Selector)
	} else {
		s = string(w.Tool) + " experiment " + w.Namespace + "/" + w.Name
	}
	if w.Fault != "" {
		s += " (fault " + w.Fault + ")"
	}
	return s
}

// object names what the window takes its run from: the object's name, or
// the selector's "objects selected by …".
func (w *ExperimentWindow) object() string {
	if w.Selector != nil {
		return fmt.Sprintf("the objects selected by %q", w.Selector)
	}
	return w.Name
}

// Run is the run of the experiment a window is taken from: the latest of
// the recorded experiments matching w (tool, namespace, name or selector,
// and fault if given; of several objects a selector matches, the latest
// run of any of them) whose Start lies within Lookback before now (from now − Lookback
// to now, both included), and with it the other faults of the same run
// (same UID) among exps: a ChaosEngine runs its experiments one after
// another under one UID, and the window spans them all unless Fault picks
// one. Only what exps holds is seen: the judge reads the experiments that
// ran within the lookback, so a fault of the run that ended before it is
// not counted. ok is false when no run started within the lookback.
func (w *ExperimentWindow) Run(now time.Time, exps []experiment.Experiment) (run []experiment.Experiment, ok bool) {
	from := now.Add(-w.Lookback)
	match := func(e *experiment.Experiment) bool {
		if w.Selector != nil {
			if !w.Selector.Matches(k8slabels.Set(e.Labels)) {
				return false
			}
		} else if e.Name != w.Name {
			return false
		}
		return e.Tool == w.Tool && e.Namespace == w.Namespace && (w.Fault == "" || e.Fault == w.Fault) && !e.Start.After(now)
	}
	latest := -1
	for i := range exps {
		e := &exps[i]
		if !match(e) || e.Start.Before(from) {
			continue
		}
		if latest < 0 || e.Start.After(exps[latest].Start) {
			latest = i
		}
	}
	if latest < 0 {
		return nil, false
	}
	for i := range exps {
		if e := &exps[i]; match(e) && e.UID == exps[latest].UID && e.Name == exps[latest].Name && e.Cluster == exps[latest].Cluster {
			run = append(run, *e)
		}
	}
	return run, true
}

// Span resolves the window of a run (see Run) at now: ChaosStart is the
// earliest start of its faults, ChaosEnd the latest end, or now while one
// of them runs (has no end, or ends after now); running says it does.
// Start and End are ChaosStart − Before and ChaosEnd + After.
func (w *ExperimentWindow) Span(now time.Time, run []experiment.Experiment) (s Span, running bool) {
	for i, e := range run {
		if i == 0 || e.Start.Before(s.ChaosStart) {
			s.ChaosStart = e.Start
		}
		end := e.End
		if e.Running() || end.After(now) {
			running, end = true, now
		}
		if i == 0 || end.After(s.ChaosEnd) {
			s.ChaosEnd = end
		}
	}
	s.Start = s.ChaosStart.Add(-w.Before)
	s.End = s.ChaosEnd.Add(w.After)
	return s, running
}

// Span is a resolved experiment window.
type Span struct {
	// Start and End bound the window judged.
	Start, End time.Time
	// ChaosStart and ChaosEnd bound the chaos itself: the fixed window, the
	// first and last event, or the experiment's run, without the Before
	// and After margins.
	// Recovery expectations are measured from them.
	ChaosStart, ChaosEnd time.Time
}

// Resolve returns the window for a judgement at now, given the times of
// the recorded chaos events that match the hypothesis (its service,
// namespace, the experimental group and EventWindow.Kinds), in any order.
// ok is false for an event window with no event within its lookback, and
// for an experiment window, which ExperimentWindow.Run and Span resolve.
func (w Window) Resolve(now time.Time, events []time.Time) (s Span, ok bool) {
	if w.Fixed != nil {
		return Span{Start: w.Fixed.Start, End: w.Fixed.End, ChaosStart: w.Fixed.Start, ChaosEnd: w.Fixed.End}, true
	}
	if w.Events == nil {
		return Span{}, false // an experiment window: see ExperimentWindow.Run
	}
	from := now.Add(-w.Events.Lookback)
	for _, t := range events {
		if t.Before(from) || t.After(now) {
			continue
		}
		if !ok || t.Before(s.ChaosStart) {
			s.ChaosStart = t
		}
		if !ok || t.After(s.ChaosEnd) {
			s.ChaosEnd = t
		}
		ok = true
	}
	if !ok {
		return Span{}, false
	}
	s.Start = s.ChaosStart.Add(-w.Events.Before)
	s.End = s.ChaosEnd.Add(w.Events.After)
	return s, true
}

// Direction says which change of a metric is a deterioration.
type Direction string

// The directions.
const (
	HigherIsWorse Direction = "higherIsWorse"
	LowerIsWorse  Direction = "lowerIsWorse"
	Either        Direction = "either"
)

// Metric is a steady-state metric, compared between the groups and/or
// bounded in the experimental group.
type Metric struct {
	// Name is unique within the hypothesis (a DNS-1123 label).
	Name string
	// Value is the metric's query; it is zero for a ratio metric.
	Value Template
	// Ratio is set for an error (or success) ratio, judged with a
	// count-based test on its two counts.
	Ratio *Ratio
	// Direction and AllowedEffect define the relative comparison with the
	// control group: a change in the worse direction greater than
	// AllowedEffect, a fraction of the control's value (0.2 for +20 %), is
	// a failure. AllowedEffect is 0 and Direction empty for a metric judged
	// only by its SLO.
	Direction     Direction
	AllowedEffect float64
	// Critical fails the whole hypothesis when this metric fails.
	Critical bool
	// Weight is the metric's share in the score (> 0; 1 by default).
	Weight float64
	// SLO is an absolute bound on the experimental group's value, a hard
	// bound whose violation may abort the experiment; nil if none.
	SLO *Bound
	// Aggregate says how several series of one group's query become one,
	// step by step; empty means they must not: a query that returns more
	// than one series for a group cannot be judged. A ratio's counts can
	// only be summed.
	Aggregate Aggregate

	groups Groups
}

// Aggregate is how the series of one group's query are combined at each
// step.
type Aggregate string

// The aggregates.
const (
	AggregateSum Aggregate = "sum"
	AggregateAvg Aggregate = "avg"
	AggregateMax Aggregate = "max"
	AggregateMin Aggregate = "min"
)

// endComment ends q with a line break if it may end in a PromQL comment
// (#…), which would swallow what follows it (found by the fuzzer).
func endComment(q string) string {
	if strings.Contains(q, "#") {
		return q + "\n"
	}
	return q
}

// Compared reports whether the metric is compared between the groups, as
// opposed to only bounded by its SLO.
func (m *Metric) Compared() bool { return m.AllowedEffect > 0 }

// Query returns the query of the metric's value for a group (see
// [Groups.Selector]): Value expanded, or for a ratio errors / total.
func (m *Metric) Query(group chaos.Group) string {
	sel := m.groups.Selector(group)
	if m.Ratio != nil {
		return "(" + endComment(m.Ratio.Errors.Expand(sel)) + ") / (" + endComment(m.Ratio.Total.Expand(sel)) + ")"
	}
	return m.Value.Expand(sel)
}

// LongestRange is the longest range of a range selector or subquery in m's
// query, 0 if it has none (or does not parse): each sample of the query
// summarises that much data, so samples closer together share some.
func (m *Metric) LongestRange() time.Duration {
	expr, err := promql.ParseExpr(m.Query(chaos.Experimental))
	if err != nil {
		return 0
	}
	var longest time.Duration
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			longest = max(longest, n.Range)
		case *parser.SubqueryExpr:
			longest = max(longest, n.Range)
		}
		return nil
	})
	return longest
}

// Ratio is an error ratio given by its counts, as per-second rates: the
// judge multiplies each sample by the step and sums them to count errors
// and requests over the window.
type Ratio struct {
	Errors Template
	Total  Template
	// MinTotal is the least number of requests (total, counted over the
	// window, in each group) for the ratio to be judged; with less traffic
	// it is inconclusive.
	MinTotal float64
}

// Bound is a closed interval; an unset side is infinite.
type Bound struct {
	Min, Max float64
}

// Contains reports whether v is within the bound; NaN is not.
func (b Bound) Contains(v float64) bool { return v >= b.Min && v <= b.Max }

func unbounded() Bound { return Bound{Min: math.Inf(-1), Max: math.Inf(1)} }

// Recovery lists the recovery expectations; a zero duration or nil field
// is no expectation. Durations are measured from the chaos: from
// Span.ChaosStart, or from the start of each incident for MTTR and
// ReplacementReady.
type Recovery struct {
	// MTTR bounds each incident's time to recover.
	MTTR time.Duration
	// Alerts must each fire within their time (MTTD).
	Alerts []AlertExpectation
	// HPA must scale up and back.
	HPA *HPAExpectation
	// ReplacementReady bounds the time from a pod's deletion to its
	// replacement being Ready.
	ReplacementReady time.Duration
}

// AlertExpectation is "the alert Name, with labels that satisfy Matchers,
// fires within Within".
type AlertExpectation struct {
	Name string
	// Matchers narrow the alerts named Name to this experiment's, e.g.
	// service="checkout" (Alertmanager's matcher syntax), sorted. None:
	// any alert of that name counts.
	Matchers labels.Matchers
	Within   time.Duration
}

// String is the expectation's alert selector in Alertmanager's syntax:
// Name, or Name{matchers}.
func (a AlertExpectation) String() string {
	if len(a.Matchers) == 0 {
		return a.Name
	}
	return a.Name + a.Matchers.String()
}

// Matches reports whether an alert's labels satisfy the expectation.
func (a AlertExpectation) Matches(ls map[string]string) bool {
	if ls[model.AlertNameLabel] != a.Name {
		return false
	}
	for _, m := range a.Matchers {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}

// HPAExpectation is "HorizontalPodAutoscaler Name reaches at least
// MinReplicas within Within of the chaos start, and returns to its
// baseline replica count within BaselineWithin of the chaos end" (and is
// still there then: back and up again within it has not returned).
type HPAExpectation struct {
	Name           string
	MinReplicas    int32
	Within         time.Duration
	BaselineWithin time.Duration
}

// Judgement holds how metric results add up to a verdict, as Kayenta
// does: each metric's weight counts towards a score out of 100 if it
// passes; at PassScore or above the hypothesis passes, below MarginalScore
// it fails, and in between it is marginal (inconclusive).
type Judgement struct {
	// Confidence of the statistical tests, in (0.5, 1).
	Confidence float64
	// PassScore and MarginalScore are in [0, 100], MarginalScore <= PassScore.
	PassScore     float64
	MarginalScore float64
	// MinJudged is the least fraction of the metrics' weight that must be
	// judgeable (enough data) for a verdict other than inconclusive, in
	// (0, 1].
	MinJudged float64
	// AbortOnHardBound raises the abort signal when an SLO bound is
	// violated during the experiment.
	AbortOnHardBound bool
}

// Default judgement settings.
const (
	DefaultConfidence       = 0.98
	DefaultPassScore        = 95
	DefaultMarginalScore    = 75
	DefaultMinJudged        = 1
	DefaultAbortOnHardBound = true
	DefaultStep             = 15 * time.Second
	// MinStep is the shortest step a hypothesis may ask for: no scrape
	// interval is shorter in practice, and a shorter step only repeats
	// the same samples (and multiplies the queries).
	MinStep = time.Second
	// MaxPoints is the most steps a range query may span over the longest
	// period a hypothesis queries (its window, at most, or its baseline):
	// Prometheus refuses more than 11,000 points per series.
	MaxPoints       = 11_000
	DefaultBaseline = 30 * time.Minute
	DefaultLookback = time.Hour
	DefaultAfter    = 10 * time.Minute
	DefaultMinTotal = 100
	DefaultWeight   = 1
)

// FormatDuration writes d as a hypothesis file does, and as the messages
// about a hypothesis quote it: 15s, 5m, 1h30m.
func FormatDuration(d time.Duration) string { return model.Duration(d).String() }

// CheckScrapeInterval refuses a step shorter than the scrape interval of
// the Prometheus the hypothesis is judged against (0: unknown, nothing to
// check): the samples between two scrapes only repeat the last one, and
// the query count grows for nothing. The error names the file and line of
// spec.step.
func (h *Hypothesis) CheckScrapeInterval(scrape time.Duration) error {
	if scrape <= 0 || h.Step >= scrape {
		return nil
	}
	at := h.Position("spec.step")
	return &Error{File: at.File, Line: at.Line, Path: "spec.step", Err: fmt.Errorf(
		"%s is shorter than the scrape interval of %s: the samples between two scrapes repeat the same value; use a step of at least %s",
		FormatDuration(h.Step), FormatDuration(scrape), FormatDuration(scrape))}
}
