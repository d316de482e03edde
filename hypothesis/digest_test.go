package hypothesis_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/hypothesis"
)

func TestTheDigestChangesWithWhatIsJudgedAndNothingElse(t *testing.T) {
	data, err := os.ReadFile("../examples/kill-postgres-replica.yaml")
	require.NoError(t, err)
	src := string(data)
	digest := func(t *testing.T, text, file string) string {
		t.Helper()
		hs, err := hypothesis.Parse([]byte(text), file)
		require.NoError(t, err)
		require.Len(t, hs, 1)
		d := hs[0].Digest()
		require.Regexp(t, `^sha256:[0-9a-f]{64}$`, d)
		return d
	}
	replace := func(t *testing.T, old, repl string) string {
		t.Helper()
		require.Equal(t, 1, strings.Count(src, old), "the example holds %q once", old)
		return strings.Replace(src, old, repl, 1)
	}
	base := digest(t, src, "kill.yaml")
	require.Equal(t, base, digest(t, src, "kill.yaml"), "the same hypothesis, the same digest")

	// Not judged by: where it is written, its comments, its description,
	// its name (the history's key already), and a value written another
	// way.
	same := map[string]string{
		"another file":        src,
		"comments":            "# moved\n\n" + replace(t, "# Only bounded", "# Only bounded, really"),
		"description":         replace(t, "does not hurt", "hardly hurts"),
		"name":                replace(t, "name: kill-postgres-replica", "name: kill-postgres-replica-2"),
		"a duration in hours": replace(t, "lookback: 1h", "lookback: 60m"),
		"flow style":          replace(t, "slo: {max: 30}", "slo:\n        max: 30"),
	}
	for what, text := range same {
		require.Equal(t, base, digest(t, text, "other.yaml"), what)
	}

	// Judged by: a threshold, a query, the window, the step, an alert
	// expected, the confidence, an SLO's infinite side made finite.
	changed := map[string]string{
		"an SLO":          replace(t, "slo: {max: 30}", "slo: {max: 31}"),
		"an SLO's min":    replace(t, "slo: {max: 30}", "slo: {max: 30, min: -1}"),
		"a query":         replace(t, `datname="lmd"`, `datname="lmd2"`),
		"the window":      replace(t, "after: 15m", "after: 16m"),
		"the step":        replace(t, "step: 15s", "step: 30s"),
		"an alert":        replace(t, "{name: PostgresReplicaDown, within: 5m}", "{name: PostgresReplicaDown, within: 6m}"),
		"an alert's name": replace(t, "name: PostgresReplicaDown,", "name: PostgresReplicaGone,"),
		"the confidence":  replace(t, "confidence: 0.98", "confidence: 0.99"),
		"an effect":       replace(t, "allowedEffect: 30%", "allowedEffect: 31%"),
		"a weight":        replace(t, "weight: 0.5", "weight: 0.6"),
		"the service":     replace(t, "service: postgres", "service: postgres2"),
		"a critical flag": replace(t, "critical: true", "critical: false"),
	}
	seen := map[string]string{base: "the example"}
	for what, text := range changed {
		d := digest(t, text, "kill.yaml")
		require.NotContains(t, seen, d, "%s changes the digest (same as %s)", what, seen[d])
		seen[d] = what
	}
}
