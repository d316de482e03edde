package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBadSamplesAreRejectedNamingTheSampleAndIndex(t *testing.T) {
	cases := []struct {
		name    string
		x, y    []float64
		wantErr string
		is      error
	}{
		{"an empty x", nil, []float64{1}, "x: sample is empty", ErrEmpty},
		{"an empty y", []float64{1}, []float64{}, "y: sample is empty", ErrEmpty},
		{"a NaN in y", []float64{1, 2}, []float64{1, 2, math.NaN()}, "y[2] = NaN: value is not a finite number", ErrNotFinite},
		{"+Inf in x", []float64{math.Inf(1)}, []float64{1}, "x[0] = +Inf: value is not a finite number", ErrNotFinite},
		{"-Inf in y", []float64{1}, []float64{0, math.Inf(-1)}, "y[1] = -Inf: value is not a finite number", ErrNotFinite},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := MannWhitney(c.x, c.y, TwoSided)
			require.EqualError(t, err, c.wantErr)
			require.ErrorIs(t, err, c.is)
			var se *SampleError
			require.ErrorAs(t, err, &se)
			_, err = HodgesLehmann(c.x, c.y, DefaultConfidence)
			require.EqualError(t, err, c.wantErr)
			_, err = Compare(c.x, c.y, TwoSided, DefaultConfidence)
			require.EqualError(t, err, c.wantErr)
		})
	}
}

func TestBadArgumentsAreRejected(t *testing.T) {
	x, y := []float64{1, 2, 3}, []float64{2, 3, 4}
	_, err := MannWhitneyMethod(x, y, TwoSided, Exact)
	require.EqualError(t, err, "exact method: the samples have ties, the exact distribution of U assumes none")
	_, err = MannWhitney(x, y, Alternative(7))
	require.EqualError(t, err, "alternative Alternative(7): unknown")
	_, err = MannWhitneyMethod(x, []float64{5, 6}, TwoSided, Method(9))
	require.EqualError(t, err, "method Method(9): unknown")
	_, err = MannWhitneyMethod(make1000(0), make1000(0.5)[:1001], TwoSided, Exact)
	require.EqualError(t, err, "exact method: n·m = 1000·1001 exceeds 1000000")
	for _, c := range []float64{0, 1, -0.5, 1.5, math.NaN()} {
		_, err = HodgesLehmann(x, y, c)
		require.ErrorContains(t, err, "must be in (0, 1)")
	}
	_, err = KthDifference(x, y, 10)
	require.EqualError(t, err, "k = 10: must be in [1, 9]")
}

func make1000(offset float64) []float64 {
	v := make([]float64, 1001)
	for i := range v {
		v[i] = float64(i) + offset
	}
	return v[:1000:1001]
}

func TestBadCountsAreRejected(t *testing.T) {
	ok := Counts{Errors: 1, Total: 10}
	cases := []struct {
		name    string
		ex, ctl Counts
		wantErr string
	}{
		{"an experiment without traffic", Counts{}, ok, "experiment: no events"},
		{"a control without traffic", ok, Counts{}, "control: no events"},
		{"more errors than events", Counts{Errors: 11, Total: 10}, ok, "experiment: 11 errors exceed the 10 events"},
		{"a negative count", ok, Counts{Errors: -1, Total: 10}, "control: negative count (-1 errors of 10)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := RateTest(c.ex, c.ctl, TwoSided, DefaultConfidence)
			require.EqualError(t, err, c.wantErr)
		})
	}
	_, err := RateTest(ok, Counts{Total: 10}, TwoSided, DefaultConfidence)
	require.NoError(t, err)
	_, err = RateTest(ok, ok, TwoSided, 1)
	require.EqualError(t, err, "confidence 1: must be in (0, 1)")
	_, err = MinTotal(0, 0.95)
	require.EqualError(t, err, "maximum rate 0: must be in (0, 1)")
}

// TestASampleOfMoreThanMaxValuesIsRejected checks the bound on a sample's
// size from both sides, by length: a slice of 2³¹ values (16 GB) is not
// made for it.
func TestASampleOfMoreThanMaxValuesIsRejected(t *testing.T) {
	require.NoError(t, checkSize("y", MaxValues))
	over := int64(MaxValues) + 1
	if int64(int(over)) != over {
		t.Skip("int has 32 bits: no slice is longer than MaxValues")
	}
	err := checkSize("y", int(over))
	require.EqualError(t, err, "y: sample has more than 2147483647 values")
	require.ErrorIs(t, err, ErrTooLarge)
	var se *SampleError
	require.ErrorAs(t, err, &se)
}
