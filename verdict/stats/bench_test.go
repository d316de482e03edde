package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lognormal(r *rand.Rand, n int, median, sigma float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = median * math.Exp(sigma*r.NormFloat64())
	}
	return v
}

// BenchmarkCompare is one metric's Mann-Whitney test and 98 % shift
// interval: n=240 is an hour at 15 s per group, n=100000 the target size.
func BenchmarkCompare(b *testing.B) {
	for i, n := range []int{240, 100_000} {
		r := rand.New(rand.NewPCG(7, 8+uint64(i)))
		x, y := lognormal(r, n, 0.12, 0.5), lognormal(r, n, 0.1, 0.5)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := Compare(x, y, TwoSided, DefaultConfidence); err != nil {
					b.Fatal(err)
				}
			}
			if cpu, ok := cpuSince(cpu); ok {
				b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			}
		})
	}
}

// BenchmarkRateTest is one error-ratio comparison: an hour of a small
// service, and a million requests per group.
func BenchmarkRateTest(b *testing.B) {
	for _, c := range []struct {
		name    string
		ex, ctl Counts
	}{
		{"requests=24000", Counts{Errors: 5, Total: 24_000}, Counts{Errors: 1, Total: 24_000}},
		{"requests=1000000", Counts{Errors: 5200, Total: 1_000_000}, Counts{Errors: 5000, Total: 1_000_000}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RateTest(c.ex, c.ctl, TwoSided, DefaultConfidence); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestConcurrentComparesDoNotShareScratchMemory runs comparisons of
// different samples at once: each must get what it gets alone.
func TestConcurrentComparesDoNotShareScratchMemory(t *testing.T) {
	const workers = 8
	r := rand.New(rand.NewPCG(15, 16))
	xs, ys := make([][]float64, workers), make([][]float64, workers)
	alone := make([]Comparison, workers)
	for w := range workers {
		n := 5000 + 1000*w // above radixMin, a different size each
		xs[w], ys[w] = lognormal(r, n, 0.1+0.01*float64(w), 0.5), lognormal(r, n+w, 0.1, 0.5)
		var err error
		alone[w], err = Compare(xs[w], ys[w], TwoSided, DefaultConfidence)
		require.NoError(t, err)
	}
	together := make([]Comparison, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range 3 {
				c, err := Compare(xs[w], ys[w], TwoSided, DefaultConfidence)
				if err != nil || c != alone[w] {
					together[w] = Comparison{} // the check below fails
					return
				}
				together[w] = c
			}
		})
	}
	wg.Wait()
	require.Equal(t, alone, together)
}

// threeWayQuickselect is quickselect with a plain three-way partition
// (Dijkstra's): one pass of branches on each value, against the two
// branchless passes of partition. It is the benchmark's yardstick only.
func threeWayQuickselect(a []float64, k int, rng *rand.Rand) float64 {
	for len(a) > 16 {
		p := a[rng.IntN(len(a))]
		lt, i, gt := 0, 0, len(a)
		for i < gt {
			switch v := a[i]; {
			case v < p:
				a[lt], a[i] = v, a[lt]
				lt++
				i++
			case v > p:
				gt--
				a[i], a[gt] = a[gt], v
			default:
				i++
			}
		}
		switch {
		case k < lt:
			a = a[:lt]
		case k < gt:
			return p
		default:
			a, k = a[gt:], k-gt
		}
	}
	slices.Sort(a)
	return a[k]
}

// BenchmarkQuickselect selects the median of the cells a selection copies
// out at the end (up to n+m: 200,000 for two samples of 100,000) with
// partition's two branchless passes and with a plain three-way partition,
// on distinct values and on values of few distinct ones (many ties).
func BenchmarkQuickselect(b *testing.B) {
	const n = 200_000
	r := rand.New(rand.NewPCG(9, 10))
	distinct := lognormal(r, n, 0.1, 0.5)
	ties := make([]float64, n)
	for i := range ties {
		ties[i] = float64(r.IntN(20))
	}
	for _, data := range []struct {
		name string
		v    []float64
	}{{"distinct", distinct}, {"ties", ties}} {
		want := slices.Sorted(slices.Values(data.v))[n/2]
		for _, sel := range []struct {
			name string
			pick func(a []float64, k int, rng *rand.Rand) float64
		}{{"partition", quickselect}, {"three-way", threeWayQuickselect}} {
			b.Run(data.name+"/"+sel.name, func(b *testing.B) {
				buf := make([]float64, n)
				rng := rand.New(rand.NewPCG(1, 2))
				for b.Loop() {
					copy(buf, data.v)
					if got := sel.pick(buf, n/2, rng); got != want {
						b.Fatalf("the median is %v, not %v", got, want)
					}
				}
			})
		}
	}
}

// cpuSince is the CPU time spent since start, a cpuTime reading; false if
// either reading failed.
func cpuSince(start time.Duration) (time.Duration, bool) {
	now := cpuTime()
	return now - start, start >= 0 && now >= 0
}
