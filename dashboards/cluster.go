package dashboards

import (
	"regexp"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steadywatch/steadywatch/contract"
)

// varCluster is the template variable of the clusters shown: the values of
// contract.LabelCluster on steadywatch's series, All by default.
const varCluster = contract.LabelCluster

// clusterMatcher is the matcher every query's selectors get.
var clusterMatcher = byVariable(contract.LabelCluster, varCluster)

// clusterVariable offers the clusters whose steadywatch exports series to
// the datasource (the configuration's cluster). All is ".*", which also
// matches series without the label: with one unnamed cluster the
// dashboards show what they showed before clusters existed.
func clusterVariable() *dashboard.QueryVariableBuilder {
	return labelValuesVariable(varCluster, "Cluster", contract.BuildInfo.Name,
		"Clusters, by the cluster label each steadywatch puts on its series (its configuration's cluster); All includes series without one.")
}

var (
	promql = parser.NewParser(parser.Options{})
	// grafanaVariable is a reference to a dashboard or built-in variable.
	grafanaVariable = regexp.MustCompile(`\$(?:\{\w+(?::\w+)?\}|\w+)`)
)

// inCluster adds the cluster variable's matcher to every selector of expr,
// so that each query shows the clusters chosen, and leaves the rest of the
// text as written. Grafana's variables are replaced by durations of the
// same length before parsing, so that positions in the parsed expression
// are positions in expr; they only ever stand where a duration or a
// string may. A selector matching on the cluster already is left alone,
// and so is an expression that does not parse (the dashboards' tests
// reject both).
func inCluster(expr string) string {
	placeholders := grafanaVariable.ReplaceAllStringFunc(expr, func(ref string) string {
		if len(ref) < 3 {
			return ref
		}
		return strings.Repeat("0", len(ref)-3) + "1ms" // a long run of 1s would overflow
	})
	parsed, err := promql.ParseExpr(placeholders)
	if err != nil {
		return expr
	}
	var at []int // where each selector starts
	parser.Inspect(parsed, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool { return m.Name == contract.LabelCluster }) {
			return nil
		}
		at = append(at, int(vs.PosRange.Start))
		return nil
	})
	slices.Sort(at)
	out := expr
	for _, start := range slices.Backward(at) {
		out = withMatcher(out, start)
	}
	return out
}

// withMatcher inserts clusterMatcher into the selector of expr starting at
// start: first in its braces, or in braces of its own after its name.
func withMatcher(expr string, start int) string {
	i := start
	for i < len(expr) && isNameChar(expr[i]) {
		i++
	}
	j := i
	for j < len(expr) && expr[j] == ' ' {
		j++
	}
	if j < len(expr) && expr[j] == '{' {
		k := j + 1
		for k < len(expr) && expr[k] == ' ' {
			k++
		}
		if k < len(expr) && expr[k] == '}' {
			return expr[:j+1] + clusterMatcher + expr[k:]
		}
		return expr[:j+1] + clusterMatcher + ", " + strings.TrimLeft(expr[j+1:], " ")
	}
	return expr[:i] + "{" + clusterMatcher + "}" + expr[i:]
}

func isNameChar(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
