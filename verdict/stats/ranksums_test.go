package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRankSumsWithoutTiesIsUOrDeclines checks the branch-free U against U
// over every pair on random samples: it must give U exactly when no value
// occurs twice in x and y together, and decline whenever one does — a tie
// within x, within y, across them, at either end, between −0 and +0.
func TestRankSumsWithoutTiesIsUOrDeclines(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	draw := func(n int, distinct int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(distinct)) - float64(distinct/2)
			if v[i] == 0 && r.IntN(2) == 0 {
				v[i] = math.Copysign(0, -1)
			}
		}
		slices.Sort(v)
		return v
	}
	declined, answered := 0, 0
	for c := range 20000 {
		n, m := 1+r.IntN(12), 1+r.IntN(12)
		// From 3 distinct values (ties nearly always) to 2000 (rarely).
		distinct := []int{3, 30, 300, 2000}[r.IntN(4)]
		x, y := draw(n, distinct), draw(m, distinct)
		want, tieTerm := bruteU(x, y)
		got, ok := rankSumsNoTies(x, y)
		if tieTerm != 0 {
			require.False(t, ok, "case %d: x %v, y %v have ties", c, x, y)
			declined++
			continue
		}
		require.True(t, ok, "case %d: x %v, y %v have no ties", c, x, y)
		requireSameFloat(t, want, got, "case %d: x %v, y %v", c, x, y)
		answered++
	}
	require.Greater(t, declined, 1000)
	require.Greater(t, answered, 1000)
	for _, c := range []struct {
		name string
		x, y []float64
	}{
		{"a tie within x", []float64{1, 2, 2}, []float64{3}},
		{"a tie within y", []float64{3}, []float64{1, 2, 2}},
		{"a tie across, x first", []float64{1, 5}, []float64{0, 5, 7}},
		{"a tie across at the ends", []float64{9}, []float64{0, 9}},
		{"−0 and +0", []float64{math.Copysign(0, -1)}, []float64{0}},
		{"equal single values", []float64{4}, []float64{4}},
	} {
		_, ok := rankSumsNoTies(c.x, c.y)
		require.False(t, ok, c.name)
		_, ok = rankSumsNoTies(c.y, c.x)
		require.False(t, ok, c.name+", swapped")
	}
}
