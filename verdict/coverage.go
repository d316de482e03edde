package verdict

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/timex"
)

// CoverageSource tells when steadywatch was really watching the cluster;
// store.Store is one (the spans its serve recorded), and serve adds its
// own live watch to them.
type CoverageSource interface {
	Coverage(ctx context.Context, since, until time.Time) ([]chaos.WatchSpan, error)
}

// coverageLookback is how far before a range the spans are read, to tell
// a broken watch from a stopped steadywatch at the range's start.
const coverageLookback = 24 * time.Hour

// Why steadywatch has no record of a time (Gap.Why).
const (
	// GapNotRunning: no steadywatch was watching (not started yet, stopped,
	// or between a crash and its restart).
	GapNotRunning = "not_running"
	// GapBroken: steadywatch ran but its watch of the resources was broken.
	GapBroken = "broken"
	// GapNotRecorded: steadywatch was watching at the start of the gap and
	// recorded nothing since: it still runs and will record it at its next
	// heartbeat, or it died without a trace.
	GapNotRecorded = "not_recorded"
)

// Gap is a time within a verdict's window that steadywatch has no record of
// watching: faults then may have gone unseen, so nothing it measured there
// is evidence, and no verdict over it passes.
type Gap struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Resources are the watched resources it concerns ("pods", "nodes", …).
	Resources []string `json:"resources"`
	// Why is GapNotRunning, GapBroken or GapNotRecorded.
	Why string `json:"why"`
	// Reason says it in a sentence.
	Reason string `json:"reason"`
	// err is why the watch broke, for GapBroken.
	err string
}

// hole is a gap in the coverage of one resource.
type hole struct {
	resource string
	from, to time.Time
	why, err string
}

// holes returns the times in [from, to] that no span of the resource covers.
func holes(resource string, spans []chaos.WatchSpan, from, to time.Time) []hole {
	var own []chaos.WatchSpan
	for _, s := range spans {
		if s.Resource == resource {
			own = append(own, s)
		}
	}
	slices.SortFunc(own, func(a, b chaos.WatchSpan) int { return a.From.Compare(b.From) })
	var (
		out  []hole
		prev *chaos.WatchSpan // the span that reaches furthest so far
	)
	cursor := from
	add := func(until time.Time) {
		h := hole{resource: resource, from: cursor, to: until, why: GapNotRunning}
		if prev != nil {
			switch prev.Ended {
			case chaos.SpanBroken:
				h.why, h.err = GapBroken, prev.Err
			case chaos.SpanOpen:
				h.why = GapNotRecorded
			}
		}
		out = append(out, h)
	}
	for i := range own {
		s := &own[i]
		if !s.To.After(cursor) {
			if prev == nil || s.To.After(prev.To) {
				prev = s
			}
			continue
		}
		if !s.From.Before(to) {
			break
		}
		if s.From.After(cursor) {
			add(s.From)
		}
		cursor = s.To
		prev = s
		if !cursor.Before(to) {
			return out
		}
	}
	if cursor.Before(to) {
		add(to)
	}
	return out
}

// sameGapSlack is how far apart the holes of several resources may begin
// and end to be told as one: their watches break and come back within
// milliseconds of each other.
const sameGapSlack = time.Second

// gaps returns the uncovered times of [from, to], holes of several
// resources with (about) the same times and cause told once.
func gaps(spans []chaos.WatchSpan, from, to time.Time) []Gap {
	if !to.After(from) {
		return nil
	}
	var out []Gap
	for _, r := range chaos.WatchedResources {
	next:
		for _, h := range holes(r, spans, from, to) {
			for i := range out {
				g := &out[i]
				if g.Why == h.why && near(g.From, h.from) && near(g.To, h.to) {
					g.Resources = append(g.Resources, r)
					g.From, g.To = timex.Min(g.From, h.from), timex.Max(g.To, h.to)
					continue next
				}
			}
			out = append(out, Gap{From: h.from, To: h.to, Resources: []string{r}, Why: h.why, err: h.err})
		}
	}
	slices.SortStableFunc(out, func(a, b Gap) int { return a.From.Compare(b.From) })
	for i := range out {
		out[i].Reason = gapReason(out[i])
	}
	return out
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d <= sameGapSlack && d >= -sameGapSlack
}

func gapReason(g Gap) string {
	when := interval(g.From, g.To)
	switch g.Why {
	case GapBroken:
		s := fmt.Sprintf("the %s watch was broken %s", joinAnd(g.Resources), when)
		if g.err != "" {
			s += " (" + g.err + ")"
		}
		return s
	case GapNotRecorded:
		return fmt.Sprintf("steadywatch has no record of %s: it recorded its watch until %s and nothing since (it records every checkpoint interval: judge again later; or it stopped without a trace)",
			when, g.From.UTC().Format("15:04:05"))
	}
	if len(g.Resources) == len(chaos.WatchedResources) {
		return fmt.Sprintf("steadywatch has no record of %s: it was not running", when)
	}
	return fmt.Sprintf("steadywatch has no record of %s for %s: it was not watching them", when, joinAnd(g.Resources))
}

// interval writes a time range for people: "2026-11-12 10:00:00–10:20:00 UTC".
func interval(from, to time.Time) string {
	from, to = from.UTC(), to.UTC()
	layout := "2006-01-02 15:04:05"
	if from.Truncate(time.Second) != from || to.Truncate(time.Second) != to {
		layout = "2006-01-02 15:04:05.000"
	}
	end := to.Format(layout)
	if from.Format("2006-01-02") == to.Format("2006-01-02") {
		end = to.Format(strings.TrimPrefix(layout, "2006-01-02 "))
	}
	return from.Format(layout) + "–" + end + " UTC"
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func gapReasons(gs []Gap) string {
	rs := make([]string, len(gs))
	for i, g := range gs {
		rs[i] = g.Reason
	}
	return joinFirst(rs, 3)
}

// within returns the parts of gs that lie in [from, to].
func within(gs []Gap, from, to time.Time, keep func(Gap) bool) []Gap {
	var out []Gap
	for _, g := range gs {
		if !g.To.After(from) || !g.From.Before(to) || !keep(g) {
			continue
		}
		g.From, g.To = timex.Max(g.From, from), timex.Min(g.To, to)
		g.Reason = gapReason(g)
		out = append(out, g)
	}
	return out
}

// checkCoverage finds the times of the verdict's window, and of each
// recovery expectation's span, that steadywatch did not watch. An
// expectation measured on the watch (mttr, replacement_ready, hpa/…) that
// overlaps one is Inconclusive whatever it measured — a fault may have gone
// unseen, and a missing scale-up may only be unrecorded (issue 11, #8); an
// alert expectation only when steadywatch was not running to receive
// alerts and its alert was not seen. The window's gaps are returned for the
// verdict (see unwatchedVerdict). err is only ctx's.
func (j *Judge) checkCoverage(ctx context.Context, h *hypothesis.Hypothesis, w hypothesis.Span, at time.Time, recovery []Expectation) ([]Gap, error) {
	if j.coverage == nil {
		return nil, nil
	}
	end := timex.Min(w.End, at)
	type check struct {
		x        *Expectation
		from, to time.Time
		keep     func(Gap) bool
	}
	everything := func(Gap) bool { return true }
	var checks []check
	until := end
	for i := range recovery {
		x := &recovery[i]
		c := check{x: x, from: w.ChaosStart, keep: everything}
		bound := time.Duration(x.Bound * float64(time.Second))
		switch {
		case x.Name == "mttr" || x.Name == "replacement_ready":
			c.to = w.ChaosEnd.Add(bound)
		case strings.HasPrefix(x.Name, "hpa/") && strings.HasSuffix(x.Name, "/baseline"):
			c.to = w.ChaosEnd.Add(bound)
		case strings.HasPrefix(x.Name, "hpa/"):
			c.to = w.ChaosStart.Add(bound)
		case strings.HasPrefix(x.Name, "alert/"):
			if x.Result == Pass {
				continue // the alert was seen
			}
			c.to = w.ChaosStart.Add(bound)
			c.keep = func(g Gap) bool { return g.Why != GapBroken }
		default:
			c.to = end
		}
		c.to = timex.Min(c.to, at)
		until = timex.Max(until, c.to)
		checks = append(checks, c)
	}
	spans, err := j.coverage.Coverage(ctx, w.Start.Add(-coverageLookback), until)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		gs := []Gap{{
			From: w.Start, To: until, Resources: chaos.WatchedResources, Why: GapNotRecorded,
			Reason: fmt.Sprintf("reading steadywatch's watch coverage: %v", err),
		}}
		for _, c := range checks {
			c.x.Result, c.x.Reason = Inconclusive, gs[0].Reason
		}
		return gs, nil
	}
	all := gaps(spans, timex.Min(w.Start, w.ChaosStart), until)
	for _, c := range checks {
		gs := within(all, c.from, c.to, c.keep)
		if len(gs) == 0 {
			continue
		}
		c.x.Reason = fmt.Sprintf("%s (without it: %s, %s)", gapReasons(gs), c.x.Result, c.x.Reason)
		c.x.Result = Inconclusive
	}
	return within(all, w.Start, end, everything), nil
}

// unwatchedVerdict keeps a verdict over a window steadywatch did not wholly
// watch from passing: a fault may have gone unseen. A failure stands (what
// failed was seen), its reason naming the gaps.
func unwatchedVerdict(result Result, reason string, gs []Gap) (Result, string) {
	switch {
	case len(gs) == 0:
		return result, reason
	case result == Pass:
		return Inconclusive, fmt.Sprintf("%s; a window steadywatch did not wholly watch cannot pass (without it: %s)", gapReasons(gs), reason)
	case strings.Contains(reason, gs[0].Reason):
		return result, reason
	default:
		return result, fmt.Sprintf("%s (and %s)", reason, gapReasons(gs))
	}
}
