package verdict

import (
	"fmt"
	"math"
	"strings"

	"github.com/steadywatch/steadywatch/hypothesis"
)

// Overall adds the metrics' and recovery expectations' results up to the
// hypothesis's result, score and reason, as Kayenta's judge does, in this
// order:
//
//  1. a failing (High, Low or Fail) critical metric → Fail;
//  2. a failing recovery expectation → Fail;
//  3. the weight of the judged metrics (those not Inconclusive) over the
//     weight of all is below Judgement.MinJudged → Inconclusive ("only X %
//     of the metrics' weight could be judged");
//  4. score = 100 × Σ weight(passing) / Σ weight(judged); below
//     MarginalScore → Fail;
//  5. in between → Inconclusive ("marginal");
//  6. at or above PassScore, a critical metric that could not be judged →
//     Inconclusive: the hypothesis says it must hold and nothing says it
//     did, whatever minJudged lets the others decide;
//  7. otherwise Pass, unless a recovery expectation is inconclusive
//     (pending, or not measurable): then Inconclusive, for every
//     expectation the hypothesis states must hold for a pass.
//
// The score is NaN when no metric could be judged (or there are none; then
// the recovery expectations alone decide).
func Overall(h *hypothesis.Hypothesis, metrics []Metric, recovery []Expectation) (result Result, score float64, reason string) {
	var total, judged, passed float64
	var unjudged, failed []string
	for i := range metrics {
		m := &metrics[i]
		total += m.Weight
		switch {
		case m.Result == Inconclusive:
			unjudged = append(unjudged, m.Name+" ("+m.Reason+")")
			continue
		case failing(m.Result):
			failed = append(failed, m.Name)
		default:
			passed += m.Weight
		}
		judged += m.Weight
	}
	score = math.NaN()
	if judged > 0 {
		score = 100 * passed / judged
	}
	for i := range metrics {
		if m := &metrics[i]; m.Critical && failing(m.Result) {
			return Fail, score, fmt.Sprintf("critical metric %s failed (%s): %s", m.Name, m.Result, m.Reason)
		}
	}
	var pending []string
	for i := range recovery {
		switch x := &recovery[i]; x.Result {
		case Fail:
			return Fail, score, fmt.Sprintf("recovery expectation %s failed: %s", x.Name, x.Reason)
		case Inconclusive:
			pending = append(pending, x.Name+" ("+x.Reason+")")
		}
	}
	j := &h.Judgement
	if total > 0 {
		if share := judged / total; share < j.MinJudged {
			return Inconclusive, score, fmt.Sprintf("only %.3g %% of the metrics' weight could be judged (minJudged %.3g %%): %s",
				100*share, 100*j.MinJudged, strings.Join(unjudged, "; "))
		}
		if score < j.MarginalScore {
			return Fail, score, fmt.Sprintf("score %.3g below the marginal score %g: %s failed",
				score, j.MarginalScore, strings.Join(failed, ", "))
		}
		if score < j.PassScore {
			return Inconclusive, score, fmt.Sprintf("marginal: score %.3g between the marginal score %g and the pass score %g (%s failed)",
				score, j.MarginalScore, j.PassScore, strings.Join(failed, ", "))
		}
	}
	for i := range metrics {
		if m := &metrics[i]; m.Critical && m.Result == Inconclusive {
			return Inconclusive, score, fmt.Sprintf("critical metric %s could not be judged: %s", m.Name, m.Reason)
		}
	}
	passing := fmt.Sprintf("score %.3g at or above the pass score %g", score, j.PassScore)
	if total == 0 {
		passing = "no metrics"
	}
	if len(pending) > 0 {
		return Inconclusive, score, fmt.Sprintf("%s, but recovery expectations are not judged yet: %s",
			passing, strings.Join(pending, "; "))
	}
	if len(recovery) > 0 {
		passing += fmt.Sprintf(", and all %d recovery expectations hold", len(recovery))
	}
	if len(unjudged) > 0 {
		passing += fmt.Sprintf(" (not judged: %s)", strings.Join(unjudged, "; "))
	}
	return Pass, score, passing
}
