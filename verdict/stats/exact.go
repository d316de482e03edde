package stats

// uDist is the left half of the null distribution of U for sizes n and m
// without ties: count[k] is the number of the C(n+m, n) equally likely
// orderings with U = k. The counts are the coefficients of the Gaussian
// binomial [n+m choose s]_q (s = min(n, m)), built as the product of
// (1 − q^(L+i)) / (1 − q^i) for i = 1..s (L = max(n, m)). After each factor
// the partial product is again a Gaussian binomial, so every coefficient is
// a positive count; the left tail (k < L+i) is only ever added to, never
// subtracted from, which keeps small tail probabilities accurate.
type uDist struct {
	n, m  int
	count []float64 // k = 0 .. ⌊n·m/2⌋
	total float64   // C(n+m, n)
}

func newUDist(n, m int) *uDist {
	s, l := min(n, m), max(n, m)
	half := int64(s) * int64(l) / 2
	c := make([]float64, half+1)
	c[0] = 1
	total := 1.0
	for i := 1; i <= s; i++ {
		// multiply by (1 − q^(l+i)), from the top so c[k−l−i] is still old
		for k := half; k >= int64(l+i); k-- {
			c[k] -= c[k-int64(l+i)]
		}
		// divide by (1 − q^i): a running sum with stride i
		for k := int64(i); k <= half; k++ {
			c[k] += c[k-int64(i)]
		}
		total = total * float64(l+i) / float64(i)
	}
	return &uDist{n: n, m: m, count: c, total: total}
}

// cdf is P(U ≤ k).
func (d *uDist) cdf(k int64) float64 {
	nm := int64(d.n) * int64(d.m)
	switch {
	case k < 0:
		return 0
	case k >= nm:
		return 1
	case k >= int64(len(d.count)):
		// P(U ≤ k) = 1 − P(U ≥ k+1) = 1 − P(U ≤ nm−k−1)
		return 1 - d.cdf(nm-k-1)
	}
	var s float64
	for _, c := range d.count[:k+1] {
		s += c
	}
	return s / d.total
}

// lowerRank returns the largest k ≥ 0 with P(U ≤ k−1) ≤ tail, and that
// probability: [D_(k), D_(nm+1−k)] is then a confidence interval for the
// shift with coverage 1 − 2·P(U ≤ k−1) ≥ 1 − 2·tail.
func (d *uDist) lowerRank(tail float64) (k int64, below float64) {
	var s float64
	for i, c := range d.count {
		if (s+c)/d.total > tail {
			return int64(i), s / d.total
		}
		s += c
	}
	return int64(len(d.count)), s / d.total // unreachable: the half holds ≥ ½
}
