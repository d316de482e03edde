package verdict

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/verdict/stats"
)

// maxCount is the largest count a ratio's test takes: 2⁵³, the last of the
// float64 integers.
const maxCount = 1 << 53

// failing reports whether a metric result is a failure.
func failing(r Result) bool { return r == Fail || r == High || r == Low }

// judgeMetric judges one metric over [start, end] (end the time of
// judgement if running). violation names an SLO violation (for
// Verdict.AbortReasons); err is only ctx's.
func (j *Judge) judgeMetric(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	start, end time.Time, running bool,
) (out Metric, violation string, err error) {
	out = unjudged(m, "")
	var parts []part
	if m.Ratio != nil {
		parts, violation, err = j.judgeRatio(ctx, h, m, start, end, running, &out)
	} else {
		parts, violation, err = j.judgeValue(ctx, h, m, start, end, running, &out)
	}
	if err != nil {
		return out, "", err
	}
	out.Result, out.Reason = combine(parts)
	if len(out.Warnings) > 0 {
		// A partial answer can hide what would fail the metric as well as
		// what would pass it: neither is a verdict on the data.
		out.Result = Inconclusive
		out.Reason = fmt.Sprintf("Prometheus warned that its answer may be partial: %s; judge again once the warning is gone (on the data it gave: %s)",
			strings.Join(out.Warnings, "; "), out.Reason)
		violation = ""
	}
	return out, violation, nil
}

// warn adds a group's warnings to out's, once each.
func warn(out *Metric, g chaos.Group, warnings []string) {
	for _, w := range warnings {
		if w := string(g) + " group: " + w; !slices.Contains(out.Warnings, w) {
			out.Warnings = append(out.Warnings, w)
		}
	}
}

// part is the result of one check of a metric: the comparison with the
// control, or the SLO.
type part struct {
	name   string
	result Result
	reason string
}

// combine adds a metric's checks up: a comparison's High or Low is the
// metric's result, an SLO failure without one makes it Fail; otherwise
// any inconclusive check makes it Inconclusive, and only passing checks a
// Pass. The reason lists every check's.
func combine(parts []part) (Result, string) {
	result := Pass
	for _, p := range parts {
		switch {
		case p.result == High || p.result == Low:
			result = p.result
		case p.result == Fail && !failing(result):
			result = Fail
		case p.result == Inconclusive && result == Pass:
			result = Inconclusive
		}
	}
	reasons := make([]string, len(parts))
	for i, p := range parts {
		reasons[i] = p.name + ": " + p.reason
	}
	return result, strings.Join(reasons, "; ")
}

func alternative(d hypothesis.Direction) (stats.Alternative, stats.Direction) {
	switch d {
	case hypothesis.LowerIsWorse:
		return stats.Less, stats.Decrease
	case hypothesis.Either:
		return stats.TwoSided, stats.Either
	}
	return stats.Greater, stats.Increase
}

func classResult(c stats.Class) Result {
	switch c {
	case stats.High:
		return High
	case stats.Low:
		return Low
	case stats.Inconclusive:
		return Inconclusive
	}
	return Pass
}

// judgeValue compares a value metric's groups with Mann-Whitney and the
// Hodges–Lehmann shift (classified against the control's median) and
// checks its SLO on the experimental group's samples.
func (j *Judge) judgeValue(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	start, end time.Time, running bool, out *Metric,
) (parts []part, violation string, err error) {
	exp, expWhy, err := j.rangeQuery(ctx, m.Name, chaos.Experimental, m.Query(chaos.Experimental), m.Aggregate, start, end, h.Step)
	if err != nil {
		return nil, "", err
	}
	out.Experimental = valueSummary(&exp)
	warn(out, chaos.Experimental, exp.warnings)
	var expGaps []SampleGap
	if expWhy == "" {
		expWhy = exp.problem(chaos.Experimental, j.minSamples)
		expGaps = j.sampleGaps(h, m, chaos.Experimental, exp.times, start, end, running)
		if expGaps, err = j.withRawGaps(ctx, h, m, chaos.Experimental, exp.times, expGaps, start, end, running, out); err != nil {
			return nil, "", err
		}
		out.SampleGaps = append(out.SampleGaps, expGaps...)
	} else {
		expWhy = "experimental group: " + expWhy
	}
	if m.Compared() {
		ctl, ctlWhy, err := j.rangeQuery(ctx, m.Name, chaos.Control, m.Query(chaos.Control), m.Aggregate, start, end, h.Step)
		if err != nil {
			return nil, "", err
		}
		out.Control = valueSummary(&ctl)
		warn(out, chaos.Control, ctl.warnings)
		var ctlGaps []SampleGap
		if ctlWhy == "" {
			ctlWhy = ctl.problem(chaos.Control, j.minSamples)
			ctlGaps = j.sampleGaps(h, m, chaos.Control, ctl.times, start, end, running)
			if ctlGaps, err = j.withRawGaps(ctx, h, m, chaos.Control, ctl.times, ctlGaps, start, end, running, out); err != nil {
				return nil, "", err
			}
			out.SampleGaps = append(out.SampleGaps, ctlGaps...)
		} else {
			ctlWhy = "control group: " + ctlWhy
		}
		p := part{name: "vs control", result: Inconclusive, reason: cmpOr(expWhy, ctlWhy)}
		if p.reason == "" {
			te, tc := thin(exp.values, h, m), thin(ctl.values, h, m)
			if why := j.thinnedProblem(h, m, len(exp.values), len(ctl.values), len(te), len(tc)); why != "" {
				p.reason = why
			} else {
				p = j.compareValues(ctx, h, m, te, tc, out)
				if k, _ := thinning(h, m); k > 1 {
					p.reason += fmt.Sprintf(" [compared on one sample in %d: the query's range covers %d steps]", k, k)
				}
			}
		}
		if failing(p.result) {
			if p, err = j.againstBaseline(ctx, h, m, start, p, out, j.compareValuesOver); err != nil {
				return nil, "", err
			}
		}
		parts = append(parts, j.withGaps(p, append(slices.Clip(expGaps), ctlGaps...)))
	}
	if m.SLO != nil {
		p := part{name: "SLO", result: Inconclusive, reason: expWhy}
		if p.reason == "" {
			p, violation = j.valueSLO(m, exp.values)
		}
		p = j.withGaps(p, expGaps)
		out.SLO = p.result
		parts = append(parts, p)
	}
	return parts, violation, nil
}

func valueSummary(s *samples) Summary {
	v := math.NaN()
	if len(s.values) > 0 {
		v = median(s.values)
	}
	return Summary{Samples: len(s.values), NaNs: s.nans, Series: s.series, Value: v}
}

// median of xs, which it leaves alone.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (j *Judge) compareValues(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	exp, ctl []float64, out *Metric,
) part {
	_, span := j.tracer.Start(ctx, "verdict.test", trace.WithAttributes(
		attribute.String("metric", m.Name), attribute.String("test", "mann-whitney-hodges-lehmann"),
		attribute.Int("n", len(exp)), attribute.Int("m", len(ctl))))
	defer span.End()
	alt, dir := alternative(m.Direction)
	c, err := stats.Compare(exp, ctl, alt, h.Judgement.Confidence)
	if err != nil {
		span.RecordError(err)
		return part{name: "vs control", result: Inconclusive, reason: "the comparison failed: " + err.Error()}
	}
	out.PValue = c.Test.PValue
	if c.Shift.K == 0 || math.IsInf(c.Shift.Lo, 0) || math.IsInf(c.Shift.Hi, 0) {
		// An interval that cannot exclude anything shows nothing: passing
		// it would pass whatever the data.
		return part{name: "vs control", result: Inconclusive, reason: fmt.Sprintf(
			"the %.3g %% interval of the shift is unbounded with %d and %d independent samples: they cannot show any change; widen the window or shorten the query's range",
			100*h.Judgement.Confidence, len(exp), len(ctl))}
	}
	e := stats.Effect{Estimate: c.Shift.Estimate, Lo: c.Shift.Lo, Hi: c.Shift.Hi}
	cl, err := stats.Classify(e, out.Control.Value, stats.Criteria{Direction: dir, AllowedRelative: m.AllowedEffect})
	if err != nil {
		span.RecordError(err)
		return part{name: "vs control", result: Inconclusive, reason: "the classification failed: " + err.Error()}
	}
	a := c.Test.Superiority
	out.Effect = &Effect{Estimate: e.Estimate, Low: e.Lo, High: e.Hi, Allowed: cl.Allowed, Confidence: h.Judgement.Confidence, Superiority: &a}
	r := classResult(cl.Class)
	span.SetAttributes(attribute.Float64("p_value", c.Test.PValue), attribute.Float64("estimate", e.Estimate),
		attribute.Float64("ci_low", e.Lo), attribute.Float64("ci_high", e.Hi), attribute.String("class", cl.Class.String()))
	return part{name: "vs control", result: r, reason: cl.Reason + fmt.Sprintf(" (p = %.3g; P(experimental > control) = %.2f)", c.Test.PValue, a)}
}

// thinning is how many steps apart the samples of m's query must be to
// share no data: a query over rate(x[1m]) at a 15 s step gives samples
// whose minute-long ranges overlap four by four, so neighbours are not
// independent, and a rank test on all of them finds "significant" shifts
// that are the same noise counted four times. The longest range (of a
// range selector or a subquery) in the query sets it.
//
// longest is that range (0 if the query has none).
func thinning(h *hypothesis.Hypothesis, m *hypothesis.Metric) (k int, longest time.Duration) {
	if h.Step <= 0 {
		return 1, 0
	}
	longest = m.LongestRange()
	return max(1, int((longest+h.Step-1)/h.Step)), longest
}

// IndependentSpan is how far apart the samples of m's query are once
// thinned (see thinning): its longest range rounded up to whole steps,
// one step if it has none. A window holds one independent sample per
// span.
func IndependentSpan(h *hypothesis.Hypothesis, m *hypothesis.Metric) time.Duration {
	k, _ := thinning(h, m)
	return time.Duration(k) * h.Step
}

// thinnedProblem says why the samples left after thinning (te and tc of
// the raw ne and nc) are too few to compare, or "". The minimum applies to
// the samples compared: 41 samples of a rate(…[5m]) at 15 s are 3
// independent ones, and 3 against 3 cannot show a shift at any useful
// confidence.
func (j *Judge) thinnedProblem(h *hypothesis.Hypothesis, m *hypothesis.Metric, ne, nc, te, tc int) string {
	if min(te, tc) >= j.minSamples {
		return ""
	}
	k, longest := thinning(h, m)
	n, raw, who := te, ne, "per group"
	switch {
	case te < tc:
		who = "in the experimental group"
	case tc < te:
		n, raw, who = tc, nc, "in the control group"
	}
	why := fmt.Sprintf("only %d independent samples %s after thinning to the query's %s range (one sample in %d of %d at the %s step); a comparison needs at least %d: widen the window to at least %s",
		n, who, hypothesis.FormatDuration(longest), k, raw, hypothesis.FormatDuration(h.Step), j.minSamples,
		hypothesis.FormatDuration(time.Duration(j.minSamples-1)*time.Duration(k)*h.Step))
	if kmax := (raw - 1) / max(1, j.minSamples-1); kmax >= 1 {
		why += fmt.Sprintf(" or shorten the query's range to at most %s", hypothesis.FormatDuration(time.Duration(kmax)*h.Step))
	}
	return why
}

// thin keeps every thinning(h, m)-th sample.
func thin(xs []float64, h *hypothesis.Hypothesis, m *hypothesis.Metric) []float64 {
	k, _ := thinning(h, m)
	if k <= 1 {
		return xs
	}
	out := make([]float64, 0, len(xs)/k+1)
	for i := 0; i < len(xs); i += k {
		out = append(out, xs[i])
	}
	return out
}

// compareOver compares m's groups over [from, to] into out, as the window
// is compared; ok is false when the data there cannot be judged.
type compareOver func(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	from, to time.Time, out *Metric) (p part, ok bool, err error)

// compareValuesOver is compareOver for a value metric.
func (j *Judge) compareValuesOver(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	from, to time.Time, out *Metric,
) (part, bool, error) {
	exp, expWhy, err := j.rangeQuery(ctx, m.Name, chaos.Experimental, m.Query(chaos.Experimental), m.Aggregate, from, to, h.Step)
	if err != nil {
		return part{}, false, err
	}
	ctl, ctlWhy, err := j.rangeQuery(ctx, m.Name, chaos.Control, m.Query(chaos.Control), m.Aggregate, from, to, h.Step)
	if err != nil {
		return part{}, false, err
	}
	if expWhy != "" || ctlWhy != "" || exp.problem(chaos.Experimental, j.minSamples) != "" ||
		ctl.problem(chaos.Control, j.minSamples) != "" || len(exp.warnings)+len(ctl.warnings) > 0 {
		return part{}, false, nil
	}
	te, tc := thin(exp.values, h, m), thin(ctl.values, h, m)
	if j.thinnedProblem(h, m, len(exp.values), len(ctl.values), len(te), len(tc)) != "" {
		return part{}, false, nil
	}
	out.Control = valueSummary(&ctl)
	p := j.compareValues(ctx, h, m, te, tc, out)
	return p, p.result != Inconclusive, nil
}

// compareRatesOver is compareOver for a ratio metric.
func (j *Judge) compareRatesOver(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	from, to time.Time, out *Metric,
) (part, bool, error) {
	exp, expWhy, err := j.counts(ctx, h, m, chaos.Experimental, from, to)
	if err != nil {
		return part{}, false, err
	}
	ctl, ctlWhy, err := j.counts(ctx, h, m, chaos.Control, from, to)
	if err != nil || expWhy != "" || ctlWhy != "" || exp.samples < j.minSamples || ctl.samples < j.minSamples ||
		len(exp.warnings)+len(ctl.warnings) > 0 {
		return part{}, false, err
	}
	return j.compareRates(ctx, h, m, exp, ctl, out), true, nil
}

// againstBaseline looks at a failed comparison (p) again in the light of
// the baseline, the h.Baseline before the window: if the groups already
// differed the same way then, by at least as much (within the allowed
// effect and the noise), the chaos is not what set them apart, and the comparison is
// inconclusive — a confounded experiment, not a failed one. This is what
// Kayenta's judge cannot see: it compares the canary with its baseline only
// during the canary. Without enough baseline data the failure stands.
// compare is the comparison the window had, run on the baseline.
func (j *Judge) againstBaseline(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	start time.Time, p part, out *Metric, compare compareOver,
) (part, error) {
	if h.Baseline <= 0 || out.Effect == nil {
		return p, nil
	}
	var before Metric
	b, ok, err := compare(ctx, h, m, start.Add(-h.Baseline), start, &before)
	if err != nil || !ok || b.result != p.result || before.Effect == nil {
		return p, err
	}
	// Did the chaos make it worse than it already was, beyond what is
	// allowed and beyond the noise? Then the failure stands: the window's
	// interval lies past the baseline's by more than the allowance. Both
	// intervals are at the hypothesis's confidence, so this errs towards
	// inconclusive, as a confounded experiment should.
	beyond := out.Effect.Low - before.Effect.High
	if p.result == Low {
		beyond = before.Effect.Low - out.Effect.High
	}
	if beyond > math.Abs(out.Effect.Allowed) {
		p.reason += fmt.Sprintf(" (the groups already differed before the experiment, by %.4g [%.4g, %.4g], but the shift grew to %.4g [%.4g, %.4g])",
			before.Effect.Estimate, before.Effect.Low, before.Effect.High, out.Effect.Estimate, out.Effect.Low, out.Effect.High)
		return p, nil
	}
	return part{name: "vs control", result: Inconclusive, reason: fmt.Sprintf(
		"the groups already differed before the experiment: in the baseline (%s before the window) the experimental group was %s by %.4g (%s); during the window by %.4g",
		h.Baseline, map[Result]string{High: "higher", Low: "lower"}[p.result], before.Effect.Estimate, b.reason, out.Effect.Estimate)}, nil
}

// valueSLO checks a value metric's SLO: it is violated when more than the
// SLO tolerance of the experimental group's samples lie outside the bound.
func (j *Judge) valueSLO(m *hypothesis.Metric, values []float64) (p part, violation string) {
	var above, below int
	worst, furthest := math.NaN(), 0.0
	for _, v := range values {
		d := 0.0
		switch {
		case v > m.SLO.Max:
			above++
			d = v - m.SLO.Max
		case v < m.SLO.Min:
			below++
			d = m.SLO.Min - v
		default:
			continue
		}
		if d > furthest || math.IsNaN(worst) {
			worst, furthest = v, d
		}
	}
	outside := above + below
	share := float64(outside) / float64(len(values))
	p = part{name: "SLO", result: Pass}
	where := describeOutside(m.SLO, above, below)
	if outside == 0 {
		p.reason = fmt.Sprintf("all %d samples of the experimental group within %s", len(values), boundString(m.SLO))
		return p, ""
	}
	detail := fmt.Sprintf("%d of %d samples (%.3g %%) of the experimental group %s (worst %.6g)",
		outside, len(values), 100*share, where, worst)
	if share <= j.sloTolerance {
		p.reason = fmt.Sprintf("%s, within the tolerance of %.3g %%", detail, 100*j.sloTolerance)
		return p, ""
	}
	p.result = Fail
	p.reason = fmt.Sprintf("%s, more than the tolerance of %.3g %%", detail, 100*j.sloTolerance)
	return p, fmt.Sprintf("metric %s violates its SLO %s: %s", m.Name, boundString(m.SLO), detail)
}

func describeOutside(b *hypothesis.Bound, above, below int) string {
	switch {
	case below == 0:
		return fmt.Sprintf("above the max %g", b.Max)
	case above == 0:
		return fmt.Sprintf("below the min %g", b.Min)
	}
	return "outside " + boundString(b)
}

// boundString writes a bound as "max 0.5", "min 3" or "[3, 5]".
func boundString(b *hypothesis.Bound) string {
	switch {
	case math.IsInf(b.Min, -1):
		return fmt.Sprintf("max %g", b.Max)
	case math.IsInf(b.Max, 1):
		return fmt.Sprintf("min %g", b.Min)
	}
	return fmt.Sprintf("[%g, %g]", b.Min, b.Max)
}

// judgeRatio compares a ratio metric's error counts with RateTest and
// checks its SLO on the experimental group's errors/total.
func (j *Judge) judgeRatio(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	start, end time.Time, running bool, out *Metric,
) (parts []part, violation string, err error) {
	exp, expWhy, err := j.counts(ctx, h, m, chaos.Experimental, start, end)
	if err != nil {
		return nil, "", err
	}
	out.Experimental = exp.summary()
	warn(out, chaos.Experimental, exp.warnings)
	expGaps := j.sampleGaps(h, m, chaos.Experimental, exp.times, start, end, running)
	if expWhy == "" {
		if expGaps, err = j.withRawGaps(ctx, h, m, chaos.Experimental, exp.times, expGaps, start, end, running, out); err != nil {
			return nil, "", err
		}
	}
	out.SampleGaps = append(out.SampleGaps, expGaps...)
	if m.Compared() {
		ctl, ctlWhy, err := j.counts(ctx, h, m, chaos.Control, start, end)
		if err != nil {
			return nil, "", err
		}
		out.Control = ctl.summary()
		warn(out, chaos.Control, ctl.warnings)
		ctlGaps := j.sampleGaps(h, m, chaos.Control, ctl.times, start, end, running)
		if ctlWhy == "" {
			if ctlGaps, err = j.withRawGaps(ctx, h, m, chaos.Control, ctl.times, ctlGaps, start, end, running, out); err != nil {
				return nil, "", err
			}
		}
		out.SampleGaps = append(out.SampleGaps, ctlGaps...)
		p := part{name: "vs control", result: Inconclusive, reason: cmpOr(expWhy, ctlWhy)}
		if p.reason == "" {
			p = j.compareRates(ctx, h, m, exp, ctl, out)
		}
		if failing(p.result) {
			if p, err = j.againstBaseline(ctx, h, m, start, p, out, j.compareRatesOver); err != nil {
				return nil, "", err
			}
		}
		parts = append(parts, j.withGaps(p, append(slices.Clip(expGaps), ctlGaps...)))
	}
	if m.SLO != nil {
		p := part{name: "SLO", result: Inconclusive, reason: expWhy}
		if p.reason == "" {
			ratio := exp.errors / exp.total
			p = part{name: "SLO", result: Pass, reason: fmt.Sprintf("the experimental group's ratio %.6g (%.0f of %.0f) is within %s",
				ratio, exp.errors, exp.total, boundString(m.SLO))}
			if !m.SLO.Contains(ratio) {
				p.result = Fail
				p.reason = fmt.Sprintf("the experimental group's ratio %.6g (%.0f of %.0f) is outside %s",
					ratio, exp.errors, exp.total, boundString(m.SLO))
				violation = fmt.Sprintf("metric %s violates its SLO %s: ratio %.6g (%.0f of %.0f)",
					m.Name, boundString(m.SLO), ratio, exp.errors, exp.total)
			}
		}
		p = j.withGaps(p, expGaps)
		out.SLO = p.result
		parts = append(parts, p)
	}
	return parts, violation, nil
}

// ratioCounts are one group's counts over the window.
type ratioCounts struct {
	errors, total float64
	// samples are the steps counted: those where the total (and the
	// errors, if they have a sample there) are finite; nans the steps
	// dropped because one of them was not.
	samples, nans, series int
	// times are the times of the steps counted.
	times []time.Time
	// noErrorSeries is set when the errors query returned no series.
	noErrorSeries bool
	warnings      []string
}

func (c *ratioCounts) summary() Summary {
	v := math.NaN()
	if c.total > 0 {
		v = c.errors / c.total
	}
	return Summary{Samples: c.samples, NaNs: c.nans, Series: c.series, Value: v, Errors: c.errors, Total: c.total}
}

// counts queries a group's errors and total and counts them over the
// window: Σ sample × step, the per-second rates' integral, over the steps
// both can be counted at. A step whose total or errors sample is NaN or
// ±Inf is dropped from both: its errors are unknown, and counting its
// requests without them would dilute the ratio. A step where the errors
// query has no sample counts no errors, and so does an errors query that
// returns no series, as long as the total has data: services commonly
// export no error series until their first error (a counter with a status
// label), and that is the zero-error case a count test exists for. why
// says why the group cannot be judged.
func (j *Judge) counts(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric, g chaos.Group,
	start, end time.Time,
) (c ratioCounts, why string, err error) {
	sel := h.Groups.Selector(g)
	total, why, err := j.rangeQuery(ctx, m.Name, g, m.Ratio.Total.Expand(sel), m.Aggregate, start, end, h.Step)
	c.warnings = total.warnings
	if err != nil || why != "" {
		return c, prefix(g, "total", why), err
	}
	errs, why, err := j.rangeQuery(ctx, m.Name, g, m.Ratio.Errors.Expand(sel), m.Aggregate, start, end, h.Step)
	for _, w := range errs.warnings {
		if !slices.Contains(c.warnings, w) {
			c.warnings = append(c.warnings, w)
		}
	}
	if err != nil || why != "" {
		return c, prefix(g, "errors", why), err
	}
	errAt := make(map[int64]float64, len(errs.points)) // by Unix milliseconds
	for _, p := range errs.points {
		errAt[p.T.UnixMilli()] = p.V
	}
	var sumErrs, sumTotal float64
	for _, p := range total.points {
		e, ok := errAt[p.T.UnixMilli()]
		if !finite(p.V) || (ok && !finite(e)) {
			c.nans++
			continue
		}
		sumTotal += p.V
		sumErrs += e
		c.samples++
		c.times = append(c.times, p.T)
	}
	step := h.Step.Seconds()
	c.errors, c.total = sumErrs*step, sumTotal*step
	c.series, c.noErrorSeries = total.series, errs.series == 0
	switch {
	case total.series == 0:
		return c, fmt.Sprintf("no data for the %s group: the total query returned no series", g), nil
	case len(total.values) == 0:
		return c, fmt.Sprintf("no data for the %s group: the total query's %d samples are %s", g, total.nans, total.allBad()), nil
	case errs.series > 0 && len(errs.values) == 0:
		return c, fmt.Sprintf("no data for the %s group: the errors query's %d samples are %s; check that the errors query divides nothing by zero", g, errs.nans, errs.allBad()), nil
	case c.samples == 0:
		return c, fmt.Sprintf("no data for the %s group: no step has both a finite total and a finite errors sample (%d steps dropped)", g, c.nans), nil
	case !finite(c.errors) || !finite(c.total):
		// finite rates whose sum overflows: errors/+Inf would be 0
		return c, fmt.Sprintf("the %s group's counts overflow (errors %g, total %g): check that the queries are per-second rates", g, c.errors, c.total), nil
	case c.total < m.Ratio.MinTotal:
		return c, fmt.Sprintf("too little traffic in the %s group (%.0f < minTotal %g)", g, c.total, m.Ratio.MinTotal), nil
	}
	// A rate's extrapolation can count a few more errors than requests
	// when nearly every request fails.
	c.errors = min(max(c.errors, 0), c.total)
	return c, "", nil
}

func prefix(g chaos.Group, query, why string) string {
	if why == "" {
		return ""
	}
	return fmt.Sprintf("%s group, %s query: %s", g, query, why)
}

// compareRates judges the difference of the error ratios. The allowance is
// AllowedEffect times the control's ratio, but never less than the ratio
// that zero errors in the control's traffic could not rule out at the
// hypothesis's confidence — the exact (Clopper–Pearson) upper bound for 0
// errors of T, 1 − (1−c)^(1/T), the bound stats.MinTotal inverts. So a
// control without errors has an allowance the size of what its traffic
// can resolve, not 0 (where any single error would fail) nor undefined;
// with plenty of traffic it shrinks, and the relative allowance rules.
func (j *Judge) compareRates(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric,
	exp, ctl ratioCounts, out *Metric,
) part {
	_, span := j.tracer.Start(ctx, "verdict.test", trace.WithAttributes(
		attribute.String("metric", m.Name), attribute.String("test", "fisher-newcombe"),
		attribute.Float64("experimental_total", exp.total), attribute.Float64("control_total", ctl.total)))
	defer span.End()
	alt, dir := alternative(m.Direction)
	// Counts beyond 2⁵³ are not integers in a float64, and beyond 2⁶³ they
	// wrap in an int64: no count test can be run on them.
	for _, c := range []struct {
		g chaos.Group
		n float64
	}{{chaos.Control, ctl.total}, {chaos.Experimental, exp.total}} {
		if !(c.n <= maxCount) {
			return part{name: "vs control", result: Inconclusive, reason: fmt.Sprintf(
				"counts too large to test exactly: %.4g requests in the %s group (the most is %.4g); check the total query's unit (it must be a per-second rate)",
				c.n, c.g, float64(maxCount))}
		}
	}
	x := stats.Counts{Errors: int64(math.Round(exp.errors)), Total: int64(math.Round(exp.total))}
	y := stats.Counts{Errors: int64(math.Round(ctl.errors)), Total: int64(math.Round(ctl.total))}
	conf := h.Judgement.Confidence
	r, err := stats.RateTest(x, y, alt, conf)
	if err != nil {
		span.RecordError(err)
		return part{name: "vs control", result: Inconclusive, reason: "the rate test failed: " + err.Error()}
	}
	out.PValue = r.PValue
	floor := -math.Expm1(math.Log1p(-conf) / float64(y.Total))
	e := stats.Effect{Estimate: r.Diff, Lo: r.Lo, Hi: r.Hi}
	cl, err := stats.Classify(e, r.Control, stats.Criteria{Direction: dir, AllowedRelative: m.AllowedEffect, AllowedAbsolute: floor})
	if err != nil {
		span.RecordError(err)
		return part{name: "vs control", result: Inconclusive, reason: "the classification failed: " + err.Error()}
	}
	hh := r.CohensH
	out.Effect = &Effect{Estimate: r.Diff, Low: r.Lo, High: r.Hi, Allowed: cl.Allowed, Confidence: conf, CohensH: &hh}
	span.SetAttributes(attribute.Float64("p_value", r.PValue), attribute.Float64("estimate", r.Diff),
		attribute.Float64("ci_low", r.Lo), attribute.Float64("ci_high", r.Hi), attribute.String("class", cl.Class.String()),
		attribute.Float64("cohens_h", hh))
	reason := fmt.Sprintf("%d of %d vs %d of %d: %s (p = %.3g; Cohen's h = %+.2f)", x.Errors, x.Total, y.Errors, y.Total, cl.Reason, r.PValue, hh)
	if ctl.noErrorSeries || exp.noErrorSeries {
		reason += "; an errors query with no series counted as 0 errors"
	}
	return part{name: "vs control", result: classResult(cl.Class), reason: reason}
}
