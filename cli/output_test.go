package cli

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// Every output format renders every verdict, whatever its numbers: NaN,
// ±Inf, the largest floats (samples of 1e308 printed nothing with
// --output json; issue 13 #10).
func TestEveryOutputFormatRendersEveryVerdict(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64} {
		v := verdict.Verdict{Hypothesis: "h", Result: verdict.Inconclusive}
		verdicttest.FillFloats(&v, f)
		for _, output := range []string{"table", "json"} {
			var b strings.Builder
			require.NoError(t, writeOutput(&b, output, []verdict.Verdict{v}), "%s, %v", output, f)
			require.Contains(t, b.String(), `h`, "%s, %v", output, f)
			require.NotContains(t, b.String(), "9223372036854775808", "%s, %v", output, f)
			if output == "json" {
				require.True(t, json.Valid([]byte(b.String())), "%s", b.String())
			}
		}
	}
}
