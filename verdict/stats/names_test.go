package stats

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnumsPrintTheirNames(t *testing.T) {
	for _, c := range []struct {
		v    fmt.Stringer
		want string
	}{
		{Increase, "increase"},
		{Decrease, "decrease"},
		{Either, "either"},
		{Direction(3), "Direction(3)"},
		{Pass, "pass"},
		{High, "high"},
		{Low, "low"},
		{Inconclusive, "inconclusive"},
		{Class(-1), "Class(-1)"},
		{TwoSided, "two-sided"},
		{Less, "less"},
		{Greater, "greater"},
		{Alternative(3), "Alternative(3)"},
		{Auto, "auto"},
		{Exact, "exact"},
		{Asymptotic, "asymptotic"},
		{Method(7), "Method(7)"},
	} {
		require.Equal(t, c.want, c.v.String())
	}
}
