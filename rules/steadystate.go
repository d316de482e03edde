package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// Recorded series of the steady state.
const (
	// WindowRatio is experimental over control of the verdict's values over
	// the experiment window (steadywatch_steady_state_value).
	WindowRatio = "hypothesis_metric:steadywatch_steady_state_value:experimental_control_ratio"
	// LiveValue is each group's current value of a hypothesis's metric,
	// from its own query: the mean of the series a value query returns,
	// errors over total for a ratio.
	LiveValue = "hypothesis_metric_group:steadywatch_steady_state_live:value"
	// LiveRatio is experimental over control of LiveValue.
	LiveRatio = "hypothesis_metric:steadywatch_steady_state_live:experimental_control_ratio"
	// SLIErrors and SLIRequests are the experimental group's errors and
	// requests per second of a ratio metric with an SLO.
	SLIErrors   = "hypothesis_metric_group:steadywatch_sli_errors:rate"
	SLIRequests = "hypothesis_metric_group:steadywatch_sli_requests:rate"
	// SLIErrorRatio is followed by a window of SLIWindows: the error
	// ratio over it, e.g. …:ratio_rate5m.
	SLIErrorRatio = "hypothesis_metric_group:steadywatch_sli_errors:ratio_rate"
)

// SLIWindows are the windows of the error ratios the burn-rate alerts read.
var SLIWindows = []time.Duration{
	5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour,
}

var bothGroups = []chaos.Group{chaos.Control, chaos.Experimental}

// steadyState records the ratio experimental/control of each hypothesis
// metric twice: from the verdicts (the window's values, as judged), and live
// from the hypothesis's own queries, which a dashboard can show outside
// experiments too.
func (g *generator) steadyState(hs []hypothesis.Hypothesis) rulefmt.RuleGroup {
	rules := []rulefmt.Rule{{
		Record: WindowRatio,
		Expr: fmt.Sprintf("%s%s\n/ ignoring (group)\n%s%s",
			contract.SteadyStateValue.Name, matchers("group", string(chaos.Experimental)),
			contract.SteadyStateValue.Name, matchers("group", string(chaos.Control))),
	}}
	for i := range hs {
		h := &hs[i]
		for j := range h.Metrics {
			m := &h.Metrics[j]
			for _, grp := range bothGroups {
				sel := h.Groups.Selector(grp)
				var expr string
				if m.Ratio != nil {
					expr = g.ratio(m.Ratio.Errors.Expand(sel), m.Ratio.Total.Expand(sel))
				} else {
					expr = g.aggregate("avg", m.Value.Expand(sel))
				}
				rules = append(rules, rulefmt.Rule{
					Record: LiveValue,
					Expr:   expr,
					Labels: map[string]string{"hypothesis": h.Name, "metric": m.Name, "group": string(grp)},
				})
			}
		}
	}
	rules = append(rules, rulefmt.Rule{
		Record: LiveRatio,
		Expr: fmt.Sprintf("%s%s\n/ ignoring (group)\n%s%s",
			LiveValue, matchers("group", string(chaos.Experimental)),
			LiveValue, matchers("group", string(chaos.Control))),
	})
	return rulefmt.RuleGroup{Name: "steadywatch.steady-state", Rules: g.check(rules...)}
}

// ratio is errors over total, each summed; errors without a series count 0
// while total has data, as the judge counts them (services often export no
// error series before their first error).
func (g *generator) ratio(errors, total string) string {
	return fmt.Sprintf("(\n  %s\n  or\n  0 * %s\n)\n/\n%s",
		g.aggregate("sum", errors), g.aggregate("sum", total), g.aggregate("sum", total))
}

// aggregate reduces a hypothesis query, an instant vector or a scalar, to
// one series per cluster without other labels, so that the rule's labels
// (and the cluster, where the queried series carry one) are the only ones:
// with op by cluster unless the query already returns at most one series
// without labels, whose own aggregations then get the cluster added (see
// byCluster), so that one rule file serves many clusters in one Thanos or
// Mimir without merging their series. By cluster, where the series have
// no such label, is the one series it was.
func (g *generator) aggregate(op, query string) string {
	query = strings.TrimSpace(query)
	expr, err := promql.ParseExpr(query)
	switch {
	case err != nil:
		if g.err == nil {
			g.err = fmt.Errorf("rules: %s: %w", query, err)
		}
		return query
	case expr.Type() == parser.ValueTypeScalar:
		return "vector(" + query + ")"
	case unlabelled(expr):
		if byCluster(expr) {
			query = expr.String()
		}
		if _, ok := expr.(*parser.BinaryExpr); ok {
			return "(" + query + ")" // it goes into arithmetic
		}
		return query
	default:
		return op + " by (" + contract.LabelCluster + ") (" + query + ")"
	}
}

// byCluster adds contract.LabelCluster to the grouping of the aggregations
// that make expr unlabelled, in place, and reports whether it did. It
// leaves an expression with a vector() alone: its series has no cluster,
// and arithmetic with the others' would then match nothing.
func byCluster(expr parser.Expr) bool {
	var aggs []*parser.AggregateExpr
	var walk func(parser.Expr) bool
	walk = func(e parser.Expr) bool {
		switch e := unparen(e).(type) {
		case *parser.NumberLiteral:
			return true
		case *parser.AggregateExpr:
			aggs = append(aggs, e)
			return true
		case *parser.BinaryExpr:
			return walk(e.LHS) && walk(e.RHS)
		case *parser.Call:
			if e.Func.Name == "histogram_quantile" {
				agg, ok := unparen(e.Args[1]).(*parser.AggregateExpr)
				if ok {
					aggs = append(aggs, agg)
				}
				return ok
			}
		}
		return false
	}
	if !walk(expr) || len(aggs) == 0 {
		return false
	}
	for _, a := range aggs {
		a.Grouping = append([]string{contract.LabelCluster}, a.Grouping...)
	}
	// A match on() listed labels must list the cluster too: the sides
	// would otherwise match across clusters (ignoring() matches on it).
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if b, ok := n.(*parser.BinaryExpr); ok && b.VectorMatching != nil && b.VectorMatching.On &&
			!slices.Contains(b.VectorMatching.MatchingLabels, contract.LabelCluster) {
			b.VectorMatching.MatchingLabels = append([]string{contract.LabelCluster}, b.VectorMatching.MatchingLabels...)
		}
		return nil
	})
	return true
}

// unlabelled reports whether expr returns at most one series, without
// labels, whatever the data: an aggregation without grouping, a histogram
// quantile of one aggregated "by (le)", or arithmetic of those.
func unlabelled(expr parser.Expr) bool {
	switch e := expr.(type) {
	case *parser.ParenExpr:
		return unlabelled(e.Expr)
	case *parser.NumberLiteral:
		return true
	case *parser.AggregateExpr:
		switch e.Op {
		case parser.SUM, parser.AVG, parser.MIN, parser.MAX, parser.COUNT, parser.GROUP,
			parser.STDDEV, parser.STDVAR, parser.QUANTILE:
			return !e.Without && len(e.Grouping) == 0
		}
		return false
	case *parser.BinaryExpr:
		return !e.Op.IsSetOperator() && unlabelled(e.LHS) && unlabelled(e.RHS)
	case *parser.Call:
		switch e.Func.Name {
		case "vector":
			return true
		case "histogram_quantile":
			agg, ok := unparen(e.Args[1]).(*parser.AggregateExpr)
			return ok && !agg.Without && slices.Equal(agg.Grouping, []string{"le"})
		}
	}
	return false
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// sloMetric is a ratio metric with an error budget: an SLO max in (0, 1).
type sloMetric struct {
	h *hypothesis.Hypothesis
	m *hypothesis.Metric
}

func (s sloMetric) budget() float64 { return s.m.SLO.Max }

func (s sloMetric) matchers() string {
	return matchers("hypothesis", s.h.Name, "metric", s.m.Name, "group", string(chaos.Experimental))
}

func sloMetrics(hs []hypothesis.Hypothesis) []sloMetric {
	var out []sloMetric
	for i := range hs {
		for j := range hs[i].Metrics {
			m := &hs[i].Metrics[j]
			if m.Ratio != nil && m.SLO != nil && m.SLO.Max > 0 && m.SLO.Max < 1 {
				out = append(out, sloMetric{&hs[i], m})
			}
		}
	}
	return out
}

// sli records the experimental group's errors and requests per second of
// each ratio metric with an SLO, then the error ratio over each of
// SLIWindows as the mean error rate over the mean request rate: the
// templates' own ranges stay as written, and, as the judge does, the counts
// are summed over the window rather than the ratios averaged.
func (g *generator) sli(hs []hypothesis.Hypothesis) rulefmt.RuleGroup {
	var rules []rulefmt.Rule
	slos := sloMetrics(hs)
	for _, s := range slos {
		sel := s.h.Groups.Selector(chaos.Experimental)
		labels := func() map[string]string {
			return map[string]string{"hypothesis": s.h.Name, "metric": s.m.Name, "group": string(chaos.Experimental)}
		}
		errs, total := g.aggregate("sum", s.m.Ratio.Errors.Expand(sel)), g.aggregate("sum", s.m.Ratio.Total.Expand(sel))
		rules = append(rules,
			rulefmt.Rule{Record: SLIErrors, Expr: fmt.Sprintf("%s\nor\n0 * %s", errs, total), Labels: labels()},
			rulefmt.Rule{Record: SLIRequests, Expr: total, Labels: labels()},
		)
	}
	if len(slos) > 0 {
		for _, w := range SLIWindows {
			d := duration(w)
			rules = append(rules, rulefmt.Rule{
				Record: SLIErrorRatio + d,
				Expr:   fmt.Sprintf("avg_over_time(%s[%s])\n/\navg_over_time(%s[%s])", SLIErrors, d, SLIRequests, d),
			})
		}
	}
	return rulefmt.RuleGroup{Name: "steadywatch.slo", Rules: g.check(rules...)}
}
