package stats

import "sync"

// workspace is one comparison's scratch memory, all O(n+m): the sorted
// copies, the radix sort's keys and the selection's per-row bounds. Reusing
// it spares a comparison of 2 × 100,000 values the allocation and zeroing of
// about 14 MB and the collections they bring. Nothing a caller gets back
// points into it.
type workspace struct {
	xs, ys []float64
	keys   []uint64
	sel    diffSelector
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// withWorkspace runs f with a workspace no one else uses meanwhile.
func withWorkspace[T any](f func(w *workspace) (T, error)) (T, error) {
	w := workspaces.Get().(*workspace)
	defer workspaces.Put(w)
	return f(w)
}

// sortedCopies validates x and y and returns sorted copies of them, held in
// w.
func (w *workspace) sortedCopies(x, y []float64) (xs, ys []float64, err error) {
	if err := checkSample("x", x); err != nil {
		return nil, nil, err
	}
	if err := checkSample("y", y); err != nil {
		return nil, nil, err
	}
	w.xs, w.ys = append(w.xs[:0], x...), append(w.ys[:0], y...)
	w.keys = sortFloats(w.xs, w.keys)
	w.keys = sortFloats(w.ys, w.keys)
	return w.xs, w.ys, nil
}

// resize returns v with length n, reallocated only if it is too short; the
// values are whatever v held.
func resize[T any](v []T, n int) []T {
	if cap(v) < n {
		return make([]T, n)
	}
	return v[:n]
}
