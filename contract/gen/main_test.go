package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/contract"
)

func TestTheTableReplacesWhatLiesBetweenTheMarkers(t *testing.T) {
	doc := "# title\n\n" + Begin + "\n| old | table |\n" + End + "\n\nafter\n"
	got, err := rewrite(doc, "| new |\n")
	require.NoError(t, err)
	require.Equal(t, "# title\n\n"+Begin+"\n| new |\n"+End+"\n\nafter\n", got)

	again, err := rewrite(got, "| new |\n")
	require.NoError(t, err)
	require.Equal(t, got, again, "rewriting is idempotent")
}

func TestMissingOrRepeatedMarkersAreErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, err string }{
		{"no begin marker", "text\n" + End + "\n", "no line " + Begin},
		{"no end marker", Begin + "\n| table |\n", "no line " + End + " after " + Begin},
		{"two tables", Begin + "\n" + End + "\n" + Begin + "\n" + End + "\n", "more than one " + Begin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rewrite(tc.doc, "| new |\n")
			require.EqualError(t, err, tc.err)
		})
	}
}

func TestEveryFamilyIsARowWithItsLabelsAndEscapedHelp(t *testing.T) {
	got := table([]contract.Metric{
		{Name: "steadywatch_a_total", Type: contract.Counter, Help: "As, by b|c.", Labels: []string{"b", "c"}},
		{Name: "steadywatch_d", Type: contract.Gauge, Help: "D."},
	})
	require.Equal(t, "| metric | type | labels | help |\n|---|---|---|---|\n"+
		"| `steadywatch_a_total` | counter | b, c | As, by b\\|c. |\n"+
		"| `steadywatch_d` | gauge |  | D. |\n"+
		"\nEvery series above, and the Go runtime's and process metrics, also carries `cluster` when the\n"+
		"configuration names a `cluster` (see [docs/multi-cluster.md](docs/multi-cluster.md)).\n", got)
}
