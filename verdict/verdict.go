// Package verdict judges chaos hypotheses: for each steady-state metric it
// compares the experimental group with the control group over the
// experiment window, checks the absolute SLO bounds and the recovery
// expectations, and adds the results up to pass, fail or inconclusive, with
// the evidence. Missing data is never a pass.
package verdict

import (
	"encoding/json"
	"math"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// Result is the outcome of a hypothesis, a metric or an expectation.
type Result string

// Results. A metric compared with the control fails as High or Low (the
// direction of its deterioration); a hypothesis only passes, fails or is
// inconclusive.
const (
	Pass         Result = contract.ResultPass
	Fail         Result = contract.ResultFail
	High         Result = contract.ResultHigh
	Low          Result = contract.ResultLow
	Inconclusive Result = contract.ResultInconclusive
)

// Results lists the results a hypothesis can have, in exposition order.
var Results = []Result{Pass, Fail, Inconclusive}

// Verdict is the judgement of one hypothesis at one time.
type Verdict struct {
	// Cluster is the cluster the verdict is of (config cluster:), left
	// out for the unnamed one.
	Cluster    string `json:"cluster,omitempty"`
	Hypothesis string `json:"hypothesis"`
	// Source is where the hypothesis is written (file:line).
	Source string `json:"source,omitempty"`
	// HypothesisDigest identifies the hypothesis as it was judged
	// (hypothesis.Hypothesis.Digest): a final verdict kept in the history
	// is given again only to the same hypothesis, not to an edited one.
	HypothesisDigest string `json:"hypothesis_digest,omitempty"`
	// At is the time of judgement: the end of the data considered.
	At     time.Time `json:"at"`
	Result Result    `json:"result"`
	// Reason explains the result in one sentence: the critical failure, the
	// score against the thresholds, or why too little could be judged.
	Reason string `json:"reason"`
	// Score is the weighted share of the judged metrics that passed, 0–100;
	// NaN (null in JSON) when none could be judged.
	Score float64 `json:"score"`
	// Running is set while the experiment window is still open: the verdict
	// is provisional.
	Running bool `json:"running"`
	// SettledBy is set on a verdict judged after its window ended by less
	// than the gap allowance (2 steps, or 2 scrape intervals if longer):
	// the window's last samples may not be scraped and ingested yet, nor
	// the watch's events of its last moments delivered, so judged again
	// later it may differ. From SettledBy on they have had that long.
	SettledBy time.Time       `json:"settled_by,omitzero"`
	Window    hypothesis.Span `json:"window"`
	// Experiments are the faults of the chaos tool's run the window was
	// taken from (spec.window.experiment), one for each; none for other
	// windows.
	Experiments []Experiment `json:"experiments,omitempty"`
	// ToolDisagrees says where the chaos tool's own results differ from
	// the verdict: Litmus passed what steadywatch fails or failed what it
	// passes, or the tool says its fault was not applied (which makes a
	// pass inconclusive).
	ToolDisagrees string   `json:"tool_disagrees,omitempty"`
	Metrics       []Metric `json:"metrics"`
	// Recovery holds one result per recovery expectation.
	Recovery []Expectation `json:"recovery,omitempty"`
	// Unwatched lists the times of the window steadywatch has no record of
	// watching (only when the judge has a CoverageSource): a verdict over
	// them does not pass.
	Unwatched []Gap `json:"unwatched,omitempty"`
	// Abort is set when a hard bound (an SLO) was violated during the
	// experiment and the hypothesis asks to abort on it; AbortReasons say
	// which.
	Abort        bool     `json:"abort"`
	AbortReasons []string `json:"abort_reasons,omitempty"`
	// AbortHeld, with Abort, says that this judgement did not find the
	// violation itself and why the abort an earlier judgement of the same
	// running window raised is held (serve's verdict loop): it could not
	// judge, or a hard bound crossed once stops the experiment until its
	// window ends. AbortReasons are then the earlier judgement's.
	AbortHeld string `json:"abort_held,omitempty"`
}

// Metric is the judgement of one steady-state metric.
type Metric struct {
	Name     string  `json:"name"`
	Result   Result  `json:"result"`
	Reason   string  `json:"reason,omitempty"`
	Critical bool    `json:"critical"`
	Weight   float64 `json:"weight"`
	// Control and Experimental summarise each group's samples over the
	// window.
	Control      Summary `json:"control"`
	Experimental Summary `json:"experimental"`
	// Effect is the experimental group's shift from the control (Hodges–
	// Lehmann estimate and interval for values; the difference of the
	// rates for ratios), with the allowed effect in the same unit and a
	// standardized effect (superiority for values, Cohen's h for ratios); nil
	// when the metric is only bounded by its SLO or could not be compared.
	Effect *Effect `json:"effect,omitempty"`
	// PValue of the two-sample (or count) test; NaN if none ran.
	PValue float64 `json:"p_value"`
	// SLO is the result of the absolute bound on the experimental group,
	// empty if the metric has none.
	SLO Result `json:"slo,omitempty"`
	// Warnings are what Prometheus warned about in its answers ("control
	// group: partial response …"): the data may be incomplete, and the
	// metric is inconclusive.
	Warnings []string `json:"warnings,omitempty"`
	// SampleGaps are the stretches of the judged range in which a group
	// had no finite sample for longer than the judge allows (see Judge):
	// nothing shows how the metric behaved then, and the metric does not
	// pass.
	SampleGaps []SampleGap `json:"sample_gaps,omitempty"`
}

// SampleGap is a stretch of a verdict's judged range in which Prometheus
// has no finite sample of one group of a metric: between two samples, or
// between one and an end of the range.
type SampleGap struct {
	Group chaos.Group `json:"group"`
	// From and To are the sample before and the sample after (or the
	// range's ends).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Series is the metric family without raw samples then, read by the
	// metric's query, if the gap is in its raw samples rather than in the
	// query's answer (a range selector answers over a scrape gap from the
	// samples before it).
	Series string `json:"series,omitempty"`
	// Reason says it in a sentence.
	Reason string `json:"reason"`
}

// Summary describes one group's data for a metric.
type Summary struct {
	// Samples is how many samples (steps) were judged, before any
	// thinning, NaN samples excluded; NaNs how many were dropped (for a
	// ratio, the steps whose total or errors were NaN or ±Inf).
	Samples int `json:"samples"`
	NaNs    int `json:"nans,omitempty"`
	// Series is how many series the group's query returned (a ratio's
	// total query); more than one only with the metric's aggregate.
	Series int `json:"series"`
	// Value is the group's value over the window: the median of the
	// samples, or for a ratio the errors over the total.
	Value float64 `json:"value"`
	// Errors and Total are a ratio's counts over the window.
	Errors float64 `json:"errors,omitempty"`
	Total  float64 `json:"total,omitempty"`
}

// Effect is a shift of the experimental group from the control with its
// confidence interval and what is allowed, all in the metric's unit.
type Effect struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"ci_low"`
	High     float64 `json:"ci_high"`
	// Allowed is the largest shift in the worse direction that passes:
	// AllowedEffect times the control's value (for a ratio, at least the
	// error ratio the control's traffic cannot tell from 0; see Judge).
	Allowed float64 `json:"allowed"`
	// Confidence of the interval, e.g. 0.98.
	Confidence float64 `json:"confidence"`
	// Superiority is the standardized effect of a value metric: the
	// probability that an experimental sample exceeds a control sample,
	// ties counting half (Mann-Whitney's U/(n·m) on the samples compared,
	// the common-language effect size). 0.5 is no effect, 1 every
	// experimental sample above every control one. It tells a
	// small-but-significant shift (0.55) from a large one (0.9) whatever
	// the metric's unit; nil for a ratio.
	Superiority *float64 `json:"superiority,omitempty"`
	// CohensH is the standardized effect of a ratio metric: Cohen's h of
	// the two error ratios, 2·asin √experimental − 2·asin √control, the
	// difference of the ratios on a scale where their noise no longer
	// depends on their size. 0 is no effect; by Cohen's conventional
	// reading |h| = 0.2 is a small effect, 0.5 a medium one, 0.8 a large
	// one (at most π). 0.1 % to 0.2 % errors, a doubling, is h = 0.026,
	// however significant over a lot of traffic; 1 % to 20 % is 0.73. nil
	// for a value metric.
	CohensH *float64 `json:"cohens_h,omitempty"`
}

// Expectation is the judgement of one recovery expectation.
type Expectation struct {
	// Name says which: "mttr", "alert/NAME", "hpa/NAME" (scaled up in
	// time), "hpa/NAME/baseline" (back at its baseline in time),
	// "replacement_ready".
	Name   string `json:"name"`
	Result Result `json:"result"`
	Reason string `json:"reason"`
	// Observed is the measured time, in seconds (NaN if none).
	Observed float64 `json:"observed_seconds"`
	// Bound is the expected maximum, in seconds.
	Bound float64 `json:"bound_seconds"`
	// DecidedBy is set on an expectation that is inconclusive only because
	// it may still be met: an alert that has not started yet, an HPA not
	// scaled up or not back at its baseline yet, an incident not recovered
	// yet, each within its bound. Judged at DecidedBy or later, it passes
	// or fails. It is set too on an MTTR or replacementReady expectation
	// that passes on a recovery more recent than the gap allowance (see
	// Verdict.SettledBy): a fault learnt late, dated before the recovery,
	// would reopen its incident. Zero on every other expectation: one
	// decided, or one that waiting does not decide (no store, no incident,
	// nothing to return to).
	DecidedBy time.Time `json:"decided_by,omitzero"`
}

// DecidedBy is when v will not change by waiting any longer: the latest
// of SettledBy and of the times its recovery expectations that may still
// be met are decided (see Expectation.DecidedBy); zero when nothing is
// still to come.
func (v *Verdict) DecidedBy() time.Time {
	by := v.SettledBy
	for _, x := range v.Recovery {
		if x.DecidedBy.After(by) {
			by = x.DecidedBy
		}
	}
	return by
}

// JSON has no NaN: the numbers that are NaN when unknown are written as
// null.

// num returns nil for NaN or ±Inf, else &f.
func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// MarshalJSON writes a NaN score as null.
func (v Verdict) MarshalJSON() ([]byte, error) {
	type plain Verdict
	return json.Marshal(struct {
		plain
		Score *float64 `json:"score"`
	}{plain(v), num(v.Score)})
}

// numOmit is num, and nil for 0 too: for the fields left out when zero.
func numOmit(f float64) *float64 {
	if f == 0 {
		return nil
	}
	return num(f)
}

// numPtr is num of *p, nil for nil.
func numPtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	return num(*p)
}

// MarshalJSON writes a NaN p-value (and any number that is not finite)
// as null.
func (m Metric) MarshalJSON() ([]byte, error) {
	type plain Metric
	return json.Marshal(struct {
		plain
		Weight *float64 `json:"weight"`
		PValue *float64 `json:"p_value"`
	}{plain(m), num(m.Weight), num(m.PValue)})
}

// MarshalJSON writes a NaN value as null, and counts that overflowed
// (samples of 1e308 add up to +Inf).
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	return json.Marshal(struct {
		plain
		Value  *float64 `json:"value"`
		Errors *float64 `json:"errors,omitempty"`
		Total  *float64 `json:"total,omitempty"`
	}{plain(s), num(s.Value), numOmit(s.Errors), numOmit(s.Total)})
}

// MarshalJSON writes NaN or infinite numbers as null.
func (e Effect) MarshalJSON() ([]byte, error) {
	type plain Effect
	return json.Marshal(struct {
		plain
		Estimate    *float64 `json:"estimate"`
		Low         *float64 `json:"ci_low"`
		High        *float64 `json:"ci_high"`
		Allowed     *float64 `json:"allowed"`
		Confidence  *float64 `json:"confidence"`
		Superiority *float64 `json:"superiority,omitempty"`
		CohensH     *float64 `json:"cohens_h,omitempty"`
	}{plain(e), num(e.Estimate), num(e.Low), num(e.High), num(e.Allowed), num(e.Confidence), numPtr(e.Superiority), numPtr(e.CohensH)})
}

// MarshalJSON writes NaN times as null.
func (x Expectation) MarshalJSON() ([]byte, error) {
	type plain Expectation
	return json.Marshal(struct {
		plain
		Observed *float64 `json:"observed_seconds"`
		Bound    *float64 `json:"bound_seconds"`
	}{plain(x), num(x.Observed), num(x.Bound)})
}

// The UnmarshalJSON methods read what MarshalJSON writes: a null number is
// NaN (unknown), not 0 — a score or a p-value of 0 is a judged result.
// (An infinity, written as null too, comes back NaN.)

// unnum is the number p points to, NaN for nil (null).
func unnum(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// UnmarshalJSON reads a null score as NaN.
func (v *Verdict) UnmarshalJSON(data []byte) error {
	type plain Verdict
	aux := struct {
		*plain
		Score *float64 `json:"score"`
	}{plain: (*plain)(v)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	v.Score = unnum(aux.Score)
	return nil
}

// UnmarshalJSON reads a null weight or p-value as NaN.
func (m *Metric) UnmarshalJSON(data []byte) error {
	type plain Metric
	aux := struct {
		*plain
		Weight *float64 `json:"weight"`
		PValue *float64 `json:"p_value"`
	}{plain: (*plain)(m)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	m.Weight, m.PValue = unnum(aux.Weight), unnum(aux.PValue)
	return nil
}

// UnmarshalJSON reads a null value as NaN; errors and total, left out
// when 0, are 0 when absent.
func (s *Summary) UnmarshalJSON(data []byte) error {
	type plain Summary
	aux := struct {
		*plain
		Value *float64 `json:"value"`
	}{plain: (*plain)(s)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	s.Value = unnum(aux.Value)
	return nil
}

// UnmarshalJSON reads null numbers as NaN.
func (e *Effect) UnmarshalJSON(data []byte) error {
	type plain Effect
	aux := struct {
		*plain
		Estimate   *float64 `json:"estimate"`
		Low        *float64 `json:"ci_low"`
		High       *float64 `json:"ci_high"`
		Allowed    *float64 `json:"allowed"`
		Confidence *float64 `json:"confidence"`
	}{plain: (*plain)(e)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	e.Estimate, e.Low, e.High = unnum(aux.Estimate), unnum(aux.Low), unnum(aux.High)
	e.Allowed, e.Confidence = unnum(aux.Allowed), unnum(aux.Confidence)
	return nil
}

// UnmarshalJSON reads null times as NaN.
func (x *Expectation) UnmarshalJSON(data []byte) error {
	type plain Expectation
	aux := struct {
		*plain
		Observed *float64 `json:"observed_seconds"`
		Bound    *float64 `json:"bound_seconds"`
	}{plain: (*plain)(x)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	x.Observed, x.Bound = unnum(aux.Observed), unnum(aux.Bound)
	return nil
}
