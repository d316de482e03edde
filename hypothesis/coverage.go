package hypothesis

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steadywatch/steadywatch/chaos"
)

// RawSeries is one metric family a group's query reads, and the query that
// says at each step whether Prometheus has scraped it lately.
type RawSeries struct {
	// Selector is the family in the group: the selector's metric name and
	// the group's matchers, `served_total{group="experimental"}`.
	Selector string
	// Query is `count(count_over_time(Selector[within]))`: at each step,
	// how many of its series have a raw sample in the last `within`, absent
	// when none has.
	Query string

	family, offset string
}

// Targets is an instant query (asked at the window's end) of the scrape
// targets that fed the family in the last span: `group by (job, instance)
// (count_over_time(family[span]))`, one series a target. A target that
// stops answering leaves an aggregate over the family's series (avg, max,
// sum by pod) to the others, and the family still has raw samples, so only
// the target's own up series shows it went missing (see FailedScrapes).
func (r RawSeries) Targets(span time.Duration) string {
	return fmt.Sprintf("group by (job, instance) (count_over_time(%s[%s]%s))", r.family, model.Duration(span), r.offset)
}

// FailedScrapes is a range query whose answer at each step is the up
// series of every scrape target that failed a scrape in the last within,
// at the family's offset: `min_over_time(up[within]) == 0`. It names no
// family: the same for all of a query's families at one offset.
func (r RawSeries) FailedScrapes(within time.Duration) string {
	return fmt.Sprintf("min_over_time(up[%s]%s) == 0", model.Duration(within), r.offset)
}

// RawSeries lists the metric families the group's query of m reads
// (for a ratio, both of its queries'), each once, for a check that
// Prometheus had their samples all along: a range selector (the [5m] of a
// rate) or a subquery answers over a scrape gap from the samples before
// it, so a query's answer can go on through a fault that took its target
// down. within is how far back a step looks for a raw sample (the step, or
// the scrape interval if longer).
//
// A family is the selector's metric name with the group's matchers only:
// the selector's other matchers pick series that may rightly not exist yet
// (`status=~"5.."` before the first error), while the family exists as
// long as the target is scraped. A selector without a metric name is kept
// whole, as is its offset; one with an @ modifier reads a fixed time and
// is left out. None if the query does not parse.
func (m *Metric) RawSeries(group chaos.Group, within time.Duration) []RawSeries {
	sel := m.groups.Selector(group)
	groupMatchers, err := promql.ParseMetricSelector("{" + sel + "}")
	if err != nil {
		return nil
	}
	templates := []Template{m.Value}
	if m.Ratio != nil {
		templates = []Template{m.Ratio.Total, m.Ratio.Errors}
	}
	var out []RawSeries
	for _, t := range templates {
		expr, err := promql.ParseExpr(t.Expand(sel))
		if err != nil {
			return nil
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok || vs.Timestamp != nil || vs.StartOrEnd != 0 {
				return nil
			}
			family := &parser.VectorSelector{Name: vs.Name}
			var named []*labels.Matcher
			for _, lm := range vs.LabelMatchers {
				if lm.Name == model.MetricNameLabel {
					named = append(named, lm)
				}
			}
			if len(named) == 0 {
				family.LabelMatchers = vs.LabelMatchers
			} else {
				family.LabelMatchers = append(named, groupMatchers...)
			}
			s := family.String()
			q := fmt.Sprintf("count(count_over_time(%s[%s]%s))", s, model.Duration(within), offset(vs.OriginalOffset))
			if !slices.ContainsFunc(out, func(r RawSeries) bool { return r.Query == q }) {
				out = append(out, RawSeries{Selector: s + offset(vs.OriginalOffset), Query: q, family: s, offset: offset(vs.OriginalOffset)})
			}
			return nil
		})
	}
	return out
}

// offset is PromQL's offset modifier for d, "" for none.
func offset(d time.Duration) string {
	switch {
	case d > 0:
		return " offset " + model.Duration(d).String()
	case d < 0:
		return " offset -" + model.Duration(-d).String()
	}
	return ""
}
