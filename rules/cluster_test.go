package rules

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A hypothesis's query is reduced to one series per cluster: its own
// aggregations get the cluster, anything else is aggregated by it, and an
// expression a cluster would make match nothing stays as written.
func TestAggregateKeepsTheClusterOfAHypothesisQuery(t *testing.T) {
	for _, tc := range []struct{ name, query, want string }{
		{"an aggregation of its own gets the cluster", `sum(rate(x[1m]))`, `sum by (cluster) (rate(x[1m]))`},
		{
			"a quantile by le gets it beside le", `histogram_quantile(0.9, sum by (le) (rate(x_bucket[1m])))`,
			`histogram_quantile(0.9, sum by (cluster, le) (rate(x_bucket[1m])))`,
		},
		{"arithmetic of aggregations gets it on both sides", `sum(a) / sum(b) * 100`, `(sum by (cluster) (a) / sum by (cluster) (b) * 100)`},
		{"a labelled query is aggregated by it", `rate(x[1m])`, `avg by (cluster) (rate(x[1m]))`},
		{"an aggregation by other labels is aggregated again, by it", `sum by (pod) (x)`, `avg by (cluster) (sum by (pod) (x))`},
		// Review: on() would match east's left side with west's right one
		// (many-to-many, no result at all with two clusters).
		{"a match on() labels matches on the cluster too", `sum(a) / on() sum(b)`, `(sum by (cluster) (a) / on (cluster) sum by (cluster) (b))`},
		{"ignoring() keeps matching on it", `sum(a) / ignoring(x) sum(b)`, `(sum by (cluster) (a) / ignoring (x) sum by (cluster) (b))`},
		{"with vector() it stays as written", `sum(a) + vector(1)`, `(sum(a) + vector(1))`},
		{"a scalar is a vector without labels", `1`, `vector(1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &generator{}
			require.Equal(t, tc.want, g.aggregate("avg", tc.query))
			require.NoError(t, g.err)
		})
	}
}
