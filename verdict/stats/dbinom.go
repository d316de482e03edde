package stats

import "math"

// Binomial and hypergeometric probabilities after Loader, "Fast and
// accurate computation of binomial probabilities" (2000), as R's dbinom and
// dhyper compute them: the saddle-point form keeps full relative precision
// where exp(lgamma sums) would lose digits to cancellation at large counts.

// stirlerr is log(n!) − log(√(2π)·n^(n+½)·e^(−n)).
func stirlerr(n float64) float64 {
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	if n <= 15 {
		lg, _ := math.Lgamma(n + 1)
		return lg - (n+0.5)*math.Log(n) + n - 0.5*math.Log(2*math.Pi)
	}
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	}
	return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
}

// bd0 is the deviance term x·log(x/np) + np − x, summed as a series when x
// is close to np.
func bd0(x, np float64) float64 {
	if math.Abs(x-np) < 0.1*(x+np) {
		v := (x - np) / (x + np)
		s := (x - np) * v
		ej := 2 * x * v
		v *= v
		for j := 1; j < 1000; j++ {
			ej *= v
			s1 := s + ej/float64(2*j+1)
			if s1 == s {
				return s1
			}
			s = s1
		}
	}
	return x*math.Log(x/np) + np - x
}

// dbinom is P(X = x) for X ~ Binomial(n, p), q = 1 − p.
func dbinom(x, n, p, q float64) float64 {
	switch {
	case p == 0:
		if x == 0 {
			return 1
		}
		return 0
	case q == 0:
		if x == n {
			return 1
		}
		return 0
	case x == 0:
		if n == 0 {
			return 1
		}
		if p < 0.1 {
			return math.Exp(-bd0(n, n*q) - n*p)
		}
		return math.Exp(n * math.Log(q))
	case x == n:
		if q < 0.1 {
			return math.Exp(-bd0(n, n*p) - n*q)
		}
		return math.Exp(n * math.Log(p))
	case x < 0 || x > n:
		return 0
	}
	lc := stirlerr(n) - stirlerr(x) - stirlerr(n-x) - bd0(x, n*p) - bd0(n-x, n*q)
	lf := math.Log(2*math.Pi) + math.Log(x) + math.Log1p(-x/n)
	return math.Exp(lc - 0.5*lf)
}

// dhyper is P(X = x) for the number X of white balls among n drawn without
// replacement from r white and b black ones.
func dhyper(x, r, b, n float64) float64 {
	if x < max(0, n-b) || x > min(n, r) {
		return 0
	}
	if n == 0 {
		return 1
	}
	p := n / (r + b)
	q := (r + b - n) / (r + b)
	return dbinom(x, r, p, q) * dbinom(n-x, b, p, q) / dbinom(n, r+b, p, q)
}
