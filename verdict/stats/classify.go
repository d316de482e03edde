package stats

import (
	"fmt"
	"math"
)

// Direction says which change of a metric is harmful.
type Direction int

const (
	// Increase: higher is worse (latency, errors). Kayenta's "increase".
	Increase Direction = iota
	// Decrease: lower is worse (throughput, success ratio).
	Decrease
	// Either: any change is harmful.
	Either
)

func (d Direction) String() string {
	return enumName(d, "Direction", "increase", "decrease", "either")
}

// Class is a metric's verdict.
type Class int

const (
	// Pass: no harmful change larger than allowed was shown.
	Pass Class = iota
	// High: the experiment is significantly and too much higher.
	High
	// Low: the experiment is significantly and too much lower.
	Low
	// Inconclusive: the change is significant but its size cannot be
	// judged (a relative allowance against a control located at 0).
	Inconclusive
)

func (c Class) String() string {
	return enumName(c, "Class", "pass", "high", "low", "inconclusive")
}

// Effect is an estimated change of the experiment against the control and
// its confidence interval, in the metric's unit: a Shift's Estimate, Lo and
// Hi, or a RateResult's Diff, Lo and Hi.
type Effect struct {
	Estimate, Lo, Hi float64
}

// Criteria say how large a harmful change may be.
type Criteria struct {
	Direction Direction
	// AllowedRelative is the allowed change as a fraction of the control's
	// location (0.2: ±20 % of the control's median).
	AllowedRelative float64
	// AllowedAbsolute is the allowed change in the metric's unit; the
	// larger of the two allowances applies. It is what keeps a judge
	// usable when the control's location is 0 (no errors, idle queue),
	// where a relative allowance means nothing.
	AllowedAbsolute float64
}

// Classification is Classify's verdict and why.
type Classification struct {
	Class  Class
	Reason string
	// Allowed is the allowed change in the metric's unit:
	// max(AllowedRelative·|reference|, AllowedAbsolute).
	Allowed float64
}

// Classify judges an effect the way Kayenta's MannWhitneyClassifier does, in
// two steps: the change must be significant (the interval excludes 0) and
// large (the estimate exceeds the allowance), in a harmful direction.
//
//   - Interval contains 0 → Pass: no significant change.
//   - Lo > 0 (significant increase): High if the direction is Increase or
//     Either and Estimate > Allowed, else Pass. Hi < 0 likewise → Low.
//   - reference = 0, AllowedRelative > 0 and AllowedAbsolute = 0 with a
//     significant harmful change → Inconclusive: a relative effect against
//     0 is undefined.
//
// The reference is the control's location (its median, say). Differences
// from Kayenta: Kayenta compares the interval with a quarter of the
// estimate itself (Lo > 0.25·|estimate|), an ad-hoc precision check the
// interval already provides, and its effect size is the ratio of means,
// NaN at a zero control, in which case it silently drops the size check;
// here the allowance is relative to the reference or absolute, and a zero
// reference is reported rather than ignored.
func Classify(e Effect, reference float64, c Criteria) (Classification, error) {
	if math.IsNaN(e.Estimate) || math.IsNaN(e.Lo) || math.IsNaN(e.Hi) || !(e.Lo <= e.Hi) {
		return Classification{}, fmt.Errorf("effect %v [%v, %v]: not an interval", e.Estimate, e.Lo, e.Hi)
	}
	if math.IsNaN(reference) || math.IsInf(reference, 0) {
		return Classification{}, fmt.Errorf("reference %v: not a finite number", reference)
	}
	if !(c.AllowedRelative >= 0) || !(c.AllowedAbsolute >= 0) || math.IsInf(c.AllowedRelative, 0) || math.IsInf(c.AllowedAbsolute, 0) {
		return Classification{}, fmt.Errorf("allowed change %v (relative), %v (absolute): must be finite and ≥ 0", c.AllowedRelative, c.AllowedAbsolute)
	}
	if c.Direction < Increase || c.Direction > Either {
		return Classification{}, fmt.Errorf("direction %v: unknown", c.Direction)
	}
	allowed := max(c.AllowedRelative*math.Abs(reference), c.AllowedAbsolute)
	out := Classification{Class: Pass, Allowed: allowed}
	var (
		up      bool
		harmful bool
	)
	switch {
	case e.Lo > 0:
		up, harmful = true, c.Direction != Decrease
	case e.Hi < 0:
		up, harmful = false, c.Direction != Increase
	default:
		out.Reason = fmt.Sprintf("no significant change: the interval [%.6g, %.6g] contains 0", e.Lo, e.Hi)
		return out, nil
	}
	word, class, size := "increase", High, e.Estimate
	if !up {
		word, class, size = "decrease", Low, -e.Estimate
	}
	switch {
	case !harmful:
		out.Reason = fmt.Sprintf("significant %s of %.6g, but only %ss are harmful", word, size, c.Direction)
	case reference == 0 && c.AllowedRelative > 0 && c.AllowedAbsolute == 0:
		out.Class = Inconclusive
		out.Reason = fmt.Sprintf("significant %s of %.6g, but the control's location is 0: a relative allowance of %g cannot size it (set an absolute one)", word, size, c.AllowedRelative)
	case size > allowed:
		out.Class = class
		out.Reason = fmt.Sprintf("significant %s of %.6g%s exceeds the allowed %.6g", word, size, relative(size, reference), allowed)
	default:
		out.Reason = fmt.Sprintf("significant %s of %.6g%s within the allowed %.6g", word, size, relative(size, reference), allowed)
	}
	return out, nil
}

func relative(size, reference float64) string {
	if reference == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.3g %% of the control's %.6g)", 100*size/math.Abs(reference), reference)
}

// enumName is v's name: names[v], in the order of v's constants, or
// "Type(v)" for a value out of range.
func enumName[T ~int](v T, typ string, names ...string) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, int(v))
}
