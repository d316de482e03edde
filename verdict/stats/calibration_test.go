package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// Calibration: many seeded experiments whose truth is known. An A/A
// comparison (both groups from one distribution) must fail about as often as
// the confidence allows, within 3 binomial standard deviations, and a real
// change must be found nearly always.

const (
	trials   = 500
	perGroup = 240 // one hour at 15 s
)

// within3Sigma is the range of failure counts in trials A/A comparisons
// compatible, at 3 binomial standard deviations, with a rate of alpha.
func within3Sigma(alpha float64) (lo, hi int) {
	mean := trials * alpha
	sd := math.Sqrt(trials * alpha * (1 - alpha))
	return int(math.Ceil(mean - 3*sd)), int(math.Floor(mean + 3*sd))
}

// binomial draws Binomial(n, p) by jumping from one success to the next
// (geometric gaps), so a draw costs its number of successes.
func binomial(r *rand.Rand, n int64, p float64) int64 {
	var k, pos int64
	lq := math.Log1p(-p)
	for {
		pos += int64(math.Floor(math.Log(1-r.Float64())/lq)) + 1
		if pos > n {
			return k
		}
		k++
	}
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	return (s[(n-1)/2] + s[n/2]) / 2
}

func TestAAComparisonsOfLatenciesFailAtTheConfiguredRate(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	alpha := 1 - DefaultConfidence
	var ciFails, testFails int
	for range trials {
		c, err := Compare(lognormal(r, perGroup, 0.1, 0.5), lognormal(r, perGroup, 0.1, 0.5), TwoSided, DefaultConfidence)
		require.NoError(t, err)
		if c.Shift.Lo > 0 || c.Shift.Hi < 0 {
			ciFails++
		}
		if c.Test.PValue < alpha {
			testFails++
		}
	}
	lo, hi := within3Sigma(alpha)
	t.Logf("A/A at %v: interval excludes 0 in %d/%d, p < %.2g in %d/%d (3σ range %d–%d)", DefaultConfidence, ciFails, trials, alpha, testFails, trials, lo, hi)
	require.GreaterOrEqual(t, ciFails, lo)
	require.LessOrEqual(t, ciFails, hi)
	require.GreaterOrEqual(t, testFails, lo)
	require.LessOrEqual(t, testFails, hi)
}

func TestALatencyIncreaseOfHalfIsFoundAndJudgedHigh(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	criteria := Criteria{Direction: Increase, AllowedRelative: 0.2}
	var found, high int
	for range trials {
		x, y := lognormal(r, perGroup, 0.15, 0.5), lognormal(r, perGroup, 0.1, 0.5)
		c, err := Compare(x, y, TwoSided, DefaultConfidence)
		require.NoError(t, err)
		if c.Shift.Lo > 0 {
			found++
		}
		v, err := Classify(Effect{c.Shift.Estimate, c.Shift.Lo, c.Shift.Hi}, median(y), criteria)
		require.NoError(t, err)
		if v.Class == High {
			high++
		}
	}
	t.Logf("+50 %%: interval above 0 in %d/%d, judged high (allowed +20 %% of the control's median) in %d/%d", found, trials, high, trials)
	require.GreaterOrEqual(t, found, trials*99/100)
	require.GreaterOrEqual(t, high, trials*99/100)
}

func TestAALatenciesAreNotJudgedHigh(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	criteria := Criteria{Direction: Increase, AllowedRelative: 0.2}
	var high int
	for range trials {
		x, y := lognormal(r, perGroup, 0.1, 0.5), lognormal(r, perGroup, 0.1, 0.5)
		s, err := HodgesLehmann(x, y, DefaultConfidence)
		require.NoError(t, err)
		v, err := Classify(Effect{s.Estimate, s.Lo, s.Hi}, median(y), criteria)
		require.NoError(t, err)
		if v.Class != Pass {
			high++
		}
	}
	// a significant A/A change (≈1 %, one side) that is also 20 % large: never at n=240
	t.Logf("A/A judged not pass: %d/%d", high, trials)
	require.Zero(t, high)
}

func TestAAErrorCountsWithMostlyZeroErrorsFailAtMostAtTheConfiguredRate(t *testing.T) {
	// 24,000 requests per group and hour at a 0.01 % error rate: 2.4 errors
	// expected, none in about one group in eleven.
	r := rand.New(rand.NewPCG(17, 18))
	alpha := 1 - DefaultConfidence
	const total, rate = 24_000, 1e-4
	var pFails, ciFails, zeroControls int
	for range trials {
		ex := Counts{Errors: binomial(r, total, rate), Total: total}
		ctl := Counts{Errors: binomial(r, total, rate), Total: total}
		if ctl.Errors == 0 {
			zeroControls++
		}
		res, err := RateTest(ex, ctl, TwoSided, DefaultConfidence)
		require.NoError(t, err)
		if res.PValue < alpha {
			pFails++
		}
		if res.Lo > 0 || res.Hi < 0 {
			ciFails++
		}
	}
	_, hi := within3Sigma(alpha)
	t.Logf("A/A error counts: p < %.2g in %d/%d, interval excludes 0 in %d/%d (3σ bound %d), control without errors %d times", alpha, pFails, trials, ciFails, trials, hi, zeroControls)
	require.Positive(t, zeroControls, "the scenario must exercise zero-error controls")
	// Fisher's test is conservative with so few errors: only the upper side binds.
	require.LessOrEqual(t, pFails, hi)
	require.LessOrEqual(t, ciFails, hi)
}

func TestADoubledErrorRateIsFound(t *testing.T) {
	// 0.5 % → 1 % on 20,000 requests per group
	r := rand.New(rand.NewPCG(19, 20))
	alpha := 1 - DefaultConfidence
	const total = 20_000
	var pFound, ciFound int
	for range trials {
		ex := Counts{Errors: binomial(r, total, 0.01), Total: total}
		ctl := Counts{Errors: binomial(r, total, 0.005), Total: total}
		res, err := RateTest(ex, ctl, Greater, DefaultConfidence)
		require.NoError(t, err)
		if res.PValue < alpha/2 {
			pFound++
		}
		if res.Lo > 0 {
			ciFound++
		}
	}
	t.Logf("doubled error rate: p < %.2g in %d/%d, interval above 0 in %d/%d", alpha/2, pFound, trials, ciFound, trials)
	require.GreaterOrEqual(t, pFound, trials*99/100)
	require.GreaterOrEqual(t, ciFound, trials*99/100)
}

func TestBinomialDrawsHaveTheRightMean(t *testing.T) {
	// the calibration above is only as good as its sampler
	r := rand.New(rand.NewPCG(21, 22))
	const n, p, draws = 10_000, 0.003, 2000
	var sum float64
	for range draws {
		sum += float64(binomial(r, n, p))
	}
	sd := math.Sqrt(n * p * (1 - p) / draws)
	require.InDelta(t, n*p, sum/draws, 4*sd)
}
