package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// The arcsine transform φ(p) = 2·asin(√p) has closed forms wherever √p is
// the sine of a known angle: p = sin²(θ) gives φ = 2θ. The reference
// values below are those angles (sin(π/12) = (√6 − √2)/4, so sin²(π/12) =
// (2 − √3)/4; sin(π/6) = ½; sin(π/4) = √½; sin(π/3) = √3/2; sin(5π/12) =
// (√6 + √2)/4, so sin²(5π/12) = (2 + √3)/4), not a run of this code: h is
// the difference of two of them.
var arcsineReference = []struct {
	name string
	p    float64
	phi  float64
}{
	{"0", 0, 0},
	{"sin²(π/12) = (2 − √3)/4", (2 - math.Sqrt(3)) / 4, math.Pi / 6},
	{"sin²(π/6) = 1/4", 0.25, math.Pi / 3},
	{"sin²(π/4) = 1/2", 0.5, math.Pi / 2},
	{"sin²(π/3) = 3/4", 0.75, 2 * math.Pi / 3},
	{"sin²(5π/12) = (2 + √3)/4", (2 + math.Sqrt(3)) / 4, 5 * math.Pi / 6},
	{"1", 1, math.Pi},
}

func TestCohensHIsTheDifferenceOfTheArcsineTransforms(t *testing.T) {
	for _, x := range arcsineReference {
		for _, y := range arcsineReference {
			got := CohensH(x.p, y.p)
			require.InDelta(t, x.phi-y.phi, got, 1e-15, "h(%s, %s)", x.name, y.name)
			require.InDelta(t, -got, CohensH(y.p, x.p), 0, "h is antisymmetric: h(%s, %s)", x.name, y.name)
		}
	}
	// Cohen's own landmarks (Statistical Power Analysis for the Behavioral
	// Sciences, 2nd ed., 1988, ch. 6): 1/2 against 1/4 is π/6 ≈ 0.52, a
	// medium effect; 0 against 1 the largest there is, π.
	require.InDelta(t, math.Pi/6, CohensH(0.5, 0.25), 1e-15)
	require.InDelta(t, math.Pi, CohensH(1, 0), 0)
	require.InDelta(t, -math.Pi, CohensH(0, 1), 0)
}

// Error rates live near 0 (and success rates near 1), where 2·asin(√p)
// computed as written loses digits near 1: asin is ill-conditioned there,
// and √p rounds to 1 (at p = 1 − 10⁻¹², 2·asin(√p) is off by 1e-10, at
// 1 − 10⁻¹⁵ by 3e-9). φ(1 − q) = π − φ(q) exactly, and for a small q,
// φ(q) = 2·asin(√q) has the series 2√q·(1 + q/6 + 3q²/40 + …). Near 0 h
// keeps its relative precision; near 1, h(1, p) = π − φ(p) is within a
// few units of π's last place, all a difference from π can keep.
func TestCohensHKeepsItsDigitsNearZeroAndOne(t *testing.T) {
	series := func(q float64) float64 { return 2 * math.Sqrt(q) * (1 + q/6 + 3*q*q/40) }
	for _, q := range []float64{1e-300, 1e-12, 1e-9, 1e-6} {
		require.InEpsilon(t, series(q), CohensH(q, 0), 1e-14, "q = %g", q)
	}
	for _, q := range []float64{1e-15, 1e-12, 1e-9, 1e-6} {
		p := 1 - q
		exact := 1 - p // p's own distance from 1, exact (Sterbenz)
		require.InDelta(t, series(exact), CohensH(1, p), 2e-15, "p = 1 − %g", q)
	}
}

func TestCohensHOfNoProportionIsNaN(t *testing.T) {
	for _, p := range []float64{-0.1, 1.1, math.NaN(), math.Inf(1)} {
		require.True(t, math.IsNaN(CohensH(p, 0.5)), "%g", p)
		require.True(t, math.IsNaN(CohensH(0.5, p)), "%g", p)
	}
}

// RateTest reports h of the observed rates, computed from the counts.
func TestRateTestReportsCohensH(t *testing.T) {
	for _, c := range []struct {
		ex, ctl Counts
		want    float64
	}{
		{Counts{1, 4}, Counts{1, 2}, math.Pi/3 - math.Pi/2}, // 1/4 against 1/2
		{Counts{3, 4}, Counts{1, 4}, 2*math.Pi/3 - math.Pi/3},
		{Counts{0, 5000}, Counts{0, 5000}, 0},
		{Counts{7, 7}, Counts{0, 9}, math.Pi},
		// 1 error in 10¹², against none: 2·asin(10⁻⁶) by its series
		{Counts{1, 1e12}, Counts{0, 1e12}, 2e-6 * (1 + 1e-12/6)},
	} {
		got, err := RateTest(c.ex, c.ctl, TwoSided, DefaultConfidence)
		require.NoError(t, err)
		require.InDelta(t, c.want, got.CohensH, 1e-15, "%v against %v", c.ex, c.ctl)
	}
}
