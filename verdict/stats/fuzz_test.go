package stats

import (
	"math"
	"testing"
)

// FuzzKthDifference checks selection against sorting every difference on
// small samples decoded from the fuzzer's bytes (each byte a value from a
// small set, so ties are common), with the rounds forced.
func FuzzKthDifference(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6}, uint8(3), uint16(7))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, uint8(4), uint16(1))
	f.Add([]byte{255, 0, 128, 7, 7, 7, 9, 200, 13}, uint8(2), uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, split uint8, rank uint16) {
		if len(data) < 2 || len(data) > 200 {
			return
		}
		cut := 1 + int(split)%(len(data)-1)
		decode := func(b []byte) []float64 {
			v := make([]float64, len(b))
			for i, c := range b {
				v[i] = math.Ldexp(float64(c%32)-9, int(c/32)-3) // negatives, fractions, ties
			}
			return v
		}
		x, y := decode(data[:cut]), decode(data[cut:])
		d := naiveDifferences(x, y)
		k := 1 + int64(rank)%int64(len(d))
		got, err := KthDifference(x, y, k)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(got) != math.Float64bits(d[k-1]) {
			t.Fatalf("x=%v y=%v k=%d: got %v, want %v", x, y, k, got, d[k-1])
		}
		sel := new(diffSelector).reset(sortedOrDie(t, x), sortedOrDie(t, y))
		sel.gather = 1
		if v := sel.kth(k); math.Float64bits(v) != math.Float64bits(d[k-1]) {
			t.Fatalf("rounds only: x=%v y=%v k=%d: got %v, want %v", x, y, k, v, d[k-1])
		}
	})
}

func sortedOrDie(t *testing.T, v []float64) []float64 {
	t.Helper()
	xs, _, err := new(workspace).sortedCopies(v, []float64{0})
	if err != nil {
		t.Fatal(err)
	}
	return xs
}
