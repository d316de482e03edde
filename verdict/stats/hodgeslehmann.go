package stats

import (
	"fmt"
	"math"
	"slices"
)

// DefaultConfidence is the confidence of the shift interval in Kayenta's
// NetflixACAJudge (MannWhitneyClassifier with confLevel 0.98).
const DefaultConfidence = 0.98

// ExactCIMax is the sample size up to which the interval's critical value
// comes from the exact distribution of U even when the smaller sample is
// larger than ExactMaxSmaller.
const ExactCIMax = 50

// Shift is the Hodges–Lehmann estimate of Δ = location(x) − location(y) and
// its distribution-free confidence interval.
type Shift struct {
	// Estimate is the median of the n·m differences x_i − y_j (the mean of
	// the two middle ones when n·m is even).
	Estimate float64
	// Lo and Hi bound the interval: with D_(1) ≤ … ≤ D_(n·m) the sorted
	// differences, Lo = D_(K) and Hi = D_(n·m+1−K). When the samples are too
	// small for any K ≥ 1 to reach the requested confidence (n = m = 3 at
	// 0.98, say), Lo = −Inf and Hi = +Inf: the data cannot show a shift.
	Lo, Hi float64
	// K is the rank of Lo (0 for the infinite interval).
	K int64
	// Coverage is the interval's own confidence, 1 − 2·P(U ≤ K−1) under the
	// null distribution used for K (≥ the requested confidence when exact;
	// 1 for the infinite interval).
	Coverage float64
	// Method is how K was found: Exact when min(n, m) ≤ ExactMaxSmaller or
	// max(n, m) ≤ ExactCIMax (and n·m ≤ ExactMaxCells), else Asymptotic.
	Method Method
}

// HodgesLehmann estimates the shift Δ between x and y, with Lehmann's
// (Bauer's) confidence interval at the given confidence: the K-th smallest
// and K-th largest of the differences x_i − y_j, where K is the largest
// integer with P(U ≤ K−1) ≤ (1 − confidence)/2.
//
// K comes from the exact null distribution of U for small samples (see
// Shift.Method), otherwise from the normal approximation with continuity
// correction, K = ⌊n·m/2 − z·σ + ½⌋, z = Φ⁻¹(1 − α/2),
// σ² = n·m·(n+m+1)/12. Ties do not change K: with ties the closed interval
// only becomes conservative.
//
// The differences are never materialised: each order statistic is selected
// in O((n+m)·log(n·m)) expected time, after an O((n+m)·log(n+m)) sort.
func HodgesLehmann(x, y []float64, confidence float64) (Shift, error) {
	if err := checkConfidence(confidence); err != nil {
		return Shift{}, err
	}
	return withWorkspace(func(w *workspace) (Shift, error) {
		xs, ys, err := w.sortedCopies(x, y)
		if err != nil {
			return Shift{}, err
		}
		return hodgesLehmannSorted(w.sel.reset(xs, ys), confidence), nil
	})
}

// Comparison is a Mann-Whitney test and the shift interval of the same data.
type Comparison struct {
	Test  MWResult
	Shift Shift
}

// Compare runs MannWhitney and HodgesLehmann on x and y, sorting them once.
func Compare(x, y []float64, alt Alternative, confidence float64) (Comparison, error) {
	if err := checkConfidence(confidence); err != nil {
		return Comparison{}, err
	}
	return withWorkspace(func(w *workspace) (Comparison, error) { return w.compare(x, y, alt, confidence) })
}

// compare is Compare in w, the workspace the pool handed it.
func (w *workspace) compare(x, y []float64, alt Alternative, confidence float64) (Comparison, error) {
	xs, ys, err := w.sortedCopies(x, y)
	if err != nil {
		return Comparison{}, err
	}
	t, err := mannWhitneySorted(xs, ys, alt, Auto)
	if err != nil {
		return Comparison{}, err
	}
	return Comparison{Test: t, Shift: hodgesLehmannSorted(w.sel.reset(xs, ys), confidence)}, nil
}

// criticalRank returns K, the coverage of [D_(K), D_(nm+1−K)] and how K was
// found.
func criticalRank(n, m int, confidence float64) (int64, float64, Method) {
	nm := int64(n) * int64(m)
	tail := (1 - confidence) / 2
	var (
		k        int64
		coverage float64
		method   Method
	)
	if (min(n, m) <= ExactMaxSmaller || max(n, m) <= ExactCIMax) && nm <= ExactMaxCells {
		var below float64
		k, below = newUDist(n, m).lowerRank(tail)
		coverage, method = 1-2*below, Exact
	} else {
		mu := float64(nm) / 2
		sigma := math.Sqrt(float64(nm) * float64(n+m+1) / 12)
		z := -normalQuantile(tail)
		k = int64(math.Floor(mu - z*sigma + 0.5))
		method = Asymptotic
		if k >= 1 {
			coverage = 1 - 2*normalSF((mu-float64(k)+0.5)/sigma)
		}
	}
	if k < 1 {
		return 0, 1, method
	}
	// A confidence under ½ could ask for Lo above Hi.
	k = min(k, (nm+1)/2)
	return k, coverage, method
}

// hodgesLehmannSorted is HodgesLehmann on the sorted samples of sel.
func hodgesLehmannSorted(sel *diffSelector, confidence float64) Shift {
	n, m := len(sel.xs), len(sel.ys)
	nm := int64(n) * int64(m)
	var sh Shift
	sh.K, sh.Coverage, sh.Method = criticalRank(n, m, confidence)
	mid1, mid2 := (nm+1)/2, nm/2+1 // equal when n·m is odd
	ranks := []int64{mid1, mid2}
	if sh.K > 0 {
		ranks = append(ranks, sh.K, nm+1-sh.K)
	}
	slices.Sort(ranks)
	ranks = slices.Compact(ranks)
	vals := sel.kths(ranks...)
	at := func(k int64) float64 {
		i, _ := slices.BinarySearch(ranks, k)
		return vals[i]
	}
	a, b := at(mid1), at(mid2)
	sh.Estimate = a + (b-a)/2
	if a == b {
		// Both the same infinity (differences of finite values that
		// overflow): b−a would make it NaN.
		sh.Estimate = a
	}
	sh.Lo, sh.Hi = math.Inf(-1), math.Inf(1)
	if sh.K > 0 {
		sh.Lo, sh.Hi = at(sh.K), at(nm+1-sh.K)
	}
	return sh
}

// KthDifference returns the k-th smallest (1-based) of the n·m differences
// x_i − y_j without materialising them.
func KthDifference(x, y []float64, k int64) (float64, error) {
	return withWorkspace(func(w *workspace) (float64, error) {
		xs, ys, err := w.sortedCopies(x, y)
		if err != nil {
			return 0, err
		}
		if nm := int64(len(xs)) * int64(len(ys)); k < 1 || k > nm {
			return 0, fmt.Errorf("k = %d: must be in [1, %d]", k, nm)
		}
		return w.sel.reset(xs, ys).kth(k), nil
	})
}
