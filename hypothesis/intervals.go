package hypothesis

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steadywatch/steadywatch/chaos"
)

// JobLabel is the label Prometheus gives each scraped series: the job_name
// of the scrape config that scraped it.
const JobLabel = "job"

// Intervals are how often the Prometheus a hypothesis is judged against
// takes its samples, as its configuration says.
type Intervals struct {
	// Global is the global scrape_interval, the jobs' default.
	Global time.Duration
	// Jobs maps each scrape config's job_name to its scrape_interval.
	Jobs map[string]time.Duration
	// Evaluation is the global evaluation_interval, at which the series of
	// recording rules are sampled.
	Evaluation time.Duration
	// Partial says that Jobs lacks some scrape configs (those of
	// scrape_config_files, which Prometheus does not show): a series that
	// does not name one of Jobs has an interval nobody knows.
	Partial bool
	// From says where the intervals come from, for the messages, e.g.
	// "learnt from Prometheus".
	From string
}

// interval is how often the series of a selector are sampled, and what
// says so.
type interval struct {
	d     time.Duration
	where string // e.g. "job node"
	eval  bool   // an evaluation interval rather than a scrape interval
}

// CheckIntervals refuses a step shorter than every interval the series
// of the hypothesis's queries are sampled at: the samples between two
// scrapes only repeat the last one, and the query count grows for nothing.
//
// A selector with an equality matcher on one of iv's jobs is sampled at
// that job's interval; any other selector at the shortest of all jobs' and
// the evaluation interval (a recorded series, or one a federation job
// scraped with its own job label). A step is refused only if it is shorter
// than the shortest of these over all selectors, in both groups: surely
// shorter than the interval of every series it queries. Nothing is checked
// when a selector's interval is unknown (no jobs, or a partial list and
// no job matcher of it). The error names the file and line of spec.step.
func (h *Hypothesis) CheckIntervals(iv Intervals) error {
	least, ok := h.leastInterval(iv)
	if !ok || h.Step >= least.d {
		return nil
	}
	kind, between := "scrape", "scrapes"
	if least.eval {
		kind, between = "evaluation", "evaluations"
	}
	from := least.where
	if iv.From != "" {
		from += ", " + iv.From
	}
	at := h.Position("spec.step")
	return &Error{File: at.File, Line: at.Line, Path: "spec.step", Err: fmt.Errorf(
		"%s is shorter than the %s interval of %s (%s): the samples between two %s repeat the same value; use a step of at least %s",
		FormatDuration(h.Step), kind, FormatDuration(least.d), from, between, FormatDuration(least.d))}
}

// leastInterval is the shortest interval the selectors of h's queries are
// sampled at; ok is false if one of them is unknown, or h has no query.
func (h *Hypothesis) leastInterval(iv Intervals) (least interval, ok bool) {
	anyJob, anyKnown := shortestInterval(iv)
	for i := range h.Metrics {
		for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
			expr, err := promql.ParseExpr(h.Metrics[i].Query(g))
			if err != nil {
				return interval{}, false // Parse refuses such a query
			}
			for _, ms := range selectorMatchers(expr) {
				in, known := jobInterval(iv, ms)
				if !known {
					if !anyKnown {
						return interval{}, false
					}
					in = anyJob
				}
				if !ok || in.d < least.d {
					least, ok = in, true
				}
			}
		}
	}
	return least, ok
}

// shortestInterval is the interval of a series whose job is not known:
// the shortest of all jobs' and the evaluation interval. ok is false if iv
// does not list every job (or none), so that such a series could have any
// interval.
func shortestInterval(iv Intervals) (in interval, ok bool) {
	const why = ", the shortest of all for a selector that names no known job"
	if iv.Partial || len(iv.Jobs) == 0 {
		return interval{}, false
	}
	for _, job := range slices.Sorted(maps.Keys(iv.Jobs)) {
		if d := iv.Jobs[job]; !ok || d < in.d {
			in, ok = interval{d: d, where: "job " + job + why}, true
		}
	}
	if iv.Evaluation > 0 && iv.Evaluation < in.d {
		in = interval{d: iv.Evaluation, where: "evaluation_interval" + why, eval: true}
	}
	return in, true
}

// jobInterval is the interval of the job a selector's matchers name with
// an equality matcher, if iv knows it.
func jobInterval(iv Intervals, ms []*labels.Matcher) (interval, bool) {
	for _, m := range ms {
		if m.Name != JobLabel || m.Type != labels.MatchEqual {
			continue
		}
		if d, ok := iv.Jobs[m.Value]; ok {
			return interval{d: d, where: "job " + m.Value}, true
		}
	}
	return interval{}, false
}

// selectorMatchers returns the label matchers of each vector selector of
// expr, those inside range selectors and subqueries included.
func selectorMatchers(expr parser.Expr) [][]*labels.Matcher {
	var out [][]*labels.Matcher
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.LabelMatchers)
		}
		return nil
	})
	return out
}
