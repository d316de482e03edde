package chaostoolkit

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steadywatch/steadywatch/hypothesis"
)

var promql = parser.NewParser(parser.Options{})

// sentinel is a label name that sorts after any a query is likely to
// hold, so that printing the query puts the group last in each selector.
const sentinel = "zzzz_steadywatch_group"

// groupTemplate returns q with the group placeholder in every selector,
// or why it cannot have one. The query is printed again from its parse
// tree: its layout is PromQL's, not the experiment's.
func groupTemplate(q string) (template, skip string) {
	expr, err := promql.ParseExpr(q)
	if err != nil {
		return "", "its query does not parse: " + err.Error()
	}
	switch t := expr.Type(); t {
	case parser.ValueTypeVector, parser.ValueTypeScalar:
	case parser.ValueTypeMatrix:
		return "", "its query is a range vector, want an instant vector or a scalar"
	default:
		return "", "its query is a " + string(t) + ", want an instant vector or a scalar"
	}
	if strings.Contains(q, sentinel) {
		return "", "its query uses the label " + sentinel + ", which the import needs for itself"
	}
	n := 0
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, sentinel, "x"))
			n++
		}
		return nil
	})
	if n == 0 {
		return "", "its query selects no series, so there is nothing to tell the groups apart by"
	}
	m := sentinel + `="x"`
	return strings.NewReplacer(
		"{"+m+"}", "{ "+hypothesis.Placeholder+" }",
		","+m+"}", ", "+hypothesis.Placeholder+" }",
		","+m+",", ", "+hypothesis.Placeholder+", ",
		"{"+m+",", "{ "+hypothesis.Placeholder+", ",
	).Replace(expr.String()), ""
}
