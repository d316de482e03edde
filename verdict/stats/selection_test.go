package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveDifferences is the O(n·m) oracle: every x_i − y_j, sorted.
func naiveDifferences(x, y []float64) []float64 {
	d := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			d = append(d, a-b)
		}
	}
	slices.Sort(d)
	return d
}

// requireSameFloat fails unless got is want to the bit: selection must
// return the very float64 that sorting all differences puts at that rank.
func requireSameFloat(t *testing.T, want, got float64, msg string, args ...any) {
	t.Helper()
	require.Equalf(t, math.Float64bits(want), math.Float64bits(got), msg+": want %v, got %v", append(args, want, got)...)
}

// requireSameValue is requireSameFloat except that −0 and +0 are the same:
// sorting cannot order them (they compare equal), so with both among the
// differences the brute force's sign of zero at a rank is arbitrary.
func requireSameValue(t *testing.T, want, got float64, msg string, args ...any) {
	t.Helper()
	if want == 0 && got == 0 {
		return
	}
	requireSameFloat(t, want, got, msg, args...)
}

// naiveShift is the Hodges–Lehmann estimate and interval from the sorted
// differences, given the rank K of the lower end.
func naiveShift(d []float64, k int64) (est, lo, hi float64) {
	nm := int64(len(d))
	if nm%2 == 1 {
		est = d[nm/2]
	} else {
		a, b := d[nm/2-1], d[nm/2]
		est = a + (b-a)/2
	}
	if k == 0 {
		return est, math.Inf(-1), math.Inf(1)
	}
	return est, d[k-1], d[nm-k]
}

type sampleKind struct {
	name string
	draw func(r *rand.Rand, n int) []float64
}

var sampleKinds = []sampleKind{
	{"continuous", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Exp(r.NormFloat64())
		}
		return v
	}},
	{"few distinct values", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(4))
		}
		return v
	}},
	{"mostly zeros", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			if r.IntN(10) == 0 {
				v[i] = float64(1 + r.IntN(3))
			}
		}
		return v
	}},
	{"all equal", func(_ *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = 0.25
		}
		return v
	}},
	{"rounded to 0.1", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Round(r.NormFloat64()*10) / 10
		}
		return v
	}},
}

func TestKthDifferenceMatchesSortingAllDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 3}, {5, 5}, {13, 40}, {40, 13}, {97, 101}, {300, 200}, {1000, 3}}
	for _, kind := range sampleKinds {
		for _, sz := range sizes {
			for range 3 {
				x, y := kind.draw(r, sz[0]), kind.draw(r, sz[1])
				d := naiveDifferences(x, y)
				ks := []int64{1, int64(len(d)), int64(len(d)+1) / 2, 1 + r.Int64N(int64(len(d)))}
				for _, k := range ks {
					got, err := KthDifference(x, y, k)
					require.NoError(t, err)
					requireSameFloat(t, d[k-1], got, "%s, n=%d m=%d, k=%d", kind.name, sz[0], sz[1], k)
				}
			}
		}
	}
}

func TestHodgesLehmannMatchesTheBruteForceInterval(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sizes := [][2]int{{3, 3}, {4, 9}, {8, 200}, {30, 45}, {51, 60}, {240, 240}, {500, 120}}
	for _, kind := range sampleKinds {
		for _, sz := range sizes {
			for _, conf := range []float64{0.8, 0.95, DefaultConfidence} {
				x, y := kind.draw(r, sz[0]), kind.draw(r, sz[1])
				got, err := HodgesLehmann(x, y, conf)
				require.NoError(t, err)
				est, lo, hi := naiveShift(naiveDifferences(x, y), got.K)
				requireSameFloat(t, est, got.Estimate, "%s %v", kind.name, sz)
				requireSameFloat(t, lo, got.Lo, "%s %v", kind.name, sz)
				requireSameFloat(t, hi, got.Hi, "%s %v", kind.name, sz)
			}
		}
	}
}

func TestSelectionRoundsFindTheSameDifferenceAsSorting(t *testing.T) {
	// Copying out only the last cell makes every selection go through the
	// sampled rounds, and the tied kinds through the three-way fallback.
	r := rand.New(rand.NewPCG(5, 6))
	for _, kind := range sampleKinds {
		for _, sz := range [][2]int{{2, 2}, {3, 50}, {60, 7}, {120, 130}} {
			x, y := kind.draw(r, sz[0]), kind.draw(r, sz[1])
			d := naiveDifferences(x, y)
			xs, ys := slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y))
			sel := new(diffSelector).reset(xs, ys)
			sel.gather = 1
			for range 20 {
				k := 1 + r.Int64N(int64(len(d)))
				requireSameFloat(t, d[k-1], sel.kth(k), "%s %v k=%d", kind.name, sz, k)
			}
		}
	}
}

// TestKthDifferenceIsTheBruteForceOrderStatisticOnRandomSamples draws many
// random pairs of samples of 1..300 values, most of them with ties, and
// checks the selection against sorting all n·m differences at the extreme
// ranks 1 and n·m, the middle pair and random ranks — both as Compare runs it
// (all four ranks at once) and one rank at a time with only the sampled
// rounds (gather = 1).
func TestKthDifferenceIsTheBruteForceOrderStatisticOnRandomSamples(t *testing.T) {
	cases := 1500
	if testing.Short() {
		cases = 150
	}
	r := rand.New(rand.NewPCG(11, 12))
	draws := append(slices.Clone(sampleKinds), sampleKind{"signed integers in [-20, 20]", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(41) - 20)
		}
		return v
	}})
	for c := range cases {
		kx, ky := draws[r.IntN(len(draws))], draws[r.IntN(len(draws))]
		x, y := kx.draw(r, 1+r.IntN(300)), ky.draw(r, 1+r.IntN(300))
		d := naiveDifferences(x, y)
		nm := int64(len(d))
		ks := []int64{1, nm, (nm + 1) / 2, nm/2 + 1}
		for range 4 {
			ks = append(ks, 1+r.Int64N(nm))
		}
		slices.Sort(ks)
		ks = slices.Compact(ks)
		xs, ys := slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y))
		got := new(diffSelector).reset(xs, ys).kths(ks...)
		rounds := new(diffSelector).reset(xs, ys)
		rounds.gather = 1
		for i, k := range ks {
			requireSameValue(t, d[k-1], got[i], "case %d: %s x%d, %s y%d, k=%d of %v", c, kx.name, len(x), ky.name, len(y), k, ks)
			requireSameValue(t, d[k-1], rounds.kth(k), "case %d, rounds only: %s x%d, %s y%d, k=%d", c, kx.name, len(x), ky.name, len(y), k)
		}
	}
}

// TestCountIsTheBruteForceCountOfEachRow checks the staircase counts, cut in
// pieces and walked together, against counting every cell of every row, for
// thresholds at cells, between them and at ±Inf, with samples whose
// differences overflow to ±Inf among them.
func TestCountIsTheBruteForceCountOfEachRow(t *testing.T) {
	cases := 1000
	if testing.Short() {
		cases = 100
	}
	r := rand.New(rand.NewPCG(13, 14))
	extremes := []float64{-math.MaxFloat64, math.MaxFloat64, -1, 0, 1, 1e308}
	draws := append(slices.Clone(sampleKinds), sampleKind{"extremes", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = extremes[r.IntN(len(extremes))]
		}
		return v
	}})
	for c := range cases {
		kx, ky := draws[r.IntN(len(draws))], draws[r.IntN(len(draws))]
		xs := slices.Sorted(slices.Values(kx.draw(r, 1+r.IntN(300))))
		ys := slices.Sorted(slices.Values(ky.draw(r, 1+r.IntN(300))))
		s := new(diffSelector).reset(xs, ys)
		cell := func() float64 { return s.at(r.IntN(len(xs)), r.IntN(len(ys))) }
		thresholds := []float64{
			cell(), cell(), math.Nextafter(cell(), math.Inf(1)), math.Nextafter(cell(), math.Inf(-1)),
			math.Inf(-1), math.Inf(1), -math.MaxFloat64, math.MaxFloat64,
		}
		p, q := thresholds[r.IntN(len(thresholds))], thresholds[r.IntN(len(thresholds))]
		p, q = min(p, q), max(p, q)
		wantLT, wantLE := make([]int32, len(xs)), make([]int32, len(xs))
		var sumLT, sumLE int64
		for i, x := range xs {
			for _, y := range ys {
				if x-y < p {
					wantLT[i]++
				}
				if x-y <= q {
					wantLE[i]++
				}
			}
			sumLT += int64(wantLT[i])
			sumLE += int64(wantLE[i])
		}
		msg := func(what string) string {
			return fmt.Sprintf("case %d, %s: %s x%d, %s y%d, p=%v q=%v", c, what, kx.name, len(xs), ky.name, len(ys), p, q)
		}
		lt, le := make([]int32, len(xs)), make([]int32, len(xs))
		nLT, nLE := s.count(p, lt, q, le)
		require.Equal(t, wantLT, lt, msg("both, below p"))
		require.Equal(t, wantLE, le, msg("both, at or below q"))
		require.Equal(t, [2]int64{sumLT, sumLE}, [2]int64{nLT, nLE}, msg("both, totals"))
		clear(lt)
		nLT, _ = s.count(p, lt, q, nil)
		require.Equal(t, wantLT, lt, msg("below p alone"))
		require.Equal(t, sumLT, nLT, msg("below p alone, total"))
		clear(le)
		_, nLE = s.count(p, nil, q, le)
		require.Equal(t, wantLE, le, msg("at or below q alone"))
		require.Equal(t, sumLE, nLE, msg("at or below q alone, total"))
	}
}

func TestQuickselectReturnsTheKthAndPartitionsAroundIt(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for c := range 2000 {
		kind := sampleKinds[r.IntN(len(sampleKinds))]
		size := 1 + r.IntN(500)
		if c%10 == 0 { // and some as large as the cells copied out at 2 × 100,000 values
			size = 1 + r.IntN(40_000)
		}
		a := kind.draw(r, size)
		sorted := slices.Sorted(slices.Values(a))
		k := r.IntN(len(a))
		got := quickselect(a, k, r)
		requireSameValue(t, sorted[k], got, "case %d, %s, n=%d, k=%d", c, kind.name, len(a), k)
		requireSameValue(t, got, a[k], "case %d: a[k]", c)
		require.LessOrEqualf(t, slices.Max(a[:k+1]), got, "case %d: a[:k] ≤ a[k]", c)
		require.GreaterOrEqualf(t, slices.Min(a[k:]), got, "case %d: a[k:] ≥ a[k]", c)
		require.Equal(t, sorted, slices.Sorted(slices.Values(a)), "case %d: the same values", c)
	}
}

// Differences of finite values can overflow to the same infinity: the
// estimate is that infinity, not NaN (a NaN shift would compare as no
// shift at all).
func TestAnEstimateOfOverflowingDifferencesIsTheirInfinityNotNaN(t *testing.T) {
	sh, err := HodgesLehmann([]float64{math.MaxFloat64, math.MaxFloat64}, []float64{-math.MaxFloat64, -math.MaxFloat64}, 0.9)
	require.NoError(t, err)
	require.True(t, math.IsInf(sh.Estimate, 1), "%v", sh.Estimate)
	sh, err = HodgesLehmann([]float64{-math.MaxFloat64, -math.MaxFloat64}, []float64{math.MaxFloat64, math.MaxFloat64}, 0.9)
	require.NoError(t, err)
	require.True(t, math.IsInf(sh.Estimate, -1), "%v", sh.Estimate)
	sh, err = HodgesLehmann([]float64{3, 5}, []float64{1, 1}, 0.9)
	require.NoError(t, err)
	require.InDelta(t, 3.0, sh.Estimate, 0, "finite: the middle pair's midpoint as before")
}
