package verdict

import (
	"maps"
	"slices"
	"sync"
)

// Board holds the latest verdict of each hypothesis and how many verdicts
// each has been given: what the API answers and the exporter publishes at
// scrape time. It is safe for concurrent use.
type Board struct {
	mu     sync.Mutex
	latest map[string]Verdict
	issued map[string]map[Result]uint64
}

// NewBoard returns an empty Board.
func NewBoard() *Board {
	return &Board{latest: map[string]Verdict{}, issued: map[string]map[Result]uint64{}}
}

// Record makes v the current verdict of its hypothesis and counts it.
func (b *Board) Record(v Verdict) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latest[v.Hypothesis] = v
	counts := b.issued[v.Hypothesis]
	if counts == nil {
		counts = map[Result]uint64{}
		b.issued[v.Hypothesis] = counts
	}
	counts[v.Result]++
}

// Keep forgets the verdicts and counts of hypotheses not in names (after a
// reload dropped them), so that nothing is published for them any more.
func (b *Board) Keep(names []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name := range b.latest {
		if !slices.Contains(names, name) {
			delete(b.latest, name)
			delete(b.issued, name)
		}
	}
}

// ForgetOtherDigests forgets the current verdict of each hypothesis in
// digests that judged it as it was before an edit (another digest): it is
// not the verdict of the hypothesis as it is. Its counts are kept.
func (b *Board) ForgetOtherDigests(digests map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, v := range b.latest {
		if d, ok := digests[name]; ok && v.HypothesisDigest != "" && v.HypothesisDigest != d {
			delete(b.latest, name)
		}
	}
}

// Latest returns the current verdicts, sorted by hypothesis name.
func (b *Board) Latest() []Verdict {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Verdict, 0, len(b.latest))
	for _, name := range slices.Sorted(maps.Keys(b.latest)) {
		out = append(out, b.latest[name])
	}
	return out
}

// Get returns the current verdict of a hypothesis.
func (b *Board) Get(name string) (Verdict, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.latest[name]
	return v, ok
}

// Issued returns how many verdicts of each result each hypothesis has been
// given since it was first recorded (or kept).
func (b *Board) Issued() map[string]map[Result]uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]map[Result]uint64, len(b.issued))
	for name, counts := range b.issued {
		out[name] = maps.Clone(counts)
	}
	return out
}
