package verdict

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/steadywatch/steadywatch/hypothesis"
)

// Transition is a verdict as the history of verdicts keeps it. serve
// judges each hypothesis every interval; keeping every judgement would grow
// without bound, so the history keeps a verdict only when it changes the
// one before (Changes): another result, the window closing (Running),
// the verdict becoming final, or an abort raised or withdrawn.
type Transition struct {
	// Cluster is the cluster whose steadywatch judged it (config cluster:),
	// "" for the unnamed one; the store sets it.
	Cluster    string
	Hypothesis string
	// At is the time of judgement (Verdict.At).
	At     time.Time
	Result Result
	// Score is NaN when none of the metrics could be judged.
	Score   float64
	Running bool
	// Final marks the verdict of a fixed window judged after it ended: it
	// is kept, not judged again.
	Final  bool
	Reason string
	// Abort is the verdict's (Verdict.Abort): a leader that takes over
	// reads it to keep the abort its predecessor raised.
	Abort bool
	// Verdict is the verdict's compact JSON, the evidence as the API gives
	// it (numbers that are not finite as null).
	Verdict json.RawMessage
	// HypothesisDigest is the verdict's (Verdict.HypothesisDigest): which
	// hypothesis, as written then, it judged.
	HypothesisDigest string
}

// NewTransition is v as the history keeps it.
func NewTransition(v Verdict, final bool) (Transition, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Transition{}, fmt.Errorf("verdict of %s: %w", v.Hypothesis, err)
	}
	return Transition{
		Hypothesis: v.Hypothesis, At: v.At, Result: v.Result, Score: v.Score,
		Running: v.Running, Final: final, Reason: v.Reason, Abort: v.Abort, Verdict: data, HypothesisDigest: v.HypothesisDigest,
	}, nil
}

// IsFinal reports whether v, a verdict of h, is final: h's window is
// fixed, v was judged after it ended, and nothing is still to come: the
// window's last data has had time to arrive, and none of its recovery
// expectations may still be met (an HPA's return, an alert, a recovery
// still within its bound after the window: see Verdict.DecidedBy). It is
// kept, not judged again.
func IsFinal(h *hypothesis.Hypothesis, v *Verdict) bool {
	return h.Window.Fixed != nil && !v.Running && !v.At.Before(h.Window.Fixed.End) && v.DecidedBy().IsZero()
}

// Changes reports whether t is to be kept after prev, the hypothesis's
// last kept verdict (nil: none). It is when its result, Running, Final or
// Abort differs from prev's; but once a verdict is final, a final verdict judged
// again (as serve does once after a restart) is never kept: Prometheus may
// have dropped the data since, and the experiment's outcome is history. A
// verdict that is not final after a final one (the hypothesis's window was
// moved) is kept, and so is a final verdict of the hypothesis edited since
// (another digest): it is the verdict of record of another hypothesis. A
// digest not known (a verdict kept before digests were) is the same.
func (t *Transition) Changes(prev *Transition) bool {
	switch {
	case prev == nil:
		return true
	case prev.Final && t.Final:
		return prev.HypothesisDigest != "" && t.HypothesisDigest != "" && prev.HypothesisDigest != t.HypothesisDigest
	}
	return t.Result != prev.Result || t.Running != prev.Running || t.Final != prev.Final || t.Abort != prev.Abort
}

// ScoreOrNil is the score, nil when it is not finite.
func (t *Transition) ScoreOrNil() *float64 {
	if math.IsNaN(t.Score) || math.IsInf(t.Score, 0) {
		return nil
	}
	return new(t.Score)
}

// History reads the stored transitions; the store is one.
type History interface {
	// EachVerdict hands the transitions with At in [since, until) (a zero
	// bound is open) to fn one at a time, oldest first, then by
	// hypothesis, stopping at (and returning) the first error fn returns.
	EachVerdict(ctx context.Context, since, until time.Time, fn func(*Transition) error) error
	// LatestVerdicts returns each hypothesis's last transition before
	// before (zero: the last of all), sorted by hypothesis: the verdicts
	// in force then.
	LatestVerdicts(ctx context.Context, before time.Time) ([]Transition, error)
}
