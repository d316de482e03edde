package stats

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/compare.golden from the code as it is")

// goldenKinds are the samples of the golden comparisons: sampleKinds, and
// kinds with ties among many distinct values, negative values and signed
// zeros.
var goldenKinds = append(slices.Clip(sampleKinds),
	sampleKind{"lognormal rounded to 0.001", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Round(100*math.Exp(0.5*r.NormFloat64())) / 1000
		}
		return v
	}},
	sampleKind{"signed, with ±0", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			switch r.IntN(8) {
			case 0:
				v[i] = math.Copysign(0, -1)
			case 1:
				v[i] = 0
			default:
				v[i] = r.NormFloat64() * 1e3
			}
		}
		return v
	}},
)

// TestComparisonsAreTheGoldenOnes runs Compare and KthDifference on random
// samples, two thirds with ties, of 1 to 30,000 values (radix-sorted from 4,096,
// selected in sampled rounds from a few thousand) and checks every result
// bit for bit against testdata/compare.golden, written by the code before
// its speed-ups (go test -run TestComparisonsAreTheGoldenOnes
// -update-golden): a faster comparison must not change a single bit.
func TestComparisonsAreTheGoldenOnes(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	size := func() int {
		switch r.IntN(4) {
		case 0:
			return 1 + r.IntN(30)
		case 1:
			return 1 + r.IntN(1000)
		case 2:
			return 3000 + r.IntN(6000)
		}
		return 10_000 + r.IntN(20_000)
	}
	confidences := []float64{0.5, 0.9, 0.95, DefaultConfidence, 0.999}
	var got strings.Builder
	for c := range 400 {
		kx, ky := goldenKinds[r.IntN(len(goldenKinds))], goldenKinds[r.IntN(len(goldenKinds))]
		if r.IntN(3) == 0 {
			kx, ky = sampleKinds[0], sampleKinds[0] // continuous: no ties
		}
		x, y := kx.draw(r, size()), ky.draw(r, size())
		alt, conf := Alternative(r.IntN(3)), confidences[r.IntN(len(confidences))]
		cmp, err := Compare(x, y, alt, conf)
		require.NoError(t, err)
		nm := int64(len(x)) * int64(len(y))
		k1, k2 := 1+r.Int64N(nm), 1+r.Int64N(nm)
		d1, err := KthDifference(x, y, k1)
		require.NoError(t, err)
		d2, err := KthDifference(x, y, k2)
		require.NoError(t, err)
		te, sh := cmp.Test, cmp.Shift
		fmt.Fprintf(&got, "%d %s x%d %s y%d %v %v: U %x p %x sup %x ties %v %v; est %x [%x, %x] K %d cov %x %v; d(%d) %x d(%d) %x\n",
			c, kx.name, len(x), ky.name, len(y), alt, conf,
			math.Float64bits(te.U), math.Float64bits(te.PValue), math.Float64bits(te.Superiority), te.Ties, te.Method,
			math.Float64bits(sh.Estimate), math.Float64bits(sh.Lo), math.Float64bits(sh.Hi), sh.K, math.Float64bits(sh.Coverage), sh.Method,
			k1, math.Float64bits(d1), k2, math.Float64bits(d2))
	}
	path := filepath.Join("testdata", "compare.golden")
	if *updateGolden {
		require.NoError(t, os.WriteFile(path, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	wantLines, gotLines := strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")
	require.Len(t, gotLines, len(wantLines))
	for i := range wantLines {
		require.Equal(t, wantLines[i], gotLines[i], "comparison %d", i)
	}
}
