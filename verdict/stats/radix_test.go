package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSortFloatsOrdersLargeSamplesAsSlicesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	draws := map[string]func() float64{
		"signed normal":  r.NormFloat64,
		"lognormal":      func() float64 { return math.Exp(3 * r.NormFloat64()) },
		"small integers": func() float64 { return float64(r.IntN(5) - 2) },
		"signed zeros":   func() float64 { return math.Copysign(0, r.NormFloat64()) },
		"extremes": func() float64 {
			return []float64{-math.MaxFloat64, math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 1}[r.IntN(5)]
		},
	}
	for name, draw := range draws {
		for _, n := range []int{radixMin - 1, radixMin, 50_000} {
			v := make([]float64, n)
			for i := range v {
				v[i] = draw()
			}
			want := slices.Clone(v)
			slices.Sort(want)
			sortFloats(v, nil)
			require.Truef(t, slices.IsSorted(v), "%s, n=%d", name, n)
			// the same multiset, compared bit for bit except for the sign of zero
			for i := range v {
				require.InDeltaf(t, want[i], v[i], 0, "%s, n=%d, i=%d", name, n, i)
			}
		}
	}
}
