package verdict

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// rawGaps finds the stretches of [start, end] in which Prometheus had no
// raw samples of a metric family the group's query reads, though the
// query answered there (answered, the times of its finite samples): a
// range selector or a subquery answers over a scrape gap from the samples
// before it, so the rate of a counter whose target a fault took down goes
// on as if it were still scraped, and would pass. At each step the source
// is asked whether the family had a raw sample within the step (or the
// scrape interval, if longer), and those times are held to the allowance
// the answer's are (see gapAllowance).
//
// A family without a single raw sample in the window is left out while
// another has samples if it had none in the lookback before the window
// either: it did not exist then (an error counter's family before the
// first error; the query adds nothing of it or uses `or`). One that had
// samples just before is a gap over the whole window: the answer read
// them.
// Every family without one, while the query answered, is a gap over the
// whole window: the answer is all memory. A gap the answer has too is
// the answer's, said once. A check that fails (the source's error) is a
// gap over the whole window too: what was not checked cannot pass.
// Warnings come back with the gaps; err is only ctx's.
func (j *Judge) rawGaps(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric, g chaos.Group,
	answered []time.Time, answerGaps []SampleGap, start, end time.Time, running bool,
) (gaps []SampleGap, warnings []string, err error) {
	if len(answered) == 0 {
		return nil, nil, nil // no data, said otherwise
	}
	within := max(h.Step, j.scrape)
	type family struct {
		raw   hypothesis.RawSeries
		times []time.Time
		// before says it had raw samples in the lookback before the
		// window: what the query's answer at the window's start can read.
		before bool
	}
	lookback := answerLookback(h, m)
	var seen []family
	lo, hi := start.UnixMilli(), end.UnixMilli()
	for _, r := range m.RawSeries(g, within) {
		a, err := j.source.Samples(ctx, RangeQuery{Expr: r.Query, Start: start.Add(-lookback), End: end, Step: h.Step})
		warnings = addWarnings(warnings, a.Warnings)
		if err != nil {
			gap, err := unchecked(ctx, g, start, end, r.Selector,
				fmt.Sprintf("Prometheus had raw samples of %s (read by metric %s's query)", r.Selector, m.Name), err)
			if err != nil {
				return nil, nil, err
			}
			gaps = append(gaps, gap)
			continue
		}
		f := family{raw: r}
		for _, ss := range a.Series {
			for _, p := range ss.Points {
				switch t := p.T.UnixMilli(); {
				case t < lo:
					f.before = true
				case t <= hi:
					f.times = append(f.times, p.T)
				}
			}
		}
		slices.SortFunc(f.times, func(a, b time.Time) int { return a.Compare(b) })
		f.times = slices.CompactFunc(f.times, time.Time.Equal)
		seen = append(seen, f)
	}
	var none []string
	for _, f := range seen {
		if len(f.times) == 0 {
			none = append(none, f.raw.Selector)
		}
	}
	for _, f := range seen {
		if len(f.times) == 0 && f.before && len(none) < len(seen) {
			// It stopped before the window while the query answered in
			// it: whatever the answer read of it is from before.
			gaps = append(gaps, SampleGap{Group: g, From: start, To: end, Series: f.raw.Selector, Reason: fmt.Sprintf(
				"no raw samples of %s (read by metric %s's query) in the %s group at all, %s, though it had some just before: the query answered from those; nothing shows the window itself",
				f.raw.Selector, m.Name, g, interval(start, end))})
		}
	}
	if len(seen) > 0 && len(none) == len(seen) {
		return append(gaps, SampleGap{Group: g, From: start, To: end, Series: strings.Join(none, ", "), Reason: fmt.Sprintf(
			"no raw samples of %s (read by metric %s's query) in the %s group at all, %s, though the query answered: its range selector or subquery answered from samples before the window; nothing shows the window itself",
			strings.Join(none, " or "), m.Name, g, interval(start, end))}), warnings, nil
	}
	for _, f := range seen {
		if len(f.times) == 0 {
			continue
		}
		for _, gap := range j.gapsOf(h, g, f.times, start, end, running,
			fmt.Sprintf("no raw samples of %s (read by metric %s's query)", f.raw.Selector, m.Name),
			"; the query answered over it from older samples (its range selector or subquery bridges a scrape gap)",
			f.raw.Selector) {
			if !slices.ContainsFunc(answerGaps, func(a SampleGap) bool { return overlap(a, gap) }) {
				gaps = append(gaps, gap)
			}
		}
	}
	return gaps, warnings, nil
}

// addWarnings adds to warnings those of ws it does not hold yet.
func addWarnings(warnings []string, ws ...[]string) []string {
	for _, w := range slices.Concat(ws...) {
		if !slices.Contains(warnings, w) {
			warnings = append(warnings, w)
		}
	}
	return warnings
}

// unchecked is the gap over [start, end] of a check of g that failed with
// err: what was not checked cannot pass. what says what it would have
// checked ("Prometheus had raw samples of …"). The error returned is ctx's,
// if it ended: the judgement stops.
func unchecked(ctx context.Context, g chaos.Group, start, end time.Time, series, what string, err error) (SampleGap, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return SampleGap{}, ctxErr
	}
	return SampleGap{Group: g, From: start, To: end, Series: series, Reason: fmt.Sprintf(
		"could not check that %s in the %s group, %s: %v", what, g, interval(start, end), err)}, nil
}

// answerLookback is how far before the window the answer reads: the
// query's longest range, or an instant selector's 5 minutes, in whole steps
// so that a check's steps fall on the answer's.
func answerLookback(h *hypothesis.Hypothesis, m *hypothesis.Metric) time.Duration {
	lookback := max(m.LongestRange(), 5*time.Minute)
	if h.Step > 0 {
		lookback = (lookback + h.Step - 1) / h.Step * h.Step
	}
	return lookback
}

// withRawGaps adds the raw gaps of g (see rawGaps) to its answer's gaps,
// and their query's warnings to out's.
func (j *Judge) withRawGaps(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric, g chaos.Group,
	answered []time.Time, answerGaps []SampleGap, start, end time.Time, running bool, out *Metric,
) ([]SampleGap, error) {
	raw, warnings, err := j.rawGaps(ctx, h, m, g, answered, answerGaps, start, end, running)
	if err != nil {
		return nil, err
	}
	warn(out, g, warnings)
	gaps := append(answerGaps, raw...)
	down, warnings, err := j.downTargetGaps(ctx, h, m, g, answered, gaps, start, end, running)
	if err != nil {
		return nil, err
	}
	warn(out, g, warnings)
	return append(gaps, down...), nil
}

// overlap reports whether two gaps share some time.
func overlap(a, b SampleGap) bool {
	return a.From.Before(b.To) && b.From.Before(a.To)
}
