package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// The case, as a user meets it: a 10-minute window at 15 s of a
// rate(…[5m]), the experimental group 10× slower. steadywatch verdict said
// PASS on n=13 with [-Inf, +Inf]; it must exit 2 and say what to change.
func TestVerdictDoesNotPassOnTooFewIndependentSamples(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	healthy := verdicttest.GroupSim{RPS: 20, Median: 0.1, Sigma: 0.5, ErrorRate: 0.001}
	tenfold := healthy
	tenfold.Median *= 10
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{
		Config: "global: {}\n",
		OpenMetrics: verdicttest.OpenMetrics(5, start, 241, []verdicttest.Scenario{
			{Name: "tenfold", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy, chaos.Experimental: tenfold}},
		}),
	})
	doc := func(window string) string {
		return `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata:
  name: tenfold
spec:
  service: api
  groups:
    control: scenario="tenfold", group="control"
    experimental: scenario="tenfold", group="experimental"
  window:
    fixed: ` + window + `
  step: 15s
  metrics:
    - name: mean-latency
      query: |
        sum(rate(http_request_duration_seconds_sum{ {{ .Group }} }[5m]))
          / sum(rate(http_request_duration_seconds_count{ {{ .Group }} }[5m]))
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true
`
	}
	dir := t.TempDir()
	short, long := filepath.Join(dir, "short.yaml"), filepath.Join(dir, "long.yaml")
	require.NoError(t, os.WriteFile(short, []byte(doc("{start: 2026-11-01T00:30:00Z, end: 2026-11-01T00:40:00Z}")), 0o600))
	require.NoError(t, os.WriteFile(long, []byte(doc("{start: 2026-11-01T00:05:00Z, end: 2026-11-01T01:00:00Z}")), 0o600))
	at := "2026-11-01T02:00:00Z"

	t.Run("10 minutes: inconclusive, exit 2, with what to change", func(t *testing.T) {
		code, out, stderr := run(t, "verdict", "-f", short, "--prometheus", prom.URL(), "--at", at)
		require.Equal(t, cli.ExitInconclusive, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		require.Contains(t, out, "tenfold  INCONCLUSIVE")
		require.Contains(t, out, "only 3 independent samples per group after thinning to the query's 5m range (one sample in 20 of 41 at the 15s step); a comparison needs at least 10: widen the window to at least 45m or shorten the query's range to at most 1m")
		require.NotContains(t, out, "+Inf")
	})
	t.Run("55 minutes, as the reason asks: the 10× experiment fails, with its effect size", func(t *testing.T) {
		code, out, _ := run(t, "verdict", "-f", long, "--prometheus", prom.URL(), "--at", at)
		require.Equal(t, cli.ExitFail, code, out)
		// every one of the 12 independent experimental samples above every control one
		require.Regexp(t, `mean-latency \(critical\) +high +\S+ \(n=221\) +\S+ \(n=221\) +\+\S+ +\[\+\S+, \+\S+\] 98% +1\.00 `, out)
		code, out, _ = run(t, "verdict", "-f", long, "--prometheus", prom.URL(), "--at", at, "--output", "json")
		require.Equal(t, cli.ExitFail, code, out)
		var got struct {
			Verdicts []struct {
				Metrics []struct {
					Effect struct {
						Superiority *float64 `json:"superiority"`
					} `json:"effect"`
				} `json:"metrics"`
			} `json:"verdicts"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.NotNil(t, got.Verdicts[0].Metrics[0].Effect.Superiority)
		require.InDelta(t, 1.0, *got.Verdicts[0].Metrics[0].Effect.Superiority, 0)
	})
}
