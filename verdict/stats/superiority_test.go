package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// bruteSuperiority counts, over every pair, x_i > y_j as 1 and x_i = y_j
// as ½, divided by the pairs: the definition of the probability of
// superiority, in O(n·m).
func bruteSuperiority(x, y []float64) float64 {
	var s float64
	for _, a := range x {
		for _, b := range y {
			switch {
			case a > b:
				s++
			case a == b:
				s += 0.5
			}
		}
	}
	return s / (float64(len(x)) * float64(len(y)))
}

// The probability of superiority is scipy's U over n·m: checked against
// the U of every reference case (scipy 1.10's mannwhitneyu) and against a
// count of all pairs.
func TestSuperiorityIsScipysUOverNM(t *testing.T) {
	for _, c := range loadReference(t).MannWhitney {
		got, err := MannWhitney(c.X, c.Y, TwoSided)
		require.NoError(t, err)
		nm := float64(len(c.X)) * float64(len(c.Y))
		require.InDelta(t, c.Tests[0].U/nm, got.Superiority, 1e-15, c.Name)
		if nm <= 1e6 {
			require.InDelta(t, bruteSuperiority(c.X, c.Y), got.Superiority, 1e-12, c.Name)
		}
	}
}

func TestSuperiorityCountsTiesHalf(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"every experimental value above every control value", []float64{4, 5, 6}, []float64{1, 2, 3}, 1},
		{"every one below", []float64{1, 2, 3}, []float64{4, 5, 6}, 0},
		{"identical samples are a coin toss", []float64{1, 2, 3}, []float64{1, 2, 3}, 0.5},
		{"all tied", []float64{7, 7}, []float64{7, 7, 7}, 0.5},
		{"one tie among otherwise higher values", []float64{2, 3}, []float64{1, 2}, 0.875},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MannWhitney(tc.x, tc.y, Greater)
			require.NoError(t, err)
			require.InDelta(t, tc.want, got.Superiority, 0)
		})
	}
	rng := rand.New(rand.NewPCG(12, 34))
	for range 500 {
		n, m := 1+rng.IntN(60), 1+rng.IntN(60)
		x, y := make([]float64, n), make([]float64, m)
		shift := rng.Float64() * 2
		for i := range x {
			x[i] = math.Round(4*(rng.NormFloat64()+shift)) / 4 // coarse: many ties
		}
		for i := range y {
			y[i] = math.Round(4*rng.NormFloat64()) / 4
		}
		got, err := MannWhitney(x, y, TwoSided)
		require.NoError(t, err)
		require.InDelta(t, bruteSuperiority(x, y), got.Superiority, 1e-12, "n=%d m=%d", n, m)
	}
}
