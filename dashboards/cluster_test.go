package dashboards

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInClusterAddsTheMatcherToEverySelectorAndLeavesTheRestAsWritten(t *testing.T) {
	for _, tc := range []struct{ name, expr, want string }{
		{"a selector with matchers gets it first", `sum(x{a="b"})`, `sum(x{cluster=~"$cluster", a="b"})`},
		{"spaces inside the braces are kept after it", `x{ a="b" }`, `x{cluster=~"$cluster", a="b" }`},
		{"empty braces", `x{}`, `x{cluster=~"$cluster"}`},
		{"a bare name gets braces", `up`, `up{cluster=~"$cluster"}`},
		{
			"a range and an offset with Grafana's variables", "increase(x[$__rate_interval] offset $__range) > 0\nor y",
			"increase(x{cluster=~\"$cluster\"}[$__rate_interval] offset $__range) > 0\nor y{cluster=~\"$cluster\"}",
		},
		{"a variable inside a string", `x{service=~"$service"} / x:rec`, `x{cluster=~"$cluster", service=~"$service"} / x:rec{cluster=~"$cluster"}`},
		{"a selector by name only", `{__name__="x"}`, `{cluster=~"$cluster", __name__="x"}`},
		{"one matching on the cluster already is left alone", `x{cluster="a"} + y`, `x{cluster="a"} + y{cluster=~"$cluster"}`},
		{"no selector", `vector(0)`, `vector(0)`},
		{"what does not parse is left as it is", `sum(x`, `sum(x`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, inCluster(tc.expr))
		})
	}
}
