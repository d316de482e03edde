package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// bruteU is x's Mann–Whitney U over every pair, ties counting ½, and the
// tie term Σ(t³ − t) over the groups of equal values of x and y together.
func bruteU(x, y []float64) (u, tieTerm float64) {
	for _, a := range x {
		for _, b := range y {
			switch {
			case a > b:
				u++
			case a == b:
				u += 0.5
			}
		}
	}
	groups := map[float64]float64{}
	for _, v := range slices.Concat(x, y) {
		groups[v]++
	}
	for _, t := range groups {
		tieTerm += t*t*t - t
	}
	return u, tieTerm
}

// exactUCounts is the null distribution of U for samples of n and m
// values without ties, counted over every choice of the n ranks of x
// among n+m: counts[u] choices give U = u.
func exactUCounts(n, m int) []float64 {
	counts := make([]float64, n*m+1)
	var choose func(next, left, rankSum int)
	choose = func(next, left, rankSum int) {
		if left == 0 {
			counts[rankSum-n*(n+1)/2]++
			return
		}
		for r := next; r <= n+m-left+1; r++ {
			choose(r+1, left-1, rankSum+r)
		}
	}
	choose(1, n, 0)
	return counts
}

// bruteComparison is what the comparison of x and y at the two-sided
// alternative must give, computed from its definitions: U over every pair,
// the shift from all n·m differences sorted; for small samples the rank K
// from the enumerated null distribution of U (without ties), and the
// p-value from it too when there are none; otherwise the p-value from the
// normal approximation with the tie and continuity corrections, and K the
// comparison's own (checked against a fresh workspace only).
func bruteComparison(t *testing.T, x, y []float64, confidence float64, asymptoticK int64) Comparison {
	t.Helper()
	n, m := len(x), len(y)
	nm := float64(n) * float64(m)
	u, tieTerm := bruteU(x, y)
	want := Comparison{Test: MWResult{U: u, Superiority: u / nm, Ties: tieTerm > 0, N: n, M: m}}
	stat := max(u, nm-u)
	small := n+m <= 12 // few enough choices of ranks to count them all
	var counts []float64
	total := 0.0
	if small {
		counts = exactUCounts(n, m)
		for _, c := range counts {
			total += c
		}
	}
	switch {
	case small && tieTerm == 0 && min(n, m) <= ExactMaxSmaller:
		atLeast := 0.0
		for v := int(stat); v <= n*m; v++ {
			atLeast += counts[v]
		}
		want.Test.Method, want.Test.PValue = Exact, min(1, 2*atLeast/total)
	case small:
		require.Greater(t, tieTerm, 0.0, "a small sample without ties is tested exactly")
		fallthrough
	default:
		nn := float64(n + m)
		sigma := math.Sqrt(nm / 12 * ((nn + 1) - tieTerm/(nn*(nn-1))))
		z := (stat - nm/2 - 0.5) / sigma
		want.Test.Method, want.Test.PValue = Asymptotic, min(1, math.Erfc(z/math.Sqrt2))
	}
	// K assumes no ties, whatever the samples hold.
	if small {
		want.Shift.Method, want.Shift.Coverage = Exact, 1 // the infinite interval's, K = 0
		below := 0.0                                      // P(U ≤ k−1) for the k tried
		for k := int64(1); float64(k) <= nm; k++ {
			below += counts[k-1] / total
			if below > (1-confidence)/2 {
				break
			}
			want.Shift.K, want.Shift.Coverage = k, 1-2*below
		}
	} else {
		require.Greater(t, min(n, m), ExactMaxSmaller, "a shift of these samples is not exact")
		require.Greater(t, max(n, m), ExactCIMax, "a shift of these samples is not exact")
		want.Shift.K, want.Shift.Method = asymptoticK, Asymptotic
	}
	want.Shift.Estimate, want.Shift.Lo, want.Shift.Hi = naiveShift(naiveDifferences(x, y), want.Shift.K)
	return want
}

// TestAWorkspaceReusedLargeThenSmallGivesTheBruteForceAnswers runs the
// comparisons Compare runs, in one workspace as the pool hands it from one
// to the next: a sample of 100,000 values after small ones and small ones
// after it, either sample the large one, with ties and without. Each must
// give what the definitions give, and what a fresh workspace gives, to
// the bit: nothing left of a larger comparison may leak into a smaller.
func TestAWorkspaceReusedLargeThenSmallGivesTheBruteForceAnswers(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	continuous := func(n int) []float64 { return lognormal(r, n, 0.1, 0.5) }
	tied := func(n int) []float64 {
		v := continuous(n)
		for i := range v {
			v[i] = math.Round(v[i]*100) / 100
		}
		return v
	}
	const large = 100_000
	runs := []struct {
		name string
		x, y []float64
		ties bool
	}{
		{"5 against 5 first", continuous(5), continuous(5), false},
		{"100,000 against 20", continuous(large), continuous(20), false},
		{"5 against 3 after it", continuous(5), continuous(3), false},
		{"20 against 100,000 with ties", tied(20), tied(large), true},
		{"4 against 6 with ties after it", tied(4), tied(6), true},
		{"5 against 5 last", continuous(5), continuous(5), false},
	}
	w := new(workspace)
	for _, run := range runs {
		got, err := w.compare(run.x, run.y, TwoSided, DefaultConfidence)
		require.NoError(t, err, run.name)
		fresh, err := new(workspace).compare(run.x, run.y, TwoSided, DefaultConfidence)
		require.NoError(t, err, run.name)
		require.Equal(t, fresh, got, "%s: a reused workspace gives what a fresh one gives", run.name)

		want := bruteComparison(t, run.x, run.y, DefaultConfidence, got.Shift.K)
		requireSameFloat(t, want.Test.U, got.Test.U, "%s: U", run.name)
		require.InDelta(t, want.Test.Superiority, got.Test.Superiority, 1e-15, run.name)
		require.Equal(t, run.ties, want.Test.Ties, "%s: the samples drawn", run.name)
		require.Equal(t, want.Test.Ties, got.Test.Ties, run.name)
		require.Equal(t, [2]int{want.Test.N, want.Test.M}, [2]int{got.Test.N, got.Test.M}, run.name)
		require.Equal(t, want.Test.Method, got.Test.Method, run.name)
		requireClose(t, want.Test.PValue, got.Test.PValue, 1e-9, "%s: p-value", run.name)
		require.Equal(t, want.Shift.Method, got.Shift.Method, run.name)
		require.Equal(t, want.Shift.K, got.Shift.K, run.name)
		if want.Shift.Method == Exact {
			requireClose(t, want.Shift.Coverage, got.Shift.Coverage, 1e-12, "%s: coverage", run.name)
		}
		requireSameValue(t, want.Shift.Estimate, got.Shift.Estimate, "%s: estimate", run.name)
		requireSameValue(t, want.Shift.Lo, got.Shift.Lo, "%s: lo", run.name)
		requireSameValue(t, want.Shift.Hi, got.Shift.Hi, "%s: hi", run.name)
	}
}
