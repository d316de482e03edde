package stats

import (
	"errors"
	"fmt"
	"math"
)

// Counts are a group's failed and total events over the window (errors and
// requests, failed and total probes, …).
type Counts struct {
	Errors, Total int64
}

// Rate is Errors/Total.
func (c Counts) Rate() float64 { return float64(c.Errors) / float64(c.Total) }

// ErrNoTraffic is returned by RateTest for a group with no events: nothing
// can be said about its error rate.
var ErrNoTraffic = errors.New("no events")

func (c Counts) check(name string) error {
	switch {
	case c.Total == 0:
		return fmt.Errorf("%s: %w", name, ErrNoTraffic)
	case c.Total < 0 || c.Errors < 0:
		return fmt.Errorf("%s: negative count (%d errors of %d)", name, c.Errors, c.Total)
	case c.Errors > c.Total:
		return fmt.Errorf("%s: %d errors exceed the %d events", name, c.Errors, c.Total)
	}
	return nil
}

// RateResult compares the error rates of two groups.
type RateResult struct {
	// PValue is Fisher's exact test of equal rates against the alternative
	// (Greater: the experiment's rate is higher), conditional on the total
	// number of errors; as scipy.stats.fisher_exact on the table
	// [[e_x, t_x − e_x], [e_y, t_y − e_y]]. 1 when no group has an error.
	PValue float64
	// Experiment and Control are the observed rates.
	Experiment, Control float64
	// Diff = Experiment − Control, with Newcombe's hybrid score interval
	// [Lo, Hi] (his method 10: the difference of the two Wilson score
	// intervals' distances) at the requested confidence, two-sided. It
	// stays inside [−1, 1], is not degenerate at 0 errors, and needs no
	// division by the control's rate, so zero-error controls are judged as
	// well as any other.
	Diff, Lo, Hi float64
	// CohensH is the standardized difference of the rates, Cohen's h:
	// φ(Experiment) − φ(Control) with φ(p) = 2·asin(√p); see CohensH.
	CohensH float64
}

// RateTest compares the experiment's error rate with the control's.
//
// Judge errors on their counts summed over the window, not on a series of
// per-interval error counts with Mann-Whitney: when most intervals have no
// error the median of the differences is 0 whatever the change, so the
// Hodges–Lehmann interval is [0, 0] even where the U test is significant.
//
// Zero errors anywhere are fine: the p-value is exact and the interval is
// for the difference of rates, not their ratio (undefined at a zero
// control). Fisher's test is conservative for small counts, never liberal.
// How much traffic a verdict needs is the caller's rule; MinTotal gives one.
func RateTest(experiment, control Counts, alt Alternative, confidence float64) (RateResult, error) {
	if err := experiment.check("experiment"); err != nil {
		return RateResult{}, err
	}
	if err := control.check("control"); err != nil {
		return RateResult{}, err
	}
	if err := checkConfidence(confidence); err != nil {
		return RateResult{}, err
	}
	if !alt.valid() {
		return RateResult{}, fmt.Errorf("alternative %v: unknown", alt)
	}
	res := RateResult{Experiment: experiment.Rate(), Control: control.Rate()}
	res.PValue = fisherExact(experiment, control, alt)
	z := -normalQuantile((1 - confidence) / 2)
	l1, u1 := wilson(experiment, z)
	l2, u2 := wilson(control, z)
	p1, p2 := res.Experiment, res.Control
	res.Diff = p1 - p2
	res.Lo = res.Diff - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	res.Hi = res.Diff + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	res.CohensH = experiment.arcsine() - control.arcsine()
	return res, nil
}

// CohensH is the standardized effect of a change from the proportion
// control to experiment, Cohen's h = 2·asin(√experiment) − 2·asin(√control):
// the difference of the proportions on the arcsine scale, on which a
// proportion's sampling variance (1/(4n)) no longer depends on the
// proportion, so the same h is as detectable near 0 as near ½. It ranges
// over [−π, π]; by Cohen's conventional reading |h| = 0.2 is a small
// effect, 0.5 a medium one, 0.8 a large one. Going from 0.1 % to 0.2 %
// errors, a doubling, is h = 0.026: negligible, however significant with
// enough traffic. NaN unless both are in [0, 1].
func CohensH(experiment, control float64) float64 {
	return arcsine(experiment, 1-experiment) - arcsine(control, 1-control)
}

// arcsine is 2·asin(√c.Rate()) from the counts themselves.
func (c Counts) arcsine() float64 {
	return arcsine(float64(c.Errors), float64(c.Total-c.Errors))
}

// arcsine is 2·asin(√p) for p = a/(a+b), a and b ≥ 0 not both 0, computed
// as 2·atan2(√a, √b): asin loses digits near 1, where √p rounds to 1,
// while b, 1 − p, keeps them. NaN if a or b is negative, NaN or infinite.
func arcsine(a, b float64) float64 {
	if !(a >= 0 && b >= 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return math.NaN()
	}
	return 2 * math.Atan2(math.Sqrt(a), math.Sqrt(b))
}

// wilson is the Wilson score interval for c's rate.
func wilson(c Counts, z float64) (lo, hi float64) {
	n, p := float64(c.Total), c.Rate()
	z2 := z * z
	center := (p + z2/(2*n)) / (1 + z2/n)
	half := z / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return max(0, center-half), min(1, center+half)
}

// fisherExact is the p-value of Fisher's exact test. Given the total
// number of errors E, the experiment's count X is hypergeometric: E draws
// from t_x "experiment" and t_y "control" events. Two-sided, as scipy: the
// sum of P(X = k) over every k no more likely than the observed count
// (within a relative 1e-14).
func fisherExact(ex, ctl Counts, alt Alternative) float64 {
	r, b := float64(ex.Total), float64(ctl.Total)
	n := float64(ex.Errors + ctl.Errors)
	x := float64(ex.Errors)
	if n == 0 || n == r+b {
		return 1 // a zero margin: scipy's p = 1
	}
	lo, hi := max(0, n-b), min(n, r)
	pmf := func(k float64) float64 { return dhyper(k, r, b, n) }
	mode := math.Floor((n + 1) * (r + 1) / (r + b + 2))
	var p float64
	switch alt {
	case Less:
		p = hyperCDF(pmf, x, lo, hi, mode)
	case Greater:
		p = hyperSF(pmf, x, lo, hi, mode)
	default:
		pObs := pmf(x)
		pMode := pmf(mode)
		if math.Abs(pObs-pMode)/max(pObs, pMode) <= 1e-14 {
			return 1
		}
		limit := pObs * (1 + 1e-14)
		// the tail beyond x on its own side, plus the cells on the other
		// side of the mode no more likely than x
		if x < mode {
			p = hyperCDF(pmf, x, lo, hi, mode) + otherTail(pmf, mode, hi, limit)
		} else {
			p = hyperSF(pmf, x, lo, hi, mode) + otherTail(pmf, mode, lo, limit)
		}
	}
	return min(1, max(0, p))
}

// otherTail sums pmf(k) over the k on the far side of the mode (toward end)
// with pmf(k) ≤ limit: the pmf is monotone there, so a binary search finds
// where they start and the sum runs outward from it.
func otherTail(pmf func(float64) float64, mode, end, limit float64) float64 {
	step := 1.0
	if end < mode {
		step = -1
	}
	// the first k from the mode toward end with pmf(k) ≤ limit
	near, far := mode, end // pmf(near) > limit is known; pmf(far) is not
	if pmf(far) > limit {
		return 0
	}
	for math.Abs(far-near) > 1 {
		mid := near + math.Trunc((far-near)/2)
		if pmf(mid) > limit {
			near = mid
		} else {
			far = mid
		}
	}
	return tailSum(pmf, far, end, step)
}

// hyperCDF is P(X ≤ x); below the mode it sums the tail down from x,
// stopping once further terms cannot change the sum.
func hyperCDF(pmf func(float64) float64, x, lo, hi, mode float64) float64 {
	if x >= mode {
		return 1 - hyperSF(pmf, x+1, lo, hi, mode)
	}
	return tailSum(pmf, x, lo, -1)
}

// hyperSF is P(X ≥ x).
func hyperSF(pmf func(float64) float64, x, lo, hi, mode float64) float64 {
	if x > hi {
		return 0
	}
	if x <= mode {
		return 1 - hyperCDF(pmf, x-1, lo, hi, mode)
	}
	return tailSum(pmf, x, hi, 1)
}

// tailSum adds pmf(k) from k = from toward end (inclusive), away from the
// mode, until the terms no longer change the sum: past the mode they fall
// at least geometrically (the hypergeometric is log-concave).
func tailSum(pmf func(float64) float64, from, end, step float64) float64 {
	var s float64
	for k := from; (step < 0 && k >= end) || (step > 0 && k <= end); k += step {
		v := pmf(k)
		if v == 0 || s+v == s {
			break
		}
		s += v
	}
	return s
}

// MinTotal is the least number of events per group for which zero errors
// would show, at the given one-sided confidence, that the group's error
// rate is below maxRate: the exact (Clopper–Pearson) upper bound for 0 of T
// is 1 − (1−c)^(1/T), so T = ⌈ln(1−c) / ln(1−maxRate)⌉ ("rule of three":
// ≈ 3/maxRate at 95 %). With less traffic no count test can tell a healthy
// group from one at the allowed rate, and a judge should say so rather than
// pass it.
func MinTotal(maxRate, confidence float64) (int64, error) {
	if !(maxRate > 0 && maxRate < 1) {
		return 0, fmt.Errorf("maximum rate %v: must be in (0, 1)", maxRate)
	}
	if err := checkConfidence(confidence); err != nil {
		return 0, err
	}
	t := math.Log1p(-confidence) / math.Log1p(-maxRate)
	// ceil, but not past an integer that rounding pushed a hair above
	ti := math.Ceil(t - 1e-9*t)
	if ti > math.MaxInt64/2 {
		return 0, fmt.Errorf("maximum rate %v: needs more than 2⁶² events", maxRate)
	}
	return max(1, int64(ti)), nil
}
