package verdict_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/steadywatch/steadywatch/verdict"
)

// IndependentSpan is the spacing thinning keeps: a 3 s range at a 1 s
// step is 3 steps, a 1m range at 15 s is 4 (the CPU example), 1m1s at
// 15 s rounds up to 5, a 2m at 30 s is 4; a query without a range is one
// step.
func TestIndependentSpanIsTheRangeRoundedUpToWholeSteps(t *testing.T) {
	for _, c := range []struct {
		rng, step string
		want      time.Duration
	}{
		{"[3s]", "1s", 3 * time.Second},
		{"[1m]", "15s", time.Minute},
		{"[1m1s]", "15s", 75 * time.Second},
		{"[2m]", "30s", 2 * time.Minute},
		{"", "15s", 15 * time.Second},
	} {
		query := "latency{ {{ .Group }} }"
		if c.rng != "" {
			query = "rate(latency{ {{ .Group }} }" + c.rng + ")"
		}
		h := hyp(t, fixedWindow+"\n  step: "+c.step, fmt.Sprintf("  metrics:\n    - name: m\n      query: %s\n      direction: higherIsWorse\n      allowedEffect: 20%%\n", query))
		assert.Equal(t, c.want, verdict.IndependentSpan(h, &h.Metrics[0]), "%s at %s", c.rng, c.step)
	}
}
