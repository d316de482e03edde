package stats

import (
	"math"
	"slices"
)

// radixMin is the length from which sortFloats uses a radix sort: below it
// pdqsort is as fast and allocates nothing.
const radixMin = 4096

// sortFloats sorts finite values ascending. Large samples go through an
// LSD radix sort on the order-preserving bit pattern (sign bit flipped for
// positives, all bits for negatives), several times faster than comparison
// sorting at 10⁵ values. −0 sorts just before +0; they compare equal, so the
// result is sorted either way. The radix sort's keys are held in buf, grown
// to 2·len(v) if shorter; sortFloats returns it for the next call.
func sortFloats(v []float64, buf []uint64) []uint64 {
	if len(v) < radixMin {
		slices.Sort(v)
		return buf
	}
	const bits, passes = 11, 6 // 6·11 ≥ 64
	const buckets = 1 << bits
	buf = resize(buf, 2*len(v))
	keys, tmp := buf[:len(v)], buf[len(v):]
	var hist [passes][buckets]int
	for i, f := range v {
		k := math.Float64bits(f)
		if k>>63 == 1 {
			k = ^k
		} else {
			k |= 1 << 63
		}
		keys[i] = k
		for p := range passes {
			hist[p][(k>>(p*bits))&(buckets-1)]++
		}
	}
	for p := range passes {
		h := &hist[p]
		if h[(keys[0]>>(p*bits))&(buckets-1)] == len(keys) {
			continue // every key has the same digit here
		}
		sum := 0
		for b := range h {
			h[b], sum = sum, sum+h[b]
		}
		for _, k := range keys {
			d := (k >> (p * bits)) & (buckets - 1)
			tmp[h[d]] = k
			h[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		if k>>63 == 1 {
			k &^= 1 << 63
		} else {
			k = ^k
		}
		v[i] = math.Float64frombits(k)
	}
	return buf
}
