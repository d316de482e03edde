package verdict

import (
	"fmt"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// gapAllowance is the longest stretch of the judged range a group may
// have without a finite sample, and how it was set, for the reasons: 2
// steps, or 2 scrape intervals if the scrape interval is known and longer.
// (steadywatch verdict and serve refuse a step shorter than the scrape
// interval they are given, so for them it is 2 steps; a library user may
// judge a finer step.)
//
// A healthy series has a sample at every step: Prometheus evaluates a
// range query at each step and an instant selector looks back 5 minutes
// for the latest sample, so neither a step shorter than the scrape interval
// nor a query's range opens a gap in the answer. What does is a scrape
// that fails — Prometheus marks the target's series stale, and they are
// absent until its next good scrape — or a target (or Prometheus) that is
// down. The allowance lets one lost scrape or one lost step pass (the two
// samples around it are then 2 steps or 2 scrape intervals apart), and
// nothing longer: a second lost one in a row is a stretch of the
// experiment nothing shows. The query's own range (the [5m] of a rate) is
// not added: it never opens a gap in a healthy answer, it only hides
// scrape gaps (the rate answers over them from older samples), so the
// raw samples of the families the query reads are held to the same
// allowance (rawGaps): at each step, a raw sample within the step or the
// scrape interval. That also sees a hole Prometheus wrote no staleness
// markers for (Prometheus itself down), which an instant selector's
// 5-minute lookback bridges in the answer.
func (j *Judge) gapAllowance(step time.Duration) (allowed time.Duration, why string) {
	switch {
	case j.scrape > step:
		return 2 * j.scrape, fmt.Sprintf("2 scrape intervals of %s", hypothesis.FormatDuration(j.scrape))
	case j.scrape == 0:
		return 2 * step, fmt.Sprintf("2 steps of %s", hypothesis.FormatDuration(step))
	}
	return 2 * step, fmt.Sprintf("2 steps of %s, the scrape interval being %s", hypothesis.FormatDuration(step), hypothesis.FormatDuration(j.scrape))
}

// gapSpan is a stretch without samples; atStart and atEnd say that it
// runs from the start or to the end of the judged range rather than from
// or to a sample.
type gapSpan struct {
	from, to       time.Time
	atStart, atEnd bool
}

// findGaps returns the stretches of [from, to] that hold none of ts
// (finite samples' times, in order) and are longer than allowed between
// two samples, or than half of it at an edge: one lost step between two
// samples leaves them 2 steps apart, one lost at the range's start or end
// leaves 1 step to it. The end is the last step of the range (from plus
// whole steps), not to itself: a time of judgement between two steps is
// not a lost step. None if ts is empty (that is "no data", said
// otherwise).
func findGaps(ts []time.Time, from, to time.Time, allowed, step time.Duration) []gapSpan {
	if len(ts) == 0 {
		return nil
	}
	edge := allowed / 2
	var out []gapSpan
	prev, atStart := from, true
	for _, t := range ts {
		if t.Sub(prev) > allowed || atStart && t.Sub(prev) > edge {
			out = append(out, gapSpan{from: prev, to: t, atStart: atStart})
		}
		prev, atStart = t, false
	}
	last := to
	if step > 0 && to.After(from) {
		last = from.Add(to.Sub(from) / step * step)
	}
	if last.Sub(prev) > edge {
		out = append(out, gapSpan{from: prev, to: to, atEnd: true})
	}
	return out
}

// sampleGaps finds a group's gaps in [start, end] (see gapAllowance) and
// says each in a sentence naming the metric (what of it, for a ratio), the
// group, the time and its length. running says that end is the time of
// judgement, not the window's end.
func (j *Judge) sampleGaps(h *hypothesis.Hypothesis, m *hypothesis.Metric, g chaos.Group, ts []time.Time,
	start, end time.Time, running bool,
) []SampleGap {
	what := "metric " + m.Name
	if m.Ratio != nil {
		what += " (steps with a finite total and errors)"
	}
	return j.gapsOf(h, g, ts, start, end, running, "no samples of "+what, "", "")
}

// gapsOf finds the gaps of ts in [start, end] and says each: "<subject> in
// the <g> group for <length>, <from–to>, more than allowed[; <then>]".
// series is the raw series the gaps are of, if not the answer's.
func (j *Judge) gapsOf(h *hypothesis.Hypothesis, g chaos.Group, ts []time.Time,
	start, end time.Time, running bool, subject, then, series string,
) []SampleGap {
	allowed, how := j.gapAllowance(h.Step)
	spans := findGaps(ts, start, end, allowed, h.Step)
	out := make([]SampleGap, 0, len(spans))
	for _, s := range spans {
		edge, limit := "", fmt.Sprintf("more than the %s allowed (%s)", hypothesis.FormatDuration(allowed), how)
		switch {
		case s.atStart:
			edge = " (from the window's start)"
		case s.atEnd && running:
			edge = " (to the time of judgement)"
		case s.atEnd:
			edge = " (to the window's end)"
		}
		if edge != "" {
			limit = fmt.Sprintf("more than the %s allowed at an edge (%s between two samples)", hypothesis.FormatDuration(allowed/2), how)
		}
		out = append(out, SampleGap{Group: g, From: s.from, To: s.to, Series: series, Reason: fmt.Sprintf(
			"%s in the %s group for %s, %s%s, %s%s",
			subject, g, hypothesis.FormatDuration(s.to.Sub(s.from)), interval(s.from, s.to), edge, limit, then)})
	}
	return out
}

// withGaps keeps a check that passed from passing over sample gaps of the
// groups it looked at: nothing shows how the metric behaved then, and the
// hypothesis may be about exactly that time (the scrape target down with
// the fault). A failure stands, as one over unwatched time does: what
// failed was seen, and a hard bound's abort is not held back by a
// Prometheus that missed a while. Either way the reason names the gaps.
func (j *Judge) withGaps(p part, gs []SampleGap) part {
	if len(gs) == 0 {
		return p
	}
	rs := make([]string, len(gs))
	for i, g := range gs {
		rs[i] = g.Reason
	}
	why := joinFirst(rs, 3)
	if p.result != Pass {
		p.reason += " (and " + why + ")"
		return p
	}
	p.result = Inconclusive
	p.reason = fmt.Sprintf("%s: nothing shows how the metric behaved then, so it cannot pass; check that the scrape target and Prometheus were up then (up{…} == 1 over that time); if its series are sampled less often than that, widen the hypothesis's step to their scrape interval (without the gaps: pass, %s)",
		why, p.reason)
	return p
}
