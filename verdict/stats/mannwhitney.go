package stats

import (
	"fmt"
	"math"
	"sort"
)

// Alternative is the alternative hypothesis of a test, in terms of x
// (the experiment) against y (the control).
type Alternative int

const (
	// TwoSided: x and y differ in location.
	TwoSided Alternative = iota
	// Less: x tends to be smaller than y (Δ < 0).
	Less
	// Greater: x tends to be larger than y (Δ > 0).
	Greater
)

func (a Alternative) String() string {
	return enumName(a, "Alternative", "two-sided", "less", "greater")
}

func (a Alternative) valid() bool { return a >= TwoSided && a <= Greater }

// Method says how a p-value or a critical value was obtained.
type Method int

const (
	// Auto picks Exact or Asymptotic by the rule documented on MannWhitney.
	Auto Method = iota
	// Exact uses the exact null distribution of U (valid without ties).
	Exact
	// Asymptotic uses the normal approximation with tie and continuity
	// corrections.
	Asymptotic
)

func (m Method) String() string {
	return enumName(m, "Method", "auto", "exact", "asymptotic")
}

// ExactMaxSmaller is the largest size of the smaller sample for which Auto
// uses the exact distribution of U (scipy 1.10's mannwhitneyu rule: exact
// when either sample has at most 8 values and there are no ties).
const ExactMaxSmaller = 8

// ExactMaxCells bounds n·m for any exact computation: the distribution's left
// half is held in n·m/2 float64s and costs min(n,m)·n·m/2 additions, so this
// keeps it within 4 MB and a few milliseconds. scipy has no such bound; past
// it the normal approximation is accurate to far better than the decisions
// made with it need.
const ExactMaxCells = 1_000_000

// MWResult is the outcome of a Mann-Whitney U test.
type MWResult struct {
	// U is x's statistic: #{x_i > y_j} + ½·#{x_i = y_j}, in [0, n·m]
	// (scipy's U1). n·m − U is y's.
	U float64
	// Superiority is U/(n·m): the probability that a value drawn from x
	// exceeds one drawn from y, ties counting half — the common-language
	// effect size (McGraw and Wong; Vargha and Delaney's A). 0.5 is no
	// effect, 1 every x above every y. Unlike a p-value it does not grow
	// with the sample, so it tells a small-but-significant shift from a
	// large one.
	Superiority float64
	// PValue under the requested alternative.
	PValue float64
	// Method actually used: Exact or Asymptotic.
	Method Method
	// Ties is true if any value occurs more than once in x and y together.
	Ties bool
	N, M int // sizes of x and y
}

// MannWhitney tests whether x and y come from the same distribution against
// a shift of x relative to y, as scipy.stats.mannwhitneyu(x, y,
// use_continuity=True, alternative=alt, method="auto") in scipy 1.10 does.
//
// The p-value is exact (from the null distribution of U) when the smaller
// sample has at most ExactMaxSmaller values, there are no ties and
// n·m ≤ ExactMaxCells; otherwise it is the normal approximation with the tie
// correction of the variance and a continuity correction of ½. Two-sided
// p-values are twice the upper tail of max(U, n·m − U), capped at 1.
//
// Empty samples, NaN or infinite values and samples of more than MaxValues
// values are errors (*SampleError).
func MannWhitney(x, y []float64, alt Alternative) (MWResult, error) {
	return MannWhitneyMethod(x, y, alt, Auto)
}

// MannWhitneyMethod is MannWhitney with the method forced. Exact with ties
// is an error: the exact distribution assumes none (scipy silently truncates
// U instead); Exact beyond ExactMaxCells is an error too.
func MannWhitneyMethod(x, y []float64, alt Alternative, method Method) (MWResult, error) {
	return withWorkspace(func(w *workspace) (MWResult, error) {
		xs, ys, err := w.sortedCopies(x, y)
		if err != nil {
			return MWResult{}, err
		}
		return mannWhitneySorted(xs, ys, alt, method)
	})
}

// rankSums is U of x, the tie term Σ(t³ − t) over groups of equal values
// and whether any exist, from the sorted samples.
func rankSums(xs, ys []float64) (u, tieTerm float64, ties bool) {
	if u, ok := rankSumsNoTies(xs, ys); ok {
		return u, 0, false
	}
	return rankSumsMerge(xs, ys)
}

// rankSumsNoTies is U of x, the number of y below each x summed, when no
// value occurs twice in the sorted samples together; false if one does (or
// n·m is too large for U to be exact). Merging with a branch on which
// sample comes next mispredicts about every other value of interleaved
// samples: here each step computes it as a number and moves i or j by it.
// A tie across the samples meets as x_i = y_j in some step, since neither
// moves past a value the other equals.
func rankSumsNoTies(xs, ys []float64) (float64, bool) {
	n, m := len(xs), len(ys)
	if float64(n)*float64(m) > 1<<53 || hasTies(xs) || hasTies(ys) {
		return 0, false
	}
	// Each step waits for the one before; two halves merged at once
	// overlap. The second starts at x's middle value and the first y not
	// below it (no x of the first half equals a y of the second: it would
	// equal that middle value).
	h := n / 2
	var jh int
	if h < n {
		jh = sort.SearchFloat64s(ys, xs[h])
	}
	i0, j0, i1, j1 := 0, 0, h, jh
	var below0, below1 int64
	tie := 0
	for {
		steps := min(h-i0, jh-j0, n-i1, m-j1)
		if steps <= 0 {
			break
		}
		for range steps {
			i0, j0, below0, tie = mergeStep(xs, ys, i0, j0, below0, tie)
			i1, j1, below1, tie = mergeStep(xs, ys, i1, j1, below1, tie)
		}
	}
	for i0 < h && j0 < jh {
		i0, j0, below0, tie = mergeStep(xs, ys, i0, j0, below0, tie)
	}
	for i1 < n && j1 < m {
		i1, j1, below1, tie = mergeStep(xs, ys, i1, j1, below1, tie)
	}
	// x values left over are above every y of their half.
	below := below0 + int64(h-i0)*int64(jh) + below1 + int64(n-i1)*int64(m)
	return float64(below), tie == 0
}

// mergeStep takes x_i if it is at most y_j, adding the j values of y below
// it to below, else y_j; tie becomes 1 if they are equal.
func mergeStep(xs, ys []float64, i, j int, below int64, tie int) (int, int, int64, int) {
	x, y := xs[i], ys[j]
	takeX, same := 0, 0
	if x <= y {
		takeX = 1
	}
	if x == y {
		same = 1
	}
	return i + takeX, j + 1 - takeX, below + int64(j&-takeX), tie | same
}

// hasTies tells whether sorted v holds a value twice.
func hasTies(v []float64) bool {
	tie := 0
	for k := 1; k < len(v); k++ {
		same := 0
		if v[k] == v[k-1] {
			same = 1
		}
		tie |= same
	}
	return tie != 0
}

// rankSumsMerge walks the sorted samples once, as merging them would: U of
// x, the tie term and whether there are ties.
func rankSumsMerge(xs, ys []float64) (u, tieTerm float64, ties bool) {
	i, j := 0, 0
	for i < len(xs) || j < len(ys) {
		var v float64
		switch {
		case j == len(ys) || (i < len(xs) && xs[i] <= ys[j]):
			v = xs[i]
		default:
			v = ys[j]
		}
		below := j // number of y values < v
		ci := 0
		for i < len(xs) && xs[i] == v {
			i++
			ci++
		}
		cj := 0
		for j < len(ys) && ys[j] == v {
			j++
			cj++
		}
		u += float64(ci) * (float64(below) + float64(cj)/2)
		if t := float64(ci + cj); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
	}
	return u, tieTerm, ties
}

func mannWhitneySorted(xs, ys []float64, alt Alternative, method Method) (MWResult, error) {
	if !alt.valid() {
		return MWResult{}, fmt.Errorf("alternative %v: unknown", alt)
	}
	n, m := len(xs), len(ys)
	u, tieTerm, ties := rankSums(xs, ys)
	nm := float64(n) * float64(m)
	res := MWResult{U: u, Superiority: u / nm, Ties: ties, N: n, M: m}
	exactOK := float64(n)*float64(m) <= ExactMaxCells
	switch method {
	case Auto:
		method = Asymptotic
		if min(n, m) <= ExactMaxSmaller && !ties && exactOK {
			method = Exact
		}
	case Exact:
		if ties {
			return MWResult{}, fmt.Errorf("exact method: the samples have ties, the exact distribution of U assumes none")
		}
		if !exactOK {
			return MWResult{}, fmt.Errorf("exact method: n·m = %d·%d exceeds %d", n, m, ExactMaxCells)
		}
	case Asymptotic:
	default:
		return MWResult{}, fmt.Errorf("method %v: unknown", method)
	}
	res.Method = method

	// As scipy: the statistic whose upper tail is the p-value, and a factor.
	var stat, factor float64
	switch alt {
	case Greater:
		stat, factor = u, 1
	case Less:
		stat, factor = nm-u, 1
	default:
		stat, factor = max(u, nm-u), 2
	}
	var p float64
	if method == Exact {
		// P(U ≥ stat) = P(U ≤ n·m − stat) by symmetry; U is an integer here.
		p = newUDist(n, m).cdf(int64(math.Round(nm - stat)))
	} else {
		nn := float64(n + m)
		sigma := math.Sqrt(nm / 12 * ((nn + 1) - tieTerm/(nn*(nn-1))))
		// Subtracting ½ always moves toward the mass at stat, as scipy does.
		z := (stat - nm/2 - 0.5) / sigma // ±Inf or NaN when every value is tied
		if math.IsNaN(z) {
			z = math.Inf(-1)
		}
		p = normalSF(z)
	}
	res.PValue = min(1, max(0, p*factor))
	return res, nil
}
