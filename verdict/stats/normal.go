package stats

import "math"

// normalSF is the upper tail 1 − Φ(z) of the standard normal distribution,
// accurate in relative terms far into the tail (erfc, not 1 − erf).
func normalSF(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// normalQuantile is Φ⁻¹(p).
func normalQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}
