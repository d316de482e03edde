package stats

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewcombeIntervalMatchesHisPublishedExamples(t *testing.T) {
	// Newcombe (1998), Statistics in Medicine 17:873–890, Table II, method 10,
	// published to four decimals.
	cases := []struct {
		ex, ctl Counts
		lo, hi  float64
	}{
		{Counts{56, 70}, Counts{48, 80}, 0.0524, 0.3339},
		{Counts{9, 10}, Counts{3, 10}, 0.1705, 0.8090},
		{Counts{6, 7}, Counts{2, 7}, 0.0582, 0.8062},
		{Counts{5, 56}, Counts{0, 29}, -0.0381, 0.1926},
	}
	for _, c := range cases {
		got, err := RateTest(c.ex, c.ctl, TwoSided, 0.95)
		require.NoError(t, err)
		require.InDelta(t, c.lo, got.Lo, 0.00005, "%v against %v", c.ex, c.ctl)
		require.InDelta(t, c.hi, got.Hi, 0.00005, "%v against %v", c.ex, c.ctl)
	}
}

func TestZeroErrorsAreJudgedOnTheDifference(t *testing.T) {
	// No errors in either group: nothing to see, and no division by zero.
	none, err := RateTest(Counts{0, 5000}, Counts{0, 5000}, Greater, DefaultConfidence)
	require.NoError(t, err)
	require.InDelta(t, 1.0, none.PValue, 0)
	require.Less(t, none.Lo, 0.0)
	require.Greater(t, none.Hi, 0.0)

	// Errors only in the experiment, against a clean control: found, and
	// sized in absolute terms where a ratio would be infinite.
	some, err := RateTest(Counts{25, 5000}, Counts{0, 5000}, Greater, DefaultConfidence)
	require.NoError(t, err)
	require.Less(t, some.PValue, 1e-6)
	require.Greater(t, some.Lo, 0.0)
	v, err := Classify(Effect{some.Diff, some.Lo, some.Hi}, some.Control, Criteria{Direction: Increase, AllowedRelative: 0.2, AllowedAbsolute: 0.001})
	require.NoError(t, err)
	require.Equal(t, High, v.Class, v.Reason)
}

func TestMostlyZeroErrorSeriesNeedTheCountTest(t *testing.T) {
	// 240 intervals of 100 requests; the experiment's error rate is 5× the
	// control's, yet most intervals of both have no error at all.
	r := rand.New(rand.NewPCG(23, 24))
	const intervals, requests = 240, 100
	series := func(rate float64) ([]float64, Counts) {
		v := make([]float64, intervals)
		c := Counts{Total: intervals * requests}
		for i := range v {
			e := binomial(r, requests, rate)
			v[i] = float64(e)
			c.Errors += e
		}
		return v, c
	}
	xs, ex := series(0.0025)
	ys, ctl := series(0.0005)

	shift, err := HodgesLehmann(xs, ys, DefaultConfidence)
	require.NoError(t, err)
	require.Zero(t, shift.Lo, "the median of mostly-zero differences hides the change")
	require.Zero(t, shift.Hi)

	res, err := RateTest(ex, ctl, Greater, DefaultConfidence)
	require.NoError(t, err)
	require.Less(t, res.PValue, 0.01, "%v against %v", ex, ctl)
	require.Positive(t, res.Lo)
}
