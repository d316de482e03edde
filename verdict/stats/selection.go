package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// diffSelector finds order statistics of the differences x_i − y_j of two
// sorted samples. Row i of the implicit n×m matrix holds x_i − y_j in
// increasing order (rank r ↔ j = m−1−r); rows and columns are both sorted,
// and they stay sorted after rounding, since a computed difference is
// monotone in each operand, so selection works on the very float64 values
// a brute-force sort of the differences would produce.
//
// Each row keeps the range [lo, hi) of ranks that may still hold the answer.
// A round takes a systematic sample of the remaining cells, picks two of its
// order statistics that bracket the wanted ranks with high probability
// (Floyd and Rivest's idea), counts the cells below each with one staircase
// walk in O(n+m), and shrinks every row to the bracket: up to ~40× fewer
// cells per round, so a 10⁵×10⁵ matrix needs three or four rounds. A bracket
// that misses costs a round, never the answer. If a round makes no progress
// (many equal differences) the next partitions three ways around a single
// random cell, which always does. Once at most n+m cells remain they are
// copied out and quickselected.
type diffSelector struct {
	xs, ys []float64
	// Per-row counts, at most len(ys) ≤ MaxValues: 32 bits halve what the
	// walks write and the passes over the rows stream.
	lo, hi     []int32
	lo0, hi0   []int32 // the bounds shared by the ranks of kths
	cntA, cntB []int32
	prefix     []int64
	sample     []float64
	buf        []float64
	pcg        rand.PCG
	rng        *rand.Rand // draws from pcg
	// gather is the number of remaining cells at which they are copied out
	// (n+m; tests lower it to drive the rounds on small matrices).
	gather int64
	// passes counts the staircase walks, the unit of the selection's cost.
	passes int
	// gathered is the index in buf of the difference the last selection
	// returned when it ended by copying the cells out, else −1.
	gathered int
}

// maxSample bounds a round's sample: larger ones cost more to draw than the
// round they could save.
const maxSample = 16384

// reset readies s for the sorted samples xs and ys, reusing its memory.
func (s *diffSelector) reset(xs, ys []float64) *diffSelector {
	n := len(xs)
	s.xs, s.ys = xs, ys
	s.lo, s.hi = resize(s.lo, n), resize(s.hi, n)
	s.cntA, s.cntB = resize(s.cntA, n), resize(s.cntB, n)
	s.prefix = resize(s.prefix, n+1)
	s.gather = int64(n + len(ys))
	s.passes = 0
	s.gathered = -1
	// The pivots only decide how fast the answer is found, never what it
	// is; a fixed seed keeps the running time reproducible.
	s.pcg.Seed(0x5eed, 0x57a75)
	if s.rng == nil {
		s.rng = rand.New(&s.pcg) //nolint:gosec // pivot choice, not security
	}
	return s
}

func (s *diffSelector) at(i, r int) float64 { return s.xs[i] - s.ys[len(s.ys)-1-r] }

// count sets lt[i] to the number of cells of row i below p and le[i] to the
// number at or below q (p ≤ q). A nil slice skips its count.
//
// In row i, x_i − y_l < t exactly for l ≥ a, and a only grows with i: one
// count is a staircase of n+m steps. Walked alone its steps form one chain
// of dependent loads and compares, so each staircase is cut into pieces
// (two each when both counts are wanted, four for one) that are walked
// together: the processor overlaps the four chains.
func (s *diffSelector) count(p float64, lt []int32, q float64, le []int32) (nLT, nLE int64) {
	s.passes++
	n, m := len(s.xs), len(s.ys)
	if le != nil && math.IsInf(q, 1) {
		// Every cell, +Inf ones included, is at or below +Inf.
		for i := range le[:n] {
			le[i] = int32(m) //nolint:gosec // m ≤ MaxValues (checkSample)
		}
		nLE, le = int64(n)*int64(m), nil
	}
	// The cells at or below q are the cells below the next float64 above q.
	var st stairs
	switch {
	case lt != nil && le != nil:
		s.cut(st[:2], p, lt[:n])
		s.cut(st[2:], math.Nextafter(q, math.Inf(1)), le[:n])
		s.walk(&st)
		return st[0].sum + st[1].sum, st[2].sum + st[3].sum
	case lt != nil:
		s.cut(st[:], p, lt[:n])
		s.walk(&st)
		return st[0].sum + st[1].sum + st[2].sum + st[3].sum, nLE
	case le != nil:
		s.cut(st[:], math.Nextafter(q, math.Inf(1)), le[:n])
		s.walk(&st)
		return nLT, st[0].sum + st[1].sum + st[2].sum + st[3].sum
	}
	return nLT, nLE
}

// stair is a piece of the staircase of the cells below t.
type stair struct {
	t      float64
	out    []int32 // out[i] is the number of cells of row i below t
	i, end int     // the rows left to walk
	a      int     // x_i − y_l ≥ t for every l < a
	sum    int64   // the counts of the rows walked, summed
}

type stairs [4]stair

// cut divides the staircase of the cells below t into len(st) pieces of
// about equal numbers of steps: piece c starts at the first row r where the
// staircase has taken c·(n+m)/len(st) steps, r + a(r).
func (s *diffSelector) cut(st []stair, t float64, out []int32) {
	n, m := len(s.xs), len(s.ys)
	start := func(r int) int { // a(r), the cells of row r not below t
		if r == n {
			return m
		}
		x := s.xs[r]
		return sort.Search(m, func(l int) bool { return !(x-s.ys[l] >= t) })
	}
	end := n
	for c := len(st) - 1; c >= 0; c-- {
		steps := c * (n + m) / len(st)
		r := sort.Search(n, func(r int) bool { return r+start(r) >= steps })
		st[c] = stair{t: t, out: out, i: r, end: end, a: start(r)}
		end = r
	}
}

// walk walks the four pieces together until one ends, then each to its end.
func (s *diffSelector) walk(st *stairs) {
	xs, ys := s.xs, s.ys
	m := len(ys)
	// Locals rather than the structs: the loop keeps them in registers.
	t0, o0, i0, e0, a0, s0 := st[0].t, st[0].out, st[0].i, st[0].end, st[0].a, int64(0)
	t1, o1, i1, e1, a1, s1 := st[1].t, st[1].out, st[1].i, st[1].end, st[1].a, int64(0)
	t2, o2, i2, e2, a2, s2 := st[2].t, st[2].out, st[2].i, st[2].end, st[2].a, int64(0)
	t3, o3, i3, e3, a3, s3 := st[3].t, st[3].out, st[3].i, st[3].end, st[3].a, int64(0)
	for {
		// A step moves i or a by one, so every piece can take this many
		// before it reaches its last row or column: the steps need no
		// test of their own.
		steps := min(e0-i0, e1-i1, e2-i2, e3-i3, m-a0, m-a1, m-a2, m-a3)
		if steps <= 0 {
			break
		}
		for range steps {
			i0, a0, s0 = step(xs, ys, o0, t0, i0, a0, s0)
			i1, a1, s1 = step(xs, ys, o1, t1, i1, a1, s1)
			i2, a2, s2 = step(xs, ys, o2, t2, i2, a2, s2)
			i3, a3, s3 = step(xs, ys, o3, t3, i3, a3, s3)
		}
	}
	st[0].sum = finish(xs, ys, o0, t0, i0, e0, a0, s0)
	st[1].sum = finish(xs, ys, o1, t1, i1, e1, a1, s1)
	st[2].sum = finish(xs, ys, o2, t2, i2, e2, a2, s2)
	st[3].sum = finish(xs, ys, o3, t3, i3, e3, a3, s3)
}

// step records row i's count for the current a and moves either to the next
// row, adding the count to sum, or to the next column, computing which
// without a branch.
func step(xs, ys []float64, out []int32, t float64, i, a int, sum int64) (int, int, int64) {
	c := len(ys) - a
	out[i] = int32(c) //nolint:gosec // c ≤ len(ys) ≤ MaxValues (checkSample)
	col := 0
	if xs[i]-ys[a] >= t {
		col = 1
	}
	return i + 1 - col, a + col, sum + int64(c&(col-1))
}

// finish walks a piece to its end and returns the sum of its counts.
func finish(xs, ys []float64, out []int32, t float64, i, end, a int, sum int64) int64 {
	for i < end && a < len(ys) {
		i, a, sum = step(xs, ys, out, t, i, a, sum)
	}
	for ; i < end; i++ {
		out[i] = 0 // x_i − y_l ≥ t for every l
	}
	return sum
}

// shrink raises the rows' lower bounds to lo and lowers their upper bounds
// to hi (a nil slice leaves them), fills the prefix sums of the remaining
// cells and returns their number and the number of cells left of the
// ranges: one pass over the rows where clamping and summing took three.
func (s *diffSelector) shrink(lo, hi []int32) (active, below int64) {
	n := len(s.lo)
	rowLo, rowHi, prefix := s.lo[:n], s.hi[:n], s.prefix[:n+1]
	switch {
	case lo == nil && hi == nil:
		for i, l := range rowLo {
			prefix[i] = active
			active += int64(max(rowHi[i]-l, 0))
			below += int64(l)
		}
	case hi == nil:
		lo = lo[:n]
		for i := range rowLo {
			l := max(rowLo[i], lo[i])
			rowLo[i] = l
			prefix[i] = active
			active += int64(max(rowHi[i]-l, 0))
			below += int64(l)
		}
	case lo == nil:
		hi = hi[:n]
		for i, l := range rowLo {
			h := min(rowHi[i], hi[i])
			rowHi[i] = h
			prefix[i] = active
			active += int64(max(h-l, 0))
			below += int64(l)
		}
	default:
		lo, hi = lo[:n], hi[:n]
		for i := range rowLo {
			l, h := max(rowLo[i], lo[i]), min(rowHi[i], hi[i])
			rowLo[i], rowHi[i] = l, h
			prefix[i] = active
			active += int64(max(h-l, 0))
			below += int64(l)
		}
	}
	prefix[n] = active
	return active, below
}

// systematicSample draws every (active/size)-th remaining cell from a
// random start, walking the rows once.
func (s *diffSelector) systematicSample(active int64, size int) {
	s.sample = s.sample[:0]
	step := float64(active) / float64(size)
	pos := s.rng.Float64() * step
	i := 0
	for range size {
		r := min(int64(pos), active-1)
		for s.prefix[i+1] <= r {
			i++
		}
		s.sample = append(s.sample, s.at(i, int(s.lo[i])+int(r-s.prefix[i])))
		pos += step
	}
}

// randomCell draws one of the remaining cells uniformly.
func (s *diffSelector) randomCell(active int64) float64 {
	r := s.rng.Int64N(active)
	i, found := slices.BinarySearch(s.prefix, r)
	if !found {
		i--
	}
	for s.prefix[i+1] == s.prefix[i] { // skip empty rows starting at r
		i++
	}
	return s.at(i, int(s.lo[i])+int(r-s.prefix[i]))
}

// kth returns the k-th smallest difference (1-based).
func (s *diffSelector) kth(k int64) float64 {
	return s.kths(k)[0]
}

// kths returns the differences of ranks ks (ascending, 1-based). Rounds that
// can bracket all of them at once are shared; a rank right after another
// costs one pass instead of a selection.
func (s *diffSelector) kths(ks ...int64) []float64 {
	m := len(s.ys)
	for i := range s.lo {
		s.lo[i], s.hi[i] = 0, int32(m) //nolint:gosec // m ≤ MaxValues (checkSample)
	}
	out := make([]float64, len(ks))
	if len(ks) > 1 {
		s.narrow(ks[0], ks[len(ks)-1])
	}
	s.lo0, s.hi0 = append(s.lo0[:0], s.lo...), append(s.hi0[:0], s.hi...)
	prev := int64(-1)
	for j, k := range ks {
		if k == prev+1 && j > 0 {
			out[j] = s.successor(out[j-1], k)
			prev = k
			continue
		}
		prev = k
		copy(s.lo, s.lo0)
		copy(s.hi, s.hi0)
		v, found := s.narrow(k, k)
		if !found {
			panic("stats: selection ended without the answer") // unreachable
		}
		out[j] = v
	}
	return out
}

// successor returns the k-th difference given v, the (k−1)-th.
//
// When the (k−1)-th was selected from the cells copied out, those are all
// the cells of ranks below+1 … below+len(buf), and quickselect left the
// larger ones after it: the k-th is their minimum, if k is among them.
func (s *diffSelector) successor(v float64, k int64) float64 {
	if i := s.gathered; i >= 0 && i+1 < len(s.buf) {
		s.gathered = -1 // buf is not partitioned around the k-th
		return slices.Min(s.buf[i+1:])
	}
	s.gathered = -1
	if _, le := s.count(0, nil, v, s.cntB); k <= le {
		return v
	}
	next := math.Inf(1)
	for i, c := range s.cntB {
		if int(c) < len(s.ys) {
			next = min(next, s.at(i, int(c)))
		}
	}
	return next
}

// narrow shrinks the rows' ranges around the ranks kMin..kMax. For a single
// rank it runs to the answer; for several it stops once they span a
// quarter of the remaining cells, or a round makes no progress.
func (s *diffSelector) narrow(kMin, kMax int64) (float64, bool) {
	single := kMin == kMax
	prev := int64(-1)
	s.gathered = -1
	var raiseLo, lowerHi []int32 // the bounds the last round found
	for {
		active, below := s.shrink(raiseLo, lowerHi)
		raiseLo, lowerHi = nil, nil
		stalled := active == prev
		prev = active
		if !single && (active <= s.gather || kMax-kMin >= active/4 || stalled) {
			return 0, false
		}
		if active <= s.gather {
			return s.gatherSelect(kMin - below), true
		}
		if stalled {
			var (
				v  float64
				ok bool
			)
			if v, ok, raiseLo, lowerHi = s.splitAt(s.randomCell(active), kMin); ok {
				return v, true
			}
			continue
		}
		// 2·√active cells: a round then costs about what its count does
		size := int(min(maxSample, max(64, 2*math.Sqrt(float64(active)))))
		s.systematicSample(active, size)
		ns := float64(size)
		fLo := float64(kMin-below) / float64(active)
		fHi := float64(kMax-below) / float64(active)
		iLo := int(math.Floor(fLo*ns - 3*math.Sqrt(ns*fLo*(1-fLo)) - 1))
		iHi := int(math.Ceil(fHi*ns + 3*math.Sqrt(ns*fHi*(1-fHi)) + 1))
		var (
			lt, le []int32
			p, q   float64
		)
		if iLo >= 0 {
			p, lt = quickselect(s.sample, iLo, s.rng), s.cntA
		}
		if iHi < size {
			q, le = quickselect(s.sample, iHi, s.rng), s.cntB
		}
		if lt == nil && le == nil {
			// the sample cannot bracket: split around one cell instead
			var (
				v  float64
				ok bool
			)
			if v, ok, raiseLo, lowerHi = s.splitAt(s.randomCell(active), kMin); ok && single {
				return v, true
			}
			continue
		}
		nLT, nLE := s.count(p, lt, q, le)
		// A bracket that missed (rarely) still tells on which side the
		// ranks lie; a bound only moves past cells none of them can be.
		lowOK, highOK := lt != nil && kMin > nLT, le != nil && kMax <= nLE
		switch {
		case single && lt != nil && !lowOK:
			lowerHi = s.cntA
			continue
		case single && le != nil && !highOK:
			raiseLo = s.cntB
			continue
		case single && lowOK && highOK && p == q:
			return p, true
		}
		if lowOK {
			raiseLo = s.cntA
		}
		if highOK {
			lowerHi = s.cntB
		}
	}
}

// splitAt partitions the remaining cells around p: it returns p if it is the
// k-th difference, otherwise the new lower or upper bounds of the rows that
// drop the side that cannot hold it.
func (s *diffSelector) splitAt(p float64, k int64) (v float64, found bool, raiseLo, lowerHi []int32) {
	nLT, nLE := s.count(p, s.cntA, p, s.cntB)
	switch {
	case k <= nLT:
		return 0, false, nil, s.cntA
	case k <= nLE:
		return p, true, nil, nil
	}
	return 0, false, s.cntB, nil
}

// gatherSelect copies the remaining cells out and returns the k-th smallest.
func (s *diffSelector) gatherSelect(k int64) float64 {
	xs, ys := s.xs, s.ys
	m := len(ys)
	s.buf = resize(s.buf, int(s.prefix[len(xs)]))
	buf := s.buf
	for i, x := range xs {
		// Row i's cells lo..hi−1 are x − ys[m−1−lo] down to x − ys[m−hi].
		lo, hi := int(s.lo[i]), int(s.hi[i])
		if lo >= hi {
			continue
		}
		row := buf[s.prefix[i]:][:hi-lo]
		col := ys[m-hi : m-lo]
		for r := range row {
			row[r] = x - col[len(col)-1-r]
		}
	}
	s.gathered = int(k - 1)
	return quickselect(s.buf, s.gathered, s.rng)
}

// quickselect returns the k-th smallest (0-based) of a, reordering it so
// that the values before index k are at most, those after at least, the
// result.
func quickselect(a []float64, k int, rng *rand.Rand) float64 {
	for len(a) > 16 {
		p := a[rng.IntN(len(a))]
		// [< p | ≥ p], then, if k is in the second part, [== p | > p]
		lt := partition(a, func(v float64) bool { return v < p })
		if k < lt {
			a = a[:lt]
			continue
		}
		a, k = a[lt:], k-lt
		eq := partition(a, func(v float64) bool { return v <= p })
		if k < eq {
			return p
		}
		a, k = a[eq:], k-eq
	}
	slices.Sort(a)
	return a[k]
}

// partition moves the values for which first holds before the others and
// returns their number. Every value is swapped and the count moves by the
// comparison's result, so random data costs no mispredicted branches.
func partition(a []float64, first func(float64) bool) int {
	n := 0
	for i, v := range a {
		a[i] = a[n]
		a[n] = v
		if first(v) {
			n++
		}
	}
	return n
}
